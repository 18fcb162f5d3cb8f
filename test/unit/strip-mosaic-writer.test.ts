import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { appendFile, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { colourRamp } from '../../master/output/colour-ramp.js';
import { saveCheckpoint, takeOverCheckpoint } from '../../master/output/resume-checkpoint.js';
import { createLogger } from '../../shared/logger.js';
import { auxXmlText, crsWkt, worldFileText, type OutputGrid } from '../../master/output/georeference.js';
import {
  IncompleteMosaicError,
  StripMosaicWriter,
  StripPlacementError,
  type StripMosaicWriterOptions,
} from '../../master/output/strip-mosaic-writer.js';
import { decodeIhdr, readChunks } from '../../shared/png/png-chunks.js';
import { filterRows } from '../../shared/png/scanline-filter.js';
import { encodeStripPng, InvalidStripError, parseStripPng, type StripData } from '../../shared/png/strip-png.js';
import type { IndexName } from '../../shared/types.js';
import {
  codeImage,
  decodeGrey,
  decodeRgba,
  pngcheck,
  pngcheckMissing,
  pythonInflateIdat,
  pythonMissing,
  sha256,
} from '../support/png-tools.js';
import { prng } from '../support/prng.js';

/** The claim tag that names a writer's staging folder, `<outputDir>.partial-<tag>`. */
const TAG = '1-test';

let root = '';
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'tessera-strip-mosaic-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

const grid: OutputGrid = { originX: 499980, originY: 9200020, pixelWidth: 10, pixelHeight: 10, width: 83, height: 97, epsg: 31985 };
const stripRows = [1, 13, 7, 30, 2, 19, 25];
const indices = ['ndvi', 'ndsi'] as const satisfies readonly IndexName[];
type TestIndex = (typeof indices)[number];
const wkt = crsWkt(grid.epsg);

interface Fixture {
  readonly codes: Uint8Array;
  readonly strips: StripData[];
  /** The filtered bytes of the whole mosaic: each strip's, concatenated. */
  readonly filtered: Buffer;
}

async function fixture(rowsPerStrip: readonly number[], width: number, codes: Uint8Array): Promise<Fixture> {
  const strips: StripData[] = [];
  const filtered: Buffer[] = [];
  let top = 0;
  for (const rows of rowsPerStrip) {
    const part = codes.subarray(top * width, (top + rows) * width);
    strips.push(parseStripPng(await encodeStripPng(part, width, rows), { width, rows }));
    filtered.push(filterRows(part, width, rows, 'average'));
    top += rows;
  }
  return { codes, strips, filtered: Buffer.concat(filtered) };
}

let fixtures: Record<TestIndex, Fixture>;
before(async () => {
  fixtures = {
    ndvi: await fixture(stripRows, grid.width, codeImage(prng(1), grid.width, grid.height)),
    ndsi: await fixture(stripRows, grid.width, codeImage(prng(2), grid.width, grid.height)),
  };
});

function writerFor(name: string, options: Partial<StripMosaicWriterOptions> = {}): StripMosaicWriter {
  return new StripMosaicWriter({
    outputDir: join(root, name),
    grid,
    indices,
    crsWkt: wkt,
    stripRows,
    maxBufferedBytes: 1 << 30,
    claimTag: TAG,
    ...options,
  });
}

/** Every (index, strip) pair, top to bottom, indices interleaved. */
const inOrder = stripRows.flatMap((_, strip) => indices.map((index) => ({ index, strip })));

function shuffled<T>(items: readonly T[], seed: number): T[] {
  const rand = prng(seed);
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

async function folderBytes(dir: string): Promise<Map<string, Buffer>> {
  const files = (await readdir(dir)).sort();
  return new Map(await Promise.all(files.map(async (f) => [f, await readFile(join(dir, f))] as const)));
}

const idatOf = (png: Buffer): Buffer => Buffer.concat(readChunks(png).filter((c) => c.type === 'IDAT').map((c) => c.data));

describe('StripMosaicWriter', () => {
  let reference: Map<string, Buffer>;
  const smallestStrip = (): number => Math.min(...indices.flatMap((i) => fixtures[i].strips.map((s) => s.deflate.length)));

  it('(a) strips in order: publishes grey and colour PNGs with sidecars, exactly the codes', async () => {
    const writer = writerFor('in-order');
    for (const { index, strip } of inOrder) await writer.addStrip(index, strip, fixtures[index].strips[strip]!);
    assert.equal(writer.stats().writtenStrips, inOrder.length);
    assert.equal(writer.stats().peakBufferedBytes, 0, 'nothing waits when strips come in order');
    const outputs = await writer.finish({ beforePublish: (staging) => writeFile(join(staging, 'manifest.json'), '{}') });
    const dir = join(root, 'in-order');
    assert.equal(outputs.ndvi?.png, join(dir, 'ndvi.png'));
    assert.equal(outputs.ndsi?.colorAuxXml, join(dir, 'ndsi_color.png.aux.xml'));
    assert.ok(!existsSync(`${dir}.partial-${TAG}`), 'the staging folder was renamed');
    reference = await folderBytes(dir);
    assert.deepEqual([...reference.keys()], [
      'manifest.json',
      'ndsi.pgw', 'ndsi.png', 'ndsi.png.aux.xml', 'ndsi_color.pgw', 'ndsi_color.png', 'ndsi_color.png.aux.xml',
      'ndvi.pgw', 'ndvi.png', 'ndvi.png.aux.xml', 'ndvi_color.pgw', 'ndvi_color.png', 'ndvi_color.png.aux.xml',
    ]);
    for (const index of indices) {
      const grey = reference.get(`${index}.png`)!;
      const decoded = await decodeGrey(grey);
      assert.deepEqual([decoded.width, decoded.height, decoded.channels], [grid.width, grid.height, 1]);
      assert.ok(decoded.codes.equals(fixtures[index].codes), `${index}: decoded codes differ`);
      const colour = reference.get(`${index}_color.png`)!;
      assert.ok(idatOf(colour).equals(idatOf(grey)), `${index}: colour and grey IDAT bytes are the same`);
      assert.equal(decodeIhdr(readChunks(colour)[0]!.data).colourType, 3);
      assert.equal(reference.get(`${index}.pgw`)!.toString(), worldFileText(grid));
      assert.equal(reference.get(`${index}_color.png.aux.xml`)!.toString(), auxXmlText(wkt));
    }
  });

  it('its zlib stream is whole for Python’s zlib', async (t) => {
    const missing = pythonMissing();
    if (missing) return t.skip(`Python zlib check skipped: ${missing}`);
    for (const index of indices) {
      const inflated = pythonInflateIdat(join(root, 'in-order', `${index}.png`));
      assert.ok(inflated.ok, inflated.output);
      assert.equal(inflated.length, grid.height * (grid.width + 1));
      assert.equal(inflated.sha256, sha256(fixtures[index].filtered), `${index}: inflated bytes are the strips' filtered rows`);
    }
  });

  it('pngcheck accepts both files of both indices', async (t) => {
    const missing = pngcheckMissing();
    if (missing) return t.skip(`pngcheck check skipped: ${missing}`);
    const verdict = pngcheck(...indices.flatMap((i) => [join(root, 'in-order', `${i}.png`), join(root, 'in-order', `${i}_color.png`)]));
    assert.ok(verdict.ok, verdict.output);
  });

  for (const [name, maxBufferedBytes] of [['in memory', 1 << 30], ['spilled', 0]] as const) {
    it(`(a2) strips taken back out (${name}) and added again: the files are as if they never were`, async () => {
      const folder = `dropped-${maxBufferedBytes}`;
      const writer = writerFor(folder, { maxBufferedBytes });
      // Strips 0..4 written, 6 held; then 1 and 3 (written) and 6 (held) are taken back out.
      for (const { index, strip } of inOrder.filter(({ strip }) => strip !== 5)) await writer.addStrip(index, strip, fixtures[index].strips[strip]!);
      const wrong = fixtures.ndsi.strips; // another index's strips: the right size, the wrong pixels
      await writer.dropStrips([3, 1, 6]);
      assert.equal(writer.stats().writtenStrips, indices.length, 'only strip 0 of each index is still written');
      await assert.rejects(writer.addStrip('ndvi', 2, fixtures.ndvi.strips[2]!), (error: unknown) => error instanceof StripPlacementError && error.reason === 'duplicate', 'strips kept are still there');
      await writer.addStrip('ndvi', 1, wrong[1]!); // and a strip dropped can be dropped again
      await writer.dropStrips([1]);
      for (const strip of [6, 5, 3, 1]) for (const index of indices) await writer.addStrip(index, strip, fixtures[index].strips[strip]!);
      await writer.finish({ beforePublish: (staging) => writeFile(join(staging, 'manifest.json'), '{}') });
      assert.deepEqual(await folderBytes(join(root, folder)), reference);
    });
  }

  it('(b) strips in reverse with a tiny memory bound: spills, never holds more than the bound, same bytes', async () => {
    const maxBufferedBytes = Math.floor(smallestStrip() * 1.5); // room for one small strip at most
    const writer = writerFor('reversed', { maxBufferedBytes });
    for (const { index, strip } of [...inOrder].reverse()) {
      await writer.addStrip(index, strip, fixtures[index].strips[strip]!);
      assert.ok(writer.stats().bufferedBytes <= maxBufferedBytes, `after ${index} ${strip}: ${writer.stats().bufferedBytes}`);
    }
    const stats = writer.stats();
    // Every strip but the two strip 0s waits, and nothing is written until the end: memory can take
    // at most floor(bound / smallest strip) of them in all, the rest must have been spilled.
    const waited = inOrder.length - indices.length;
    assert.ok(stats.spilledStrips >= waited - Math.floor(maxBufferedBytes / smallestStrip()), `${stats.spilledStrips} spilled`);
    assert.ok(stats.peakBufferedBytes <= maxBufferedBytes, `peak ${stats.peakBufferedBytes} > ${maxBufferedBytes}`);
    assert.equal(stats.bufferedBytes, 0);
    assert.equal(stats.writtenStrips, inOrder.length);
    await writer.finish({ beforePublish: (staging) => writeFile(join(staging, 'manifest.json'), '{}') });
    assert.deepEqual(await folderBytes(join(root, 'reversed')), reference, 'byte-identical to (a), no spill files left');
  });

  it('(c) strips shuffled and added concurrently, buffers reused after each call, some held in memory: same bytes', async () => {
    const maxBufferedBytes = 4 * smallestStrip();
    const writer = writerFor('shuffled', { maxBufferedBytes });
    const add = async ({ index, strip }: { index: TestIndex; strip: number }): Promise<void> => {
      const own = fixtures[index].strips[strip]!;
      const data = { ...own, deflate: Buffer.from(own.deflate) };
      await writer.addStrip(index, strip, data);
      data.deflate.fill(0); // the caller may reuse its buffer once addStrip has resolved
    };
    await Promise.all(shuffled(inOrder, 3).map(add));
    assert.ok(writer.stats().peakBufferedBytes <= maxBufferedBytes);
    assert.ok(writer.stats().peakBufferedBytes > 0, 'some strips waited in memory');
    await writer.finish({ beforePublish: (staging) => writeFile(join(staging, 'manifest.json'), '{}') });
    assert.deepEqual(await folderBytes(join(root, 'shuffled')), reference);
  });

  it('(d) a checkpoint taken mid-way, bytes written after it, a new claim resumed from it: same bytes', async () => {
    const outputDir = join(root, 'resumed');
    const first = writerFor('resumed', { claimTag: '1-first' });
    // ndvi runs ahead of ndsi, and strip 5 arrives early: the checkpoint is where both have got to.
    const early = [...inOrder.filter(({ strip }) => strip < 2), { index: 'ndvi' as const, strip: 2 }, { index: 'ndvi' as const, strip: 3 }, { index: 'ndsi' as const, strip: 5 }];
    for (const { index, strip } of early) await first.addStrip(index, strip, fixtures[index].strips[strip]!);
    const at = await first.checkpoint();
    assert.ok(at);
    assert.equal(at.strips, 2, 'two strips of every index are written');
    assert.equal(await first.checkpoint(), undefined, 'nothing new to checkpoint');
    const records = [{ worker: 'w1', stats: {} }, { worker: 'w2', stats: {} }];
    await saveCheckpoint(first.stagingFolder, { version: 1, fingerprint: 'job-a', writer: at, strips: records });
    // The first master goes on writing past its checkpoint, then dies without a word.
    await first.addStrip('ndsi', 2, fixtures.ndsi.strips[2]!);
    await appendFile(join(first.stagingFolder, 'ndvi.png'), Buffer.alloc(999, 0xee)); // a torn write

    const stagingOf = (tag: string): string => `${outputDir}.partial-${tag}`;
    const log = createLogger('test', 'silent');
    const other = await takeOverCheckpoint({ outputDir, attempt: 2, fingerprint: 'job-b', indices, stagingDir: stagingOf('2-second'), log });
    assert.equal(other, undefined, 'a checkpoint of another job is not used');
    const taken = await takeOverCheckpoint({ outputDir, attempt: 2, fingerprint: 'job-a', indices, stagingDir: stagingOf('2-second'), log });
    assert.ok(taken);
    assert.deepEqual(taken.checkpoint.strips, records);
    assert.equal(taken.folder, first.stagingFolder);
    const second = writerFor('resumed', { claimTag: '2-second', resume: taken.checkpoint.writer });
    await assert.rejects(second.addStrip('ndvi', 1, fixtures.ndvi.strips[1]!), StripPlacementError, 'strips under the checkpoint are in already');
    for (const { index, strip } of shuffled(inOrder.filter(({ strip }) => strip >= 2), 4)) await second.addStrip(index, strip, fixtures[index].strips[strip]!);
    await second.finish({ beforePublish: (staging) => writeFile(join(staging, 'manifest.json'), '{}') });
    await first.abort();
    assert.deepEqual(await folderBytes(outputDir), reference, 'byte-identical to (a)');
  });

  it('a malformed or missing checkpoint is passed over', async () => {
    const outputDir = join(root, 'no-checkpoint');
    const log = createLogger('test', 'silent');
    await mkdir(`${outputDir}.partial-1-aaaa`, { recursive: true });
    await writeFile(join(`${outputDir}.partial-1-aaaa`, 'checkpoint.json'), '{"version":1,"fingerprint":"f","writer":{"strips":2,"lanes":{}},"strips":[]}');
    await mkdir(`${outputDir}.partial-2-bbbb`, { recursive: true });
    await writeFile(join(`${outputDir}.partial-2-bbbb`, 'checkpoint.json'), '{not json');
    const taken = await takeOverCheckpoint({ outputDir, attempt: 3, fingerprint: 'f', indices, stagingDir: `${outputDir}.partial-3-cccc`, log });
    assert.equal(taken, undefined);
  });

  it('the colour PNG decodes to the ramp’s RGBA for every code 0..255, code 0 transparent', async () => {
    const small: OutputGrid = { ...grid, width: 64, height: 12 };
    const rows = [5, 4, 3];
    const codes = Uint8Array.from({ length: small.width * small.height }, (_, i) => (i * 7) % 256); // every code, 3 times
    const strips = (await fixture(rows, small.width, codes)).strips;
    const outputDir = join(root, 'every-code');
    const writer = new StripMosaicWriter({ outputDir, grid: small, indices, crsWkt: wkt, stripRows: rows, maxBufferedBytes: 0, claimTag: TAG });
    for (const index of indices) await Promise.all([2, 0, 1].map((s) => writer.addStrip(index, s, strips[s]!)));
    const outputs = await writer.finish();
    for (const index of indices) {
      const rgba = await decodeRgba(outputs[index]!.colorPng!);
      const ramp = colourRamp(index);
      assert.equal(rgba.length, codes.length * 4);
      for (let i = 0; i < codes.length; i++) {
        const code = codes[i]!;
        assert.deepEqual([...rgba.subarray(i * 4, i * 4 + 4)], [...ramp.subarray(code * 4, code * 4 + 4)], `${index} code ${code}`);
      }
      assert.equal(rgba[3], 0, 'code 0 is transparent');
    }
  });

  it('rejects misplaced strips before writing anything, with named errors', async () => {
    const writer = writerFor('misplaced');
    const strip0 = fixtures.ndvi.strips[0]!;
    const placement = (reason: string, message: RegExp) => (error: unknown) =>
      error instanceof StripPlacementError && error.reason === reason && message.test(error.message);
    const lonely = new StripMosaicWriter({ outputDir: join(root, 'lonely'), grid, indices: ['ndvi'], crsWkt: wkt, stripRows, maxBufferedBytes: 0, claimTag: TAG });
    await assert.rejects(lonely.addStrip('ndsi', 0, strip0), placement('unknown-index', /strip 0 of ndsi: index not in this mosaic \(ndvi\)/));
    for (const bad of [-1, 7, 1.5]) {
      await assert.rejects(writer.addStrip('ndvi', bad, strip0), placement('out-of-range', /the mosaic has strips 0\.\.6/));
    }
    await assert.rejects(
      writer.addStrip('ndvi', 2, fixtures.ndvi.strips[1]!),
      placement('wrong-size', /strip 2 of ndvi: 1092 filtered bytes, expected 7 rows × \(83 \+ 1\) = 588/),
    );
    const unflushed = { ...strip0, deflate: strip0.deflate.subarray(0, -1) };
    await assert.rejects(writer.addStrip('ndvi', 0, unflushed), placement('not-stitchable', /does not end with a sync flush/));
    assert.ok(!existsSync(join(root, `misplaced.partial-${TAG}`)), 'nothing written for refused strips');
    await writer.addStrip('ndvi', 3, fixtures.ndvi.strips[3]!);
    await assert.rejects(writer.addStrip('ndvi', 3, fixtures.ndvi.strips[3]!), placement('duplicate', /strip 3 of ndvi: already added/));
    await writer.abort();
    await lonely.abort();
  });

  it('finish fails clearly when a strip never arrived, and leaves nothing behind', async () => {
    const writer = writerFor('incomplete');
    for (const { index, strip } of inOrder) {
      if ((index === 'ndsi' && (strip === 2 || strip === 5)) || (index === 'ndvi' && strip === 6)) continue;
      await writer.addStrip(index, strip, fixtures[index].strips[strip]!);
    }
    await assert.rejects(writer.finish(), (error: unknown) => {
      assert.ok(error instanceof IncompleteMosaicError);
      assert.match(error.message, /ndvi strip 6; ndsi strips 2, 5 never arrived \(of 7 per index\)/);
      return true;
    });
    assert.ok(!existsSync(join(root, `incomplete.partial-${TAG}`)));
    assert.ok(!existsSync(join(root, 'incomplete')));
    await writer.abort(); // harmless after a failed finish
  });

  it('replaces an older folder on publish; abort removes only the staging folder', async () => {
    const outputDir = join(root, 'again');
    await mkdir(outputDir, { recursive: true });
    await writeFile(join(outputDir, 'stale.txt'), 'from an earlier run');
    const aborted = writerFor('again', { maxBufferedBytes: 0, claimTag: TAG });
    await aborted.addStrip('ndvi', 4, fixtures.ndvi.strips[4]!); // spilled
    assert.ok((await stat(join(root, `again.partial-${TAG}`))).isDirectory());
    await aborted.abort();
    assert.ok(!existsSync(join(root, `again.partial-${TAG}`)), 'staging removed');
    assert.equal(await readFile(join(outputDir, 'stale.txt'), 'utf8'), 'from an earlier run', 'the finished folder is untouched');
    await assert.rejects(aborted.addStrip('ndvi', 0, fixtures.ndvi.strips[0]!), /addStrip after the writer was aborted/);

    const writer = writerFor('again');
    for (const { index, strip } of inOrder) await writer.addStrip(index, strip, fixtures[index].strips[strip]!);
    await writer.finish();
    assert.ok(!existsSync(join(outputDir, 'stale.txt')), 'the older folder was replaced');
    assert.ok(existsSync(join(outputDir, 'ndvi_color.png')));
    assert.deepEqual((await readdir(root)).filter((f) => f.startsWith('again')), ['again'], 'no .old- or .partial folder left');
  });

  it('passes filesystem errors through unchanged, then refuses to go on', async () => {
    const blocker = join(root, 'not-a-folder');
    await writeFile(blocker, 'a file where the output folder’s parent should be');
    const writer = new StripMosaicWriter({ outputDir: join(blocker, 'request'), grid, indices, crsWkt: wkt, stripRows, maxBufferedBytes: 0, claimTag: TAG });
    const first = await writer.addStrip('ndvi', 0, fixtures.ndvi.strips[0]!).then(
      () => assert.fail('expected a filesystem error'),
      (error: unknown) => error as NodeJS.ErrnoException,
    );
    assert.equal(first.code, 'ENOTDIR', String(first));
    assert.ok(!(first instanceof StripPlacementError) && !(first instanceof InvalidStripError));
    await assert.rejects(writer.addStrip('ndvi', 1, fixtures.ndvi.strips[1]!), /an earlier write failed/);
    await assert.rejects(writer.finish(), (error: unknown) => error === first);
  });

  it('syncs the finished PNGs while beforePublish runs, and publishes only once both are done', async () => {
    // A gate instead of fdatasync: the test sees when the sync starts and decides when it ends.
    let synced: readonly string[] | undefined;
    let endSync: () => void = () => undefined;
    const writer = writerFor('synced', {
      syncFiles: (paths) => {
        synced = paths;
        return new Promise<void>((resolve) => (endSync = resolve));
      },
    });
    for (const { index, strip } of inOrder) await writer.addStrip(index, strip, fixtures[index].strips[strip]!);
    let finished = false;
    let beforePublishDone: () => void = () => undefined;
    const afterBeforePublish = new Promise<void>((resolve) => (beforePublishDone = resolve));
    const finishing = writer
      .finish({
        beforePublish: async (staging) => {
          assert.ok(synced, 'the sync is under way before beforePublish starts');
          assert.deepEqual([...synced].sort(), indices.flatMap((i) => [join(staging, `${i}.png`), join(staging, `${i}_color.png`)]).sort());
          for (const path of synced) assert.ok((await stat(path)).size > 0, `${path} is written before it is synced`);
          await writeFile(join(staging, 'manifest.json'), '{}');
          beforePublishDone();
        },
      })
      .then(() => (finished = true));
    await Promise.race([afterBeforePublish, finishing]); // finishing settles first only if beforePublish threw
    assert.equal(finished, false);
    assert.equal(existsSync(join(root, 'synced')), false, 'not published while the sync is under way');
    endSync();
    await finishing;
    assert.ok(existsSync(join(root, 'synced', 'ndvi.png')) && existsSync(join(root, 'synced', 'manifest.json')));
  });

  it('refuses strip rows that do not add up to the grid, and a negative memory bound', () => {
    assert.throws(() => writerFor('bad', { stripRows: [50, 40] }), /strips have 90 rows, the grid 97/);
    assert.throws(() => writerFor('bad', { stripRows: [97, 0] }), /must be positive integers/);
    assert.throws(() => writerFor('bad', { maxBufferedBytes: -1 }), /maxBufferedBytes -1/);
  });
});
