import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { constants, inflateRawSync, inflateSync } from 'node:zlib';
import { PngStitcher } from '../../master/output/png-stitcher.js';
import { Isal, IsalUnavailableError } from '../../shared/native/isal.js';
import { filterRows } from '../../shared/png/scanline-filter.js';
import { GrowingBytes } from '../../shared/growing-bytes.js';
import { IsalStripDeflater, StripDeflateUnavailableError, StripDeflaters, ZlibStripDeflater, type StripDeflater } from '../../shared/png/strip-deflater.js';
import { encodeStripPng, parseStripPng, type StripData } from '../../shared/png/strip-png.js';
import { SYNC_FLUSH_MARKER } from '../../shared/png/zlib-framing.js';
import { loadIsal } from '../support/native-libraries.js';
import { codeImage, decodeGrey, pngcheck, pngcheckMissing } from '../support/png-tools.js';
import { prng } from '../support/prng.js';

const { library: isal, skip } = await loadIsal();
const unavailable = (): Promise<Isal> => Promise.reject(new IsalUnavailableError('libisal.so.2 cannot be loaded (Debian: apt-get install libisal2): not here'));

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tessera-strip-deflater-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
  isal?.close();
});

/** Bytes that compress a little, as filtered index codes do. */
function noisy(length: number, seed: number): Uint8Array {
  const rand = prng(seed);
  return Uint8Array.from({ length }, (_, i) => (i % 97 < 40 ? 0 : Math.floor(rand() * 24)));
}

/** The zlib stream as one buffer: the deflater's header, the rows it appends, its tail. */
async function wholeStream(deflater: StripDeflater, data: Uint8Array, out = new GrowingBytes()): Promise<Buffer> {
  out.reset();
  out.append(deflater.zlibHeader);
  const tail = await deflater.deflateRows(data, out);
  return Buffer.concat([out.bytes(), tail]);
}

describe('ISA-L strips', { skip }, () => {
  const deflater = (): StripDeflater => new IsalStripDeflater(isal!);

  it('a zlib stream zlib inflates to the input: header, rows ending in a sync flush, empty final block, Adler-32', async () => {
    for (const [length, seed] of [[1, 1], [1000, 2], [3_500_000, 3], [65_536 * 40 + 7, 4]] as const) {
      const data = noisy(length, seed);
      const stream = await wholeStream(deflater(), data);
      assert.ok(Buffer.from(inflateSync(stream)).equals(Buffer.from(data)), `${length} bytes: inflate (which checks the Adler-32) gives the input`);
      assert.ok(stream.subarray(-10, -6).equals(SYNC_FLUSH_MARKER), `${length} bytes: the rows end in a sync flush`);
      assert.ok(Buffer.from(inflateRawSync(stream.subarray(2, -6), { finishFlush: constants.Z_SYNC_FLUSH })).equals(Buffer.from(data)), `${length} bytes: the rows alone inflate to the input`);
    }
  });

  it('strips written into one reused PNG buffer, larger and smaller in turn: the same bytes as in fresh memory', async () => {
    const output = new GrowingBytes();
    for (const [width, rows, seed] of [[2000, 300, 11], [300, 40, 12], [2000, 301, 13]] as const) {
      const codes = codeImage(prng(seed), width, rows);
      const fresh = await encodeStripPng(codes, width, rows, { deflater: deflater() });
      assert.ok((await encodeStripPng(codes, width, rows, { deflater: deflater(), output })).equals(fresh), `${width}×${rows}`);
      assert.ok((await decodeGrey(fresh)).codes.equals(Buffer.from(codes)));
    }
  });

  it('incompressible input comes back whole', async () => {
    const rand = prng(9);
    const data = Uint8Array.from({ length: 5_000_000 }, () => Math.floor(rand() * 256));
    assert.ok(Buffer.from(inflateSync(await wholeStream(deflater(), data))).equals(Buffer.from(data)));
  });

  it('strips several at once (a session each), the same bytes as one at a time', async () => {
    const inputs = Array.from({ length: 6 }, (_, i) => noisy(400_000 + i, 20 + i));
    const alone: Buffer[] = [];
    for (const data of inputs) alone.push(await wholeStream(deflater(), data));
    const together = await Promise.all(inputs.map((data) => wholeStream(deflater(), data)));
    together.forEach((stream, i) => assert.ok(stream.equals(alone[i]!), `strip ${i}`));
  });

  it('a strip PNG the master parses and stitches into a mosaic that decodes to the codes, zlib and ISA-L strips alike; pngcheck accepts it', async (t) => {
    const width = 300;
    const rows = [40, 17, 64];
    const height = rows.reduce((a, b) => a + b, 0);
    const codes = codeImage(prng(4), width, height);
    const path = join(dir, 'mixed.png');
    const stitcher = await PngStitcher.create(path, { width, height });
    let top = 0;
    for (const [i, count] of rows.entries()) {
      const part = codes.subarray(top * width, (top + count) * width);
      const png = await encodeStripPng(part, width, count, { deflater: i === 1 ? new ZlibStripDeflater() : deflater() });
      assert.ok((await decodeGrey(png)).codes.equals(Buffer.from(part)), `strip ${i} decodes on its own`);
      const strip: StripData = parseStripPng(png, { width, rows: count });
      assert.equal(strip.filteredLength, count * (width + 1));
      await stitcher.append(strip);
      top += count;
    }
    await stitcher.finish();
    assert.ok((await decodeGrey(path)).codes.equals(Buffer.from(codes)));
    const missing = pngcheckMissing();
    if (missing) return t.skip(`pngcheck check skipped: ${missing}`);
    const verdict = pngcheck(path);
    assert.ok(verdict.ok, verdict.output);
  });

  it('a little larger than zlib\'s strips and not much: on a noisy field with no-data runs within 10 %', async () => {
    const filtered = filterRows(noisy(1000 * 200, 7), 1000, 200, 'average');
    const [fast, small] = await Promise.all([wholeStream(deflater(), filtered), wholeStream(new ZlibStripDeflater(), filtered)]);
    assert.ok(fast.length < small.length * 1.1, `${fast.length} against ${small.length} bytes`);
  });

  it('closed: a call in flight ends, later calls are refused', async () => {
    const own = await Isal.load();
    const data = noisy(2_000_000, 30);
    const out = new GrowingBytes();
    const inFlight = own.syncFlushed(data, out);
    own.close();
    await inFlight;
    assert.ok(Buffer.from(inflateRawSync(out.bytes(), { finishFlush: constants.Z_SYNC_FLUSH })).equals(Buffer.from(data)));
    await assert.rejects(own.syncFlushed(data, new GrowingBytes()), /isal: closed/);
  });
});

describe('StripDeflaters: the compression a task names, on a worker', () => {
  it('"" and zlib: node:zlib, without loading ISA-L', async () => {
    const deflaters = new StripDeflaters(() => assert.fail('ISA-L loaded'));
    assert.equal((await deflaters.get('')).name, 'zlib');
    assert.equal((await deflaters.get('zlib')).name, 'zlib');
  });

  it('isal where ISA-L is missing: an error saying what the master asked, why this worker cannot, and both fixes', async () => {
    const deflaters = new StripDeflaters(unavailable);
    await assert.rejects(deflaters.get('isal'), (error: unknown) => {
      assert.ok(error instanceof StripDeflateUnavailableError);
      assert.match(error.message, /the master asks for strips compressed by ISA-L \(STRIP_DEFLATE=isal\), and this worker cannot load it: .*apt-get install libisal2.*; install it here, or set STRIP_DEFLATE=zlib on the master/);
      return true;
    });
  });

  it('a compression this worker does not know: run workers of the master\'s version', async () => {
    await assert.rejects(new StripDeflaters(unavailable).get('zstd'), /unknown strip compression "zstd" \(this worker knows zlib, isal\): run workers of the master's version/);
  });

  it('isal where ISA-L is installed: loaded once, for every task after', { skip }, async () => {
    let loads = 0;
    const deflaters = new StripDeflaters(() => {
      loads++;
      return Isal.load();
    });
    const [a, b] = await Promise.all([deflaters.get('isal'), deflaters.get('isal')]);
    assert.equal(a.name, 'isal');
    assert.equal(b.name, 'isal');
    assert.equal(loads, 1);
    deflaters.close();
  });
});
