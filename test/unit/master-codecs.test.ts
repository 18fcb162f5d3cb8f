import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { pino } from 'pino';
import { loadMasterCodecs } from '../../master/master-codecs.js';
import { crc32 } from '../../shared/checksum.js';
import type { Logger } from '../../shared/logger.js';
import { Isal, IsalUnavailableError } from '../../shared/native/isal.js';
import { encodeStripPng, InvalidStripError, parseStripPng } from '../../shared/png/strip-png.js';
import { loadIsal } from '../support/native-libraries.js';
import { codeImage } from '../support/png-tools.js';
import { prng } from '../support/prng.js';

const { library: isal, skip } = await loadIsal();
after(() => isal?.close());
const unavailable = (): Promise<Isal> => Promise.reject(new IsalUnavailableError('libisal.so.2 cannot be loaded (Debian: apt-get install libisal2): not here'));

function recordingLog(): { readonly lines: Array<Record<string, unknown>>; readonly log: Logger } {
  const lines: Array<Record<string, unknown>> = [];
  return { lines, log: pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) }) };
}

describe('ISA-L\'s CRC-32', { skip }, () => {
  it('is zlib\'s, continued from any value, for any length', () => {
    const rand = prng(3);
    for (const length of [0, 1, 15, 16, 63, 64, 1000, 1 << 20]) {
      const data = Uint8Array.from({ length }, () => Math.floor(rand() * 256));
      for (const initial of [0, 1, 0xdeadbeef, 0xffffffff]) assert.equal(isal!.crc32(data, initial), crc32(data, initial), `${length} bytes from ${initial}`);
    }
  });

  it('checks a strip\'s chunks as node:zlib\'s does: the same parse of a good strip, the same refusal of a bad one', async () => {
    const png = await encodeStripPng(codeImage(prng(5), 200, 30), 200, 30);
    const check = (data: Uint8Array, initial?: number): number => isal!.crc32(data, initial);
    assert.deepEqual(parseStripPng(png, { width: 200, rows: 30 }, check), parseStripPng(png, { width: 200, rows: 30 }));
    const bad = Buffer.from(png);
    bad[60] = bad[60]! ^ 0x01; // a byte of the rows' IDAT
    const reasons = [check, undefined].map((crc) => {
      try {
        parseStripPng(bad, { width: 200, rows: 30 }, crc);
        return 'parsed';
      } catch (error) {
        assert.ok(error instanceof InvalidStripError);
        return error.message;
      }
    });
    assert.match(reasons[0]!, /CRC mismatch/);
    assert.equal(reasons[0], reasons[1]);
  });
});

describe('a master\'s codecs: STRIP_DEFLATE and the CRC it checks results with', () => {
  it('auto where ISA-L loads: isal, and ISA-L\'s CRC', { skip }, async () => {
    const { lines, log } = recordingLog();
    const codecs = await loadMasterCodecs('auto', { log });
    assert.equal(codecs.stripDeflate, 'isal');
    assert.equal(codecs.crc32(Buffer.from('tessera')), crc32(Buffer.from('tessera')));
    assert.equal(codecs.previewDeflater.name, 'isal');
    assert.deepEqual([lines[0]?.['stripDeflate'], lines[0]?.['crc'], lines[0]?.['previews']], ['isal', 'isal', 'isal']);
    codecs.close();
  });

  it('auto where ISA-L is missing: zlib, node:zlib\'s CRC, and a log line saying why', async () => {
    const { lines, log } = recordingLog();
    const codecs = await loadMasterCodecs('auto', { log, loadIsal: unavailable });
    assert.equal(codecs.stripDeflate, 'zlib');
    assert.equal(codecs.crc32, crc32);
    assert.equal(codecs.previewDeflater.name, 'zlib');
    assert.equal(lines.length, 1);
    assert.deepEqual([lines[0]!['msg'], lines[0]!['stripDeflate'], lines[0]!['crc']], ['strip compression', 'zlib', 'node:zlib']);
    assert.match(String(lines[0]!['why']), /apt-get install libisal2/);
  });

  it('zlib and isal are taken as they are: a master without ISA-L may still ask workers that have it', async () => {
    assert.equal((await loadMasterCodecs('zlib', { loadIsal: unavailable })).stripDeflate, 'zlib');
    assert.equal((await loadMasterCodecs('isal', { loadIsal: unavailable })).stripDeflate, 'isal');
  });

  it('a failure other than a missing library is not hidden', async () => {
    await assert.rejects(loadMasterCodecs('auto', { loadIsal: () => Promise.reject(new TypeError('a bug')) }), TypeError);
  });

  it('a library file that is not there is an IsalUnavailableError naming it', async () => {
    await assert.rejects(Isal.load('libisal-not-here.so.2'), /^IsalUnavailableError: libisal-not-here\.so\.2 cannot be loaded \(Debian: apt-get install libisal2\): /);
  });
});
