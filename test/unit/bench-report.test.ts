import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatFigure, numericEntries, requestFigures } from '../../bench/figures.js';
import { parseFullSceneArgs } from '../../bench/full-scene-args.js';
import { formatReport, type BenchmarkResults } from '../../bench/full-scene-report.js';
import type { ProcessRecord } from '../../bench/process-sampler.js';
import type { SampledRun } from '../../bench/sampled-run.js';
import type { SceneFiles } from '../../bench/scene/scene-cache.js';
import { sceneSpec } from '../../bench/scene/spec.js';
import type { TesseraRun } from '../../bench/tessera-run.js';

describe('request figures', () => {
  it('takes every number under timings, tiles and strips, whatever the names', () => {
    const summary = {
      id: '1',
      tilesTotal: 121,
      timings: { openMs: 12, nested: { decodeMs: 1500 }, note: 'text' },
      strips: { count: 11, shippedBytes: 2_500_000 },
      workerTiles: { 'worker-a': 60, 'worker-b': 61 },
      outputs: { ndvi: { png: '/x.png' } },
    };
    assert.deepEqual(requestFigures(summary, 'summary'), [
      ['summary.tilesTotal', 121],
      ['summary.timings.openMs', 12],
      ['summary.timings.nested.decodeMs', 1500],
      ['summary.strips.count', 11],
      ['summary.strips.shippedBytes', 2_500_000],
      ['summary.workerTiles (per worker)', '61 / 60'],
    ]);
    assert.deepEqual(requestFigures(null, 'manifest'), []);
    assert.deepEqual(numericEntries([1, 2], 'x'), []);
    assert.equal(formatFigure('a.decodeMs', 1500), '1.50 s');
    assert.equal(formatFigure('payloadBytes', 2_500_000), '2.5 MB');
    assert.equal(formatFigure('total', 121), '121');
  });
});

describe('full-scene arguments', () => {
  it('has defaults, and says what is wrong', () => {
    const args = parseFullSceneArgs([]);
    assert.equal(args.spec.name, 'full');
    assert.deepEqual(args.workers, [1, 2]);
    assert.equal(args.b11, 'warp');
    const small = parseFullSceneArgs(['--scene', 'small', '--size', '4096', '--workers', '1,2,3', '--skip-gdal']);
    assert.equal(small.spec.name, 'small-4096x4096');
    assert.deepEqual(small.workers, [1, 2, 3]);
    assert.equal(small.skipGdal, true);
    assert.throws(() => parseFullSceneArgs(['--scene', 'huge']), /--scene must be one of full, wide, small/);
    assert.throws(() => parseFullSceneArgs(['--workers', '1,x']), /--workers must be/);
    assert.throws(() => parseFullSceneArgs(['--gdal-b11', 'cubic']), /--gdal-b11 must be warp or vrt/);
    assert.throws(() => parseFullSceneArgs(['--bogus']), /Unknown option/);
  });
});

describe('full-scene report', () => {
  const proc = (role: string, rssMb: number, cpu: number): ProcessRecord => ({ pid: 1, ppid: 0, role, command: role, peakRssBytes: rssMb * 1e6, cpuSeconds: cpu, firstSeenMs: 0, lastSeenMs: 1 });
  const sampled = (wallMs: number, processes: ProcessRecord[], code = 0): SampledRun => ({ command: 'x', args: [], code, signal: null, wallMs, stdout: '', stderrTail: '', error: null, processes, treeCpuSeconds: null });
  const tessera = (workers: number, wallMs: number, processes: ProcessRecord[], hash: string): TesseraRun => ({
    workers,
    run: sampled(wallMs, processes),
    ok: true,
    failure: null,
    summary: { timings: { totalMs: wallMs - 1000 } },
    manifest: { tiles: { payloadBytes: 5e8 } },
    pngHashes: { 'ndvi.png': hash },
    greyPngs: {},
  });
  const scene: SceneFiles = { spec: sceneSpec('full'), dir: '/c', stamp: 'abc', bands: { red: 'r', nir: 'n', green: 'g', swir16: 's' }, bytes: { B03: 1.6e8, B04: 1.6e8, B08: 1.6e8, B11: 4e7 }, totalBytes: 5.2e8, buildSeconds: 30, builtAt: 'then' };

  it('shows the figures, the targets met and not, and a failed run', () => {
    const results: BenchmarkResults = {
      scene,
      machine: 'Machine: test.',
      gdal: { ok: true, wallMs: 100_000, outputs: {}, steps: [{ name: 'ndvi: gdal_calc.py', run: sampled(100_000, [proc('gdal_calc.py', 300, 90)]) }] },
      tessera: [
        tessera(1, 20_000, [proc('master', 350, 2), proc('worker', 300, 18)], 'aaa'),
        tessera(2, 9_000, [proc('master', 390, 2), proc('worker', 300, 9), proc('worker', 410, 9)], 'aaa'),
        { ...tessera(3, 5_000, [], 'x'), ok: false, failure: 'exit 1' },
      ],
      crossChecks: [{ workers: 1, index: 'ndvi', result: { pixels: 100, equal: 99, withinOne: 100, nodataMismatch: 0, maxDifference: 1, sameGeoTransform: true } }],
    };
    const report = formatReport(results);
    assert.match(report, /\| tessera, 2 workers \| 9\.0 s \| 20\.0 s \| 2\.0 s \| 10\.00 % \| 410 MB \(worker\) \|/);
    assert.match(report, /\| 11\.11× \|/);
    assert.match(report, /best 11\.11× — met/);
    assert.match(report, /tessera, 1 worker: every process ≤ 400 MB: largest 350 MB \(master\) — met; master ≤ 15 % of CPU: 10\.00 % — met; workers one master could feed .*: 9/);
    assert.match(report, /tessera, 2 workers: every process ≤ 400 MB: largest 410 MB \(worker\) — \*\*NOT met\*\*/);
    assert.match(report, /tessera, 3 workers \| FAILED after 5\.0 s: exit 1/);
    assert.match(report, /\| manifest\.tiles\.payloadBytes \| 500\.0 MB \| 500\.0 MB \|/);
    assert.match(report, /identical\*\*, byte for byte/);
    assert.match(report, /ndvi \(1 worker\): 99\.00 % of 100 pixels equal, 100\.00 % within ±1 code/);
  });

  it('says when outputs differ between worker counts, and when GDAL was skipped', () => {
    const report = formatReport({
      scene,
      machine: '',
      gdal: { skipped: '--skip-gdal' },
      tessera: [tessera(1, 1000, [proc('master', 1, 1)], 'aaa'), tessera(2, 1000, [proc('master', 1, 1)], 'bbb')],
      crossChecks: [],
    });
    assert.match(report, /\*\*differ\*\* in ndvi\.png/);
    assert.match(report, /GDAL peer \| skipped: --skip-gdal/);
    assert.match(report, /speed-up over GDAL: not measured/);
  });
});
