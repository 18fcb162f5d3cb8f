/**
 * Workers that see the master's output volume leave their strips' PNGs in its result folder
 * (DIRECT_WRITES, on by default) instead of sending them: the master then receives no result bytes
 * over gRPC, and the mosaics are byte for byte those of DIRECT_WRITES=off. Nothing of the folder
 * is published or left behind.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runSmallScene, writeSmallScene } from '../support/small-scene.js';

const SIZE = 300;
const FILES = ['ndvi.png', 'ndvi_color.png', 'ndsi.png', 'ndsi_color.png'] as const;

interface Tiles {
  readonly total: number;
  readonly resultBytes: number;
  readonly resultFileBytes: number;
}

interface Run {
  readonly digests: Record<string, string>;
  readonly tiles: Tiles;
  readonly published: string[];
  readonly beside: string[];
}

describe('workers leaving their results as files', () => {
  let dir: string;
  const runs = new Map<string, Run>();

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tessera-result-files-'));
    const bands = await writeSmallScene(dir, SIZE);
    for (const [label, env] of [['files', {}], ['sent', { DIRECT_WRITES: 'off' }]] as const) {
      const out = join(dir, label);
      const { outputDir } = await runSmallScene(bands, out, env, label);
      const digests = Object.fromEntries(await Promise.all(FILES.map(async (name) => [name, createHash('sha256').update(await readFile(join(outputDir, name))).digest('hex')])));
      const { tiles } = JSON.parse(await readFile(join(outputDir, 'manifest.json'), 'utf8')) as { tiles: Tiles };
      runs.set(label, { digests, tiles, published: await readdir(outputDir), beside: await readdir(out) });
    }
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('tessera run: every result comes as a file, none over gRPC, and the PNGs are the same bytes as results sent', () => {
    const files = runs.get('files')!;
    const sent = runs.get('sent')!;
    assert.deepEqual(files.digests, sent.digests);
    assert.ok(files.tiles.total >= 5, `${files.tiles.total} strips`);
    assert.equal(files.tiles.resultFileBytes, files.tiles.resultBytes, 'all the result bytes were files');
    assert.equal(files.tiles.resultBytes, sent.tiles.resultBytes);
    assert.equal(sent.tiles.resultFileBytes, 0, 'DIRECT_WRITES=off: the workers send them');
  });

  test('the result folder is neither published nor left beside the output', () => {
    for (const [label, run] of runs) {
      assert.ok(!run.published.includes('results'), `${label}: ${run.published.join(', ')}`);
      assert.equal(run.beside.length, 1, `${label}: only the published folder is left (${run.beside.join(', ')})`);
    }
  });
});
