/**
 * INFLATE_LIBRARY through `tessera run`: workers that inflate the scene's DEFLATE blocks with
 * libdeflate and workers that use node:zlib make the same PNGs byte for byte, and each worker says
 * at start which one it took. (Without libdeflate, `auto` falling back and `libdeflate` refusing to
 * start are block-inflater.test.ts's: the library cannot be hidden from a process here.)
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadLibdeflate } from '../support/native-libraries.js';
import { runSmallScene, writeSmallScene } from '../support/small-scene.js';

const SIZE = 300;
const FILES = ['ndvi.png', 'ndvi_color.png', 'ndsi.png', 'ndsi_color.png'] as const;
const { skip } = await loadLibdeflate();

/** What each worker of a run logged it inflates with ("connecting to the master"). */
function inflatersLogged(stderr: string): string[] {
  return stderr
    .split('\n')
    .filter((line) => line.includes('"msg":"connecting to the master"'))
    .map((line) => String((JSON.parse(line) as { inflate?: unknown }).inflate));
}

describe('INFLATE_LIBRARY: libdeflate and node:zlib workers', { skip }, () => {
  let dir: string;
  const runs = new Map<string, { readonly digests: Record<string, string>; readonly logged: string[] }>();

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tessera-inflate-library-'));
    const bands = await writeSmallScene(dir, SIZE);
    for (const library of ['libdeflate', 'zlib'] as const) {
      const { outputDir, stderr } = await runSmallScene(bands, join(dir, library), { INFLATE_LIBRARY: library, LOG_LEVEL: 'info' }, library);
      const digests = Object.fromEntries(await Promise.all(FILES.map(async (name) => [name, createHash('sha256').update(await readFile(join(outputDir, name))).digest('hex')])));
      runs.set(library, { digests, logged: inflatersLogged(stderr) });
    }
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('the same PNGs, byte for byte', () => {
    assert.deepEqual(runs.get('libdeflate')!.digests, runs.get('zlib')!.digests);
  });

  test('each worker says which inflater it took', () => {
    assert.deepEqual(runs.get('libdeflate')!.logged, ['libdeflate', 'libdeflate']);
    assert.deepEqual(runs.get('zlib')!.logged, ['node:zlib', 'node:zlib']);
  });

});
