/**
 * STRIP_DEFLATE through `tessera run`: strips compressed by ISA-L and by node:zlib make mosaics of the
 * same pixels (the bytes differ: they are different compressors), the manifest says which one the
 * workers used, and ISA-L strips make the same bytes with 1 worker as with 2.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadIsal } from '../support/native-libraries.js';
import { decodeGrey, sha256 } from '../support/png-tools.js';
import { runSmallScene, writeSmallScene } from '../support/small-scene.js';

const SIZE = 300;
const GREY = ['ndvi.png', 'ndsi.png'] as const;
const { skip } = await loadIsal();

interface Run {
  readonly dir: string;
  readonly stripDeflate: string;
  readonly digests: string[];
}

describe('STRIP_DEFLATE: ISA-L and node:zlib strips', { skip }, () => {
  let dir: string;
  const runs = new Map<string, Run>();

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tessera-strip-deflate-'));
    const bands = await writeSmallScene(dir, SIZE);
    for (const [label, env, workers] of [['isal', { STRIP_DEFLATE: 'isal' }, 2], ['zlib', { STRIP_DEFLATE: 'zlib' }, 2], ['isal, 1 worker', { STRIP_DEFLATE: 'isal' }, 1]] as const) {
      const { outputDir } = await runSmallScene(bands, join(dir, label.replace(/\W+/g, '-')), env, label, workers);
      const { tiles } = JSON.parse(await readFile(join(outputDir, 'manifest.json'), 'utf8')) as { tiles: { stripDeflate: string } };
      const digests = await Promise.all(GREY.map(async (name) => sha256(await readFile(join(outputDir, name)))));
      runs.set(label, { dir: outputDir, stripDeflate: tiles.stripDeflate, digests });
    }
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('the manifest says what the workers compressed the strips with', () => {
    assert.equal(runs.get('isal')!.stripDeflate, 'isal');
    assert.equal(runs.get('zlib')!.stripDeflate, 'zlib');
  });

  test('the same pixels from both, in different bytes', async () => {
    for (const [i, name] of GREY.entries()) {
      const [isal, zlib] = await Promise.all([decodeGrey(join(runs.get('isal')!.dir, name)), decodeGrey(join(runs.get('zlib')!.dir, name))]);
      assert.ok(isal.codes.equals(zlib.codes), `${name}: the codes differ`);
      assert.notEqual(runs.get('isal')!.digests[i], runs.get('zlib')!.digests[i], `${name}: the same bytes, so one of them did not use its compressor`);
    }
  });

  test('ISA-L strips: the same bytes with 1 worker as with 2', () => {
    assert.deepEqual(runs.get('isal, 1 worker')!.digests, runs.get('isal')!.digests);
  });
});
