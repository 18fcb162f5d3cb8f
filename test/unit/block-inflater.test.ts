import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deflateSync } from 'node:zlib';
import { pino } from 'pino';
import type { Logger } from '../../shared/logger.js';
import { CorruptBlockError } from '../../shared/raster/block-errors.js';
import { INFLATE_SLACK, LibdeflateInflater, ZlibInflater, createBlockInflater, type BlockInflater } from '../../shared/raster/block-inflater.js';
import { Libdeflate, LibdeflateUnavailableError } from '../../shared/native/libdeflate.js';
import { prng } from '../support/prng.js';
import { loadLibdeflate } from '../support/native-libraries.js';

const libdeflate = await loadLibdeflate();

/** Bytes that compress a little, as sensor data does (a random walk). */
function walk(length: number, seed: number): Buffer {
  const rand = prng(seed);
  const bytes = Buffer.alloc(length);
  let value = 128;
  for (let i = 0; i < length; i++) {
    value = (value + Math.floor(rand() * 7) - 3) & 0xff;
    bytes[i] = value;
  }
  return bytes;
}

/** A real logger whose lines are kept, for the one line `auto` writes when it falls back. */
function recordingLog(): { readonly lines: Array<Record<string, unknown>>; readonly log: Logger } {
  const lines: Array<Record<string, unknown>> = [];
  return { lines, log: pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) }) };
}

describe('libdeflate and node:zlib inflate blocks alike', { skip: libdeflate.skip }, () => {
  const inflaters = (): BlockInflater[] => [new ZlibInflater(), new LibdeflateInflater(libdeflate.library!)];

  it('the same bytes, exactly the stream\'s, for blocks of many sizes and levels', async () => {
    const [zlib, fast] = inflaters() as [BlockInflater, BlockInflater];
    for (const [length, level, seed] of [[1, 6, 1], [64, 1, 2], [4096, 9, 3], [2 * 1024 * 1024, 6, 4], [300_001, 0, 5]] as const) {
      const raw = walk(length, seed);
      const stream = deflateSync(raw, { level });
      const [a, b] = await Promise.all([zlib.inflate(stream, length, 'block'), fast.inflate(stream, length, 'block')]);
      assert.ok(Buffer.from(a).equals(raw), `node:zlib, ${length} bytes at level ${level}`);
      assert.ok(Buffer.from(b).equals(raw), `libdeflate, ${length} bytes at level ${level}`);
      assert.equal(b.byteOffset, 0, 'from offset 0 of its own memory');
    }
  });

  it('padding past the block: within the slack in one go, beyond it through node:zlib, the same bytes', async () => {
    const [zlib, fast] = inflaters() as [BlockInflater, BlockInflater];
    for (const padding of [INFLATE_SLACK - 1, INFLATE_SLACK, INFLATE_SLACK + 1, 50_000]) {
      const raw = walk(10_000 + padding, padding);
      const stream = deflateSync(raw);
      const a = await zlib.inflate(stream, 10_000, 'block');
      const b = await fast.inflate(stream, 10_000, 'block');
      assert.ok(Buffer.from(b).equals(Buffer.from(a)), `padding ${padding}`);
      assert.equal(b.byteLength, raw.length, `padding ${padding}: all of the stream, the caller takes its prefix`);
    }
  });

  it('a bad stream is the same CorruptBlockError from both, with node:zlib\'s reason', async () => {
    const [zlib, fast] = inflaters() as [BlockInflater, BlockInflater];
    const good = deflateSync(walk(5000, 9));
    const badAdler = Buffer.from(good);
    badAdler[badAdler.length - 1] = badAdler.at(-1)! ^ 0xff;
    const cases: Array<[string, Buffer, RegExp]> = [
      ['a wrong Adler-32', badAdler, /incorrect data check/],
      ['a cut stream', good.subarray(0, 40), /unexpected end of file/],
      ['no zlib header', Buffer.from('not deflate at all'), /incorrect header check/],
    ];
    for (const [what, stream, reason] of cases) {
      const errors: unknown[] = [];
      for (const inflater of [zlib, fast]) await inflater.inflate(stream, 5000, 'block 1×5000').then(() => assert.fail(`${what}: inflated`), (error: unknown) => errors.push(error));
      for (const error of errors) {
        assert.ok(error instanceof CorruptBlockError, `${what}: ${String(error)}`);
        assert.match(error.message, /^block 1×5000: DEFLATE data cannot be inflated: /);
        assert.match(error.message, reason, what);
      }
      assert.equal((errors[1] as Error).message, (errors[0] as Error).message, `${what}: the same message`);
    }
  });

  it('a stream that inflates far past its block is refused as a decompression bomb by both', async () => {
    const bomb = deflateSync(Buffer.alloc(270 * 1024 * 1024), { level: 1 });
    for (const inflater of inflaters()) {
      await assert.rejects(inflater.inflate(bomb, 1_000_000, 'block'), /inflates to more than 268435456 bytes \(1000000 expected\)/, inflater.name);
    }
  });

  it('many blocks at once each get their own decompressor', async () => {
    const fast = new LibdeflateInflater(await Libdeflate.load());
    const raws = Array.from({ length: 12 }, (_, i) => walk(200_000 + i, 20 + i));
    const results = await Promise.all(raws.map((raw) => fast.inflate(deflateSync(raw), raw.length, 'block')));
    results.forEach((bytes, i) => assert.ok(Buffer.from(bytes).equals(raws[i]!), `block ${i}`));
    fast.close();
  });

  it('closed: a call in flight ends, later calls are refused', async () => {
    const library = await Libdeflate.load();
    const raw = walk(2_000_000, 30);
    const inFlight = library.zlibDecompress(deflateSync(raw), new Uint8Array(raw.length));
    library.close();
    assert.deepEqual(await inFlight, { status: 'ok', bytes: raw.length });
    await assert.rejects(library.zlibDecompress(deflateSync(raw), new Uint8Array(raw.length)), /libdeflate: closed/);
  });
});

describe('INFLATE_LIBRARY: which inflater a worker gets', () => {
  const unavailable = (): Promise<Libdeflate> => Promise.reject(new LibdeflateUnavailableError('libdeflate.so.0 cannot be loaded (Debian: apt-get install libdeflate0): not here'));

  it('zlib: node:zlib, without loading libdeflate', async () => {
    const inflater = await createBlockInflater('zlib', { load: () => assert.fail('libdeflate loaded') });
    assert.equal(inflater.name, 'node:zlib');
  });

  it('auto, libdeflate installed: libdeflate', { skip: libdeflate.skip }, async () => {
    const inflater = await createBlockInflater('auto');
    assert.equal(inflater.name, 'libdeflate');
    inflater.close();
  });

  it('auto, libdeflate missing: node:zlib, and one log line saying why and what it costs', async () => {
    const { lines, log } = recordingLog();
    const inflater = await createBlockInflater('auto', { log, load: unavailable });
    assert.equal(inflater.name, 'node:zlib');
    assert.equal(lines.length, 1);
    assert.match(String(lines[0]!['msg']), /libdeflate is not installed; blocks inflate with node:zlib/);
    assert.equal(lines[0]!['inflate'], 'node:zlib');
    assert.match(String(lines[0]!['why']), /apt-get install libdeflate0/);
  });

  it('libdeflate, missing: the worker does not start, and is told how to install it', async () => {
    await assert.rejects(createBlockInflater('libdeflate', { load: unavailable }), (error: unknown) => {
      assert.ok(error instanceof LibdeflateUnavailableError);
      assert.match(error.message, /apt-get install libdeflate0/);
      return true;
    });
  });

  it('auto: a failure other than a missing library is not hidden', async () => {
    await assert.rejects(createBlockInflater('auto', { load: () => Promise.reject(new TypeError('a bug')) }), TypeError);
  });

  it('a library file that is not there is a LibdeflateUnavailableError naming it', async () => {
    await assert.rejects(Libdeflate.load('libdeflate-not-here.so.0'), (error: unknown) => {
      assert.ok(error instanceof LibdeflateUnavailableError);
      assert.match(error.message, /^libdeflate-not-here\.so\.0 cannot be loaded \(Debian: apt-get install libdeflate0\): /);
      return true;
    });
  });
});
