/**
 * The CLI's bundle (scripts/bundle-cli.mjs, which dist/cli/bin.js runs) stands on its own and does what
 * the modules do. In a package folder holding only package.json, proto/, node_modules and
 * dist/cli/bin.js + dist/bundle/ (no other compiled module to fall back on), `tessera run` on the
 * sample completes, with a master and two workers all running from the bundle, and writes PNGs
 * byte-identical to those of the same run from the unbundled modules (dist/cli/main.js).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { NODE_FLAGS } from '../../cli/node-flags.js';
import { packageRoot } from '../../shared/package-root.js';
import { lastJsonLine } from '../support/cli.js';
import { sha256 } from '../support/png-tools.js';

const root = packageRoot();
const sample = join(root, 'samples', 'L7_ETMs.tif');

interface RunSummary {
  readonly status: string;
  readonly outputs: Record<string, { png: string; colorPng: string } | string>;
}

/** `node <entry> run …` on the sample (NDVI + NDSI, 2 workers, several strips); its JSON summary. */
function runSample(entry: string, out: string): Promise<RunSummary> {
  const args = [...NODE_FLAGS, entry, 'run', '--workers', '2', '--strip-rows', '64', '--index', 'ndvi,ndsi', '--out', out, '--json'];
  for (const band of ['green=2', 'red=3', 'nir=4', 'swir16=5']) args.push('--band', `${band.split('=')[0]}=${sample}#${band.split('=')[1]}`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { env: { ...process.env, LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => {
      if (code !== 0) reject(new Error(`${entry} run exited ${code}:\n${stderr}\n${stdout}`));
      else resolve(lastJsonLine<RunSummary>(stdout));
    });
  });
}

async function pngHashes(summary: RunSummary): Promise<Record<string, string>> {
  const hashes: Record<string, string> = {};
  for (const index of ['ndvi', 'ndsi']) {
    const entry = summary.outputs[index];
    assert.ok(entry && typeof entry === 'object', `outputs.${index}`);
    hashes[`${index}.png`] = sha256(await readFile(entry.png));
    hashes[`${index}_color.png`] = sha256(await readFile(entry.colorPng));
  }
  return hashes;
}

test('the bundled CLI runs on its own and writes the same PNGs as the modules', async (t) => {
  const scratch = await mkdtemp(join(tmpdir(), 'tessera-bundle-'));
  t.after(() => rm(scratch, { recursive: true, force: true }));
  const alone = join(scratch, 'package');
  await mkdir(join(alone, 'dist', 'cli'), { recursive: true });
  await cp(join(root, 'package.json'), join(alone, 'package.json'));
  await cp(join(root, 'proto'), join(alone, 'proto'), { recursive: true });
  await symlink(join(root, 'node_modules'), join(alone, 'node_modules'));
  await cp(join(root, 'dist', 'cli', 'bin.js'), join(alone, 'dist', 'cli', 'bin.js'));
  await cp(join(root, 'dist', 'bundle'), join(alone, 'dist', 'bundle'), { recursive: true });

  const [bundled, modules] = await Promise.all([
    runSample(join(alone, 'dist', 'cli', 'bin.js'), join(scratch, 'bundled')),
    runSample(join(root, 'dist', 'cli', 'main.js'), join(scratch, 'modules')),
  ]);
  assert.equal(bundled.status, 'completed');
  assert.equal(modules.status, 'completed');
  assert.deepEqual(await pngHashes(bundled), await pngHashes(modules));
});
