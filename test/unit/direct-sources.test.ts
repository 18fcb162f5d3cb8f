/**
 * A worker reading a strip's stored blocks from the master's input files itself (DirectFiles) gets
 * exactly the chunks ReadSources would have sent, decodes them to the same samples, and declines
 * (null: use ReadSources) whenever the file it sees is not the one the master planned with.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { openBandSet, referenceRowsFor } from '../../master/source/band-set.js';
import { planStrips } from '../../master/source/strip-plan.js';
import type { SourceChunk__Output, TileTask__Output } from '../../shared/proto/tile-service.js';
import { DirectFiles, DirectReadError } from '../../worker/direct-sources.js';
import { assemble, stripOverTheWire } from '../support/over-the-wire.js';
import { writeGeoTiff, type GeoTiffWriterOptions } from '../support/tiff-writer.js';

const dir = mkdtempSync(join(tmpdir(), 'tessera-direct-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const SIZE = 96;

function band(name: string, seed: number, options: Partial<GeoTiffWriterOptions> = {}): string {
  const values = Array.from({ length: SIZE * SIZE }, (_, i) => 1 + ((i * seed) % 9000));
  const path = join(dir, `${name}.tif`);
  writeFileSync(
    path,
    writeGeoTiff({ width: SIZE, height: SIZE, sampleType: 'uint16', samples: [values], crs: { epsg: 32632 }, origin: { x: 500_000, y: 4_000_000 }, pixelSize: 10, tileSize: 32, compression: 8, predictor: 2, ...options }),
  );
  return path;
}

/** The strips of a red/nir scene as the worker gets them: the task and the chunks ReadSources sends. */
async function strips(red: string, nir: string) {
  const set = await openBandSet([
    { name: 'red', uri: red, band: 1 },
    { name: 'nir', uri: nir, band: 1 },
  ]);
  try {
    const planned = planStrips(set.grid, { pixelBudget: 1, rows: 40, reference: referenceRowsFor(set) });
    return await Promise.all(planned.map((strip) => stripOverTheWire(set, strip)));
  } finally {
    await set.close();
  }
}

/** Strip `at`'s task. */
async function taskOf(red: string, nir: string, at = 0): Promise<TileTask__Output> {
  const strip = (await strips(red, nir))[at];
  assert.ok(strip, `no strip ${at}`);
  return strip.task;
}

async function readAll(chunks: AsyncIterable<SourceChunk__Output>): Promise<SourceChunk__Output[]> {
  const out: SourceChunk__Output[] = [];
  for await (const chunk of chunks) out.push(chunk);
  return out;
}

describe('DirectFiles', () => {
  const files = new DirectFiles();
  after(() => files.close());

  it('reads every strip\'s blocks as ReadSources sends them, for DEFLATE and uncompressed files alike', async () => {
    for (const compression of [8, 1]) {
      const red = band(`red-${compression}`, 7, { compression: compression as 1 | 8, predictor: compression === 8 ? 2 : 1 });
      const nir = band(`nir-${compression}`, 13, { compression: compression as 1 | 8, predictor: compression === 8 ? 2 : 1 });
      for (const { task, chunks } of await strips(red, nir)) {
        const direct = await files.open(task);
        assert.ok(direct, `compression ${compression}: the worker sees the master's files, so it reads them itself`);
        const read = await readAll(direct);
        assert.deepEqual(
          read.map((c) => [c.source, c.part, c.data.length]),
          chunks.map((c) => [c.source, c.part, c.data.length]),
        );
        assert.ok(read.every((c, i) => c.data.equals(chunks[i]!.data)), 'the same bytes');
        assert.equal(direct.bytes, task.sourceBytes);
        assert.deepEqual(await assemble(task, read), await assemble(task, chunks), 'the same samples once decoded');
      }
    }
  });

  it('a file with sparse blocks (nothing stored): the same parts, numbered as ReadSources numbers them', async () => {
    const sparse = (block: { column: number; row: number }) => (block.column + block.row) % 3 === 1;
    const red = band('red-sparse', 7, { sparse });
    const nir = band('nir-sparse', 13);
    const reader = new DirectFiles();
    let sparseBlocks = 0;
    for (const { task, chunks } of await strips(red, nir)) {
      sparseBlocks += task.sources.reduce((sum, w) => sum + (w.encoded?.blocks.filter((b) => b.byteCount === 0).length ?? 0), 0);
      const read = await readAll((await reader.open(task))!);
      assert.deepEqual(read.map((c) => [c.source, c.part]), chunks.map((c) => [c.source, c.part]));
      assert.deepEqual(await assemble(task, read), await assemble(task, chunks));
    }
    assert.ok(sparseBlocks > 0, 'the file has sparse blocks');
    await reader.close();
  });

  it('reads into buffers it takes back once the assembler has decoded a block, so a strip leaves no garbage per block', async () => {
    const reader = new DirectFiles();
    const [first, second] = await strips(band('red-pool', 3), band('nir-pool', 5));
    assert.ok(first && second);
    const read = await readAll((await reader.open(first.task))!);
    const used = new Set(read.map((chunk) => chunk.data.buffer));
    await assemble(first.task, read); // decodes every block, then releases it
    const again = await readAll((await reader.open(second.task))!);
    assert.ok(again.length > 0 && again.every((chunk) => used.has(chunk.data.buffer)), 'the second strip reads into the first one\'s buffers');
    const fresh = await readAll((await reader.open(first.task))!);
    assert.ok(fresh.every((chunk) => !again.some((other) => other.data.buffer === chunk.data.buffer)), 'buffers not given back are not handed out twice');
    await reader.close();
  });

  it('declines a file whose size or modification time is not the one the master planned with', async () => {
    const red = band('red-touched', 3);
    const nir = band('nir-touched', 5);
    const task = await taskOf(red, nir);
    utimesSync(red, new Date(), new Date(Date.now() - 3_600_000));
    assert.equal(await new DirectFiles().open(task), null);
    const shifted = (window: TileTask__Output['sources'][number]) => ({ ...window, encoded: { ...window.encoded!, direct: { ...window.encoded!.direct!, size: window.encoded!.direct!.size + 1 } } });
    const fresh = await taskOf(band('red-size', 3), band('nir-size', 5));
    assert.ok(await new DirectFiles().open(fresh), 'unchanged, it is read directly');
    assert.equal(await new DirectFiles().open({ ...fresh, sources: fresh.sources.map(shifted) }), null);
  });

  it('declines a task with a window the master does not offer for direct reading (not a local file)', async () => {
    const task = await taskOf(band('red-remote', 3), band('nir-remote', 5));
    const offered = task.sources.map((window, at) => (at === 0 ? { ...window, encoded: { ...window.encoded!, direct: null } } : window));
    assert.equal(await new DirectFiles().open({ ...task, sources: offered }), null);
  });

  it('a file that shrinks after the check fails the read with DirectReadError naming it (the worker then asks the master)', async () => {
    const red = band('red-shrunk', 3);
    const task = await taskOf(red, band('nir-shrunk', 5), 1);
    const reader = new DirectFiles();
    const direct = await reader.open(task);
    assert.ok(direct);
    truncateSync(red, 200);
    await assert.rejects(readAll(direct), (error: unknown) => error instanceof DirectReadError && error.file === red && /bytes short/.test(error.message));
    reader.forget(red);
    assert.equal(await reader.open(task), null, 'not used directly again');
    await reader.close();
  });
});
