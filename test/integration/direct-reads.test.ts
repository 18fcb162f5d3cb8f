/**
 * Workers that see the master's input files read the stored blocks themselves (DIRECT_READS, on by
 * default): the master then ships no source bytes at all, and the mosaics are byte for byte the
 * ones the master-shipped path gives. A direct read that fails part-way falls back to the master's
 * data for that tile, and the request still completes with the same bytes.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { InMemoryRequestStore } from '../../master/store/in-memory-request-store.js';
import type { TileTask__Output } from '../../shared/proto/tile-service.js';
import { DirectFiles, DirectReadError, type DirectSourceStream } from '../../worker/direct-sources.js';
import { lastJsonLine, runCli } from '../support/cli.js';
import { startTestMaster, startWorkers } from '../support/cluster.js';
import { startRangeServer } from '../support/range-server.js';
import { runSmallScene, writeSmallScene } from '../support/small-scene.js';
import { waitFinished } from '../support/wait-finished.js';

const SIZE = 300;
const FILES = ['ndvi.png', 'ndvi_color.png', 'ndsi.png', 'ndsi_color.png'] as const;

interface Tiles {
  readonly payloadBytes: number;
  readonly directReadBytes: number;
}

async function digests(folder: string): Promise<Record<string, string>> {
  const entries = await Promise.all(FILES.map(async (name) => [name, createHash('sha256').update(await readFile(join(folder, name))).digest('hex')]));
  return Object.fromEntries(entries);
}

async function tilesOf(folder: string): Promise<Tiles> {
  return (JSON.parse(await readFile(join(folder, 'manifest.json'), 'utf8')) as { tiles: Tiles }).tiles;
}

/**
 * Stands in for a worker whose mount fails mid-read (an I/O error that cannot be provoked on one
 * machine without breaking the master's reads of the same file): the first direct read of each
 * tile fails after its first block.
 */
class FailingDirectFiles extends DirectFiles {
  failures = 0;

  override async open(task: TileTask__Output): Promise<DirectSourceStream | null> {
    const real = await super.open(task);
    if (!real) return null;
    const count = () => (this.failures += 1);
    return {
      get bytes() {
        return real.bytes;
      },
      cancel: () => real.cancel(),
      async *[Symbol.asyncIterator]() {
        for await (const chunk of real) {
          yield chunk;
          count();
          throw new DirectReadError(task.sources[0]?.encoded?.direct?.path ?? '', 'EIO: i/o error, read (simulated)');
        }
      },
    };
  }
}

describe('workers reading the input files themselves', () => {
  let dir: string;
  const bands: Record<string, string> = {};
  const runs = new Map<string, { digests: Record<string, string>; tiles: Tiles }>();

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tessera-direct-reads-'));
    Object.assign(bands, await writeSmallScene(dir, SIZE));
    for (const [label, env] of [['direct', {}], ['shipped', { DIRECT_READS: 'off' }]] as const) {
      const { outputDir } = await runSmallScene(bands, join(dir, label), env, label);
      runs.set(label, { digests: await digests(outputDir), tiles: await tilesOf(outputDir) });
    }
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('tessera run: the master ships nothing, the workers read it all, and the PNGs are the same bytes', () => {
    const direct = runs.get('direct')!;
    const shipped = runs.get('shipped')!;
    assert.deepEqual(direct.digests, shipped.digests);
    assert.ok(shipped.tiles.payloadBytes > 0, 'DIRECT_READS=off: the master ships the blocks');
    assert.equal(shipped.tiles.directReadBytes, 0);
    assert.equal(direct.tiles.payloadBytes, 0, 'nothing shipped by the master');
    assert.equal(direct.tiles.directReadBytes, shipped.tiles.payloadBytes, 'the workers read what the master would have shipped');
  });

  test('bands over http: the workers fetch the blocks from the server themselves, the master ships nothing, same bytes', { timeout: 120_000 }, async () => {
    const files = new Map(await Promise.all(Object.entries(bands).map(async ([name, path]) => [`${name}.tif`, await readFile(path)] as const)));
    const server = await startRangeServer(files);
    try {
      const out = join(dir, 'http');
      const args = ['run', '--workers', '2', '--strip-rows', '64', '--index', 'ndvi,ndsi', '--out', out, '--json'];
      for (const name of Object.keys(bands)) args.push('--band', `${name}=${server.url(`${name}.tif`)}?sig=x`);
      const result = await runCli(args);
      assert.equal(result.code, 0, result.stderr);
      const { outputDir } = lastJsonLine<{ outputDir: string }>(result.stdout);
      assert.deepEqual(await digests(outputDir), runs.get('direct')!.digests);
      const tiles = await tilesOf(outputDir);
      assert.equal(tiles.payloadBytes, 0, 'nothing shipped by the master');
      assert.equal(tiles.directReadBytes, runs.get('shipped')!.tiles.payloadBytes, 'the workers fetched every block');
      const served = [...files.keys()].reduce((sum, name) => sum + server.stats.bytesByPath(`/${name}`), 0);
      assert.ok(served >= tiles.directReadBytes, `the server sent the blocks (${served} bytes in all)`);
    } finally {
      await server.close();
    }
  });

  test('a direct read that fails part-way: the tile is done again from the master\'s data, same bytes', { timeout: 60_000 }, async () => {
    const store = new InMemoryRequestStore();
    const output = join(dir, 'fallback');
    const master = await startTestMaster({ outputDir: output, pollIntervalMs: 50 }, { store });
    const files: FailingDirectFiles[] = [];
    const workers = startWorkers(1, master.grpcPort, 'falling-back', {
      directFiles: () => {
        const made = new FailingDirectFiles();
        files.push(made);
        return made;
      },
    });
    try {
      const id = await store.insert({ bands: { ...bands }, indices: ['ndvi', 'ndsi'], stripRows: 64 });
      const row = await waitFinished(store, id, 45_000);
      assert.equal(row.status, 'completed', row.error ?? '');
      assert.ok(row.outputDir);
      assert.deepEqual(await digests(row.outputDir), runs.get('direct')!.digests);
      const tiles = await tilesOf(row.outputDir);
      assert.ok((files[0]?.failures ?? 0) >= 1, 'the direct read did fail');
      assert.ok(tiles.payloadBytes > 0, 'the master shipped the data after the failure');
    } finally {
      await Promise.all(workers.map((w) => w.stop({ graceful: false })));
      await master.stop();
    }
  });
});
