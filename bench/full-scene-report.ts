/** The full-scene benchmark's Markdown: wall, CPU and memory per run and process, stage figures, targets, output checks. */
import type { IndexName } from '../shared/types.js';
import { formatFigure, megabytes, requestFigures, seconds } from './figures.js';
import { percent, type CrossCheckResult } from './gdal-cross-check.js';
import type { GdalPeerResult } from './gdal-peer.js';
import type { ProcessRecord } from './process-sampler.js';
import { maxPeakRssBytes, totalCpuSeconds } from './sampled-run.js';
import type { SceneFiles } from './scene/scene-cache.js';
import type { TesseraRun } from './tessera-run.js';

export const TARGETS = { speedup: 10, peakRssBytes: 400e6, masterShare: 0.15 } as const;

export interface BenchmarkResults {
  readonly scene: SceneFiles;
  readonly machine: string;
  readonly gdal: GdalPeerResult | { readonly skipped: string };
  readonly tessera: readonly TesseraRun[];
  readonly crossChecks: ReadonlyArray<{ readonly workers: number; readonly index: IndexName; readonly result: CrossCheckResult }>;
}

const workersText = (n: number): string => `${n} worker${n === 1 ? '' : 's'}`;
const label = (run: TesseraRun): string => `tessera, ${workersText(run.workers)}`;
const cpu = (s: number): string => `${s.toFixed(1)} s`;
const byRole = (processes: readonly ProcessRecord[], role: string): ProcessRecord[] => processes.filter((p) => p.role === role);

function perProcess(processes: readonly ProcessRecord[]): string {
  return processes.map((p) => `${p.role} ${megabytes(p.peakRssBytes)} / ${cpu(p.cpuSeconds)}`).join('; ');
}

function largest(processes: readonly ProcessRecord[]): string {
  const top = [...processes].sort((a, b) => b.peakRssBytes - a.peakRssBytes)[0];
  return top ? `${megabytes(top.peakRssBytes)} (${top.role})` : '–';
}

function gdalOk(gdal: BenchmarkResults['gdal']): gdal is GdalPeerResult {
  return 'steps' in gdal && gdal.ok;
}

function runsTable(results: BenchmarkResults): string[] {
  const lines = [
    '| run | wall | CPU, all processes | master CPU | master share | largest peak RSS | per process: peak RSS / CPU | GDAL wall ÷ run wall |',
    '|---|---|---|---|---|---|---|---|',
  ];
  const gdalWall = gdalOk(results.gdal) ? results.gdal.wallMs : null;
  if ('steps' in results.gdal) {
    const processes = results.gdal.steps.flatMap((s) => s.run.processes);
    const status = results.gdal.ok ? '' : ' (FAILED)';
    lines.push(`| GDAL peer, ${results.gdal.steps.length} steps in turn${status} | ${seconds(results.gdal.wallMs)} | ${cpu(totalCpuSeconds(processes))} | – | – | ${largest(processes)} | ${perProcess(processes)} | 1× |`);
  } else {
    lines.push(`| GDAL peer | skipped: ${results.gdal.skipped} | | | | | | |`);
  }
  for (const run of results.tessera) {
    if (!run.ok) {
      lines.push(`| ${label(run)} | FAILED after ${seconds(run.run.wallMs)}: ${run.failure ?? ''} | | | | | | |`);
      continue;
    }
    const processes = run.run.processes;
    const total = totalCpuSeconds(processes);
    const master = totalCpuSeconds(byRole(processes, 'master'));
    const kernel = run.run.treeCpuSeconds;
    const kernelNote = kernel !== null && Math.abs(kernel - total) > 0.05 * total ? ` (kernel: ${cpu(kernel)})` : '';
    const ratio = gdalWall === null ? '–' : `${(gdalWall / run.run.wallMs).toFixed(2)}×`;
    lines.push(
      `| ${label(run)} | ${seconds(run.run.wallMs)} | ${cpu(total)}${kernelNote} | ${cpu(master)} | ${percent(master, total)} | ${largest(processes)} | ${perProcess(processes)} | ${ratio} |`,
    );
  }
  return lines;
}

function gdalStepsTable(gdal: GdalPeerResult): string[] {
  const lines = ['| GDAL step | wall | CPU | peak RSS | command |', '|---|---|---|---|---|'];
  for (const { name, run } of gdal.steps) {
    const command = [run.command, ...run.args].map((a) => (/[\s()|<>=*]/.test(a) && !a.startsWith('--') ? `'${a}'` : a)).join(' ');
    const failed = run.code === 0 ? '' : ` FAILED (${run.error ?? `exit ${run.code ?? run.signal}`})`;
    lines.push(`| ${name}${failed} | ${seconds(run.wallMs)} | ${cpu(totalCpuSeconds(run.processes))} | ${megabytes(maxPeakRssBytes(run.processes))} | \`${command.replaceAll('|', '\\|')}\` |`);
  }
  return lines;
}

function figuresTable(runs: readonly TesseraRun[]): string[] {
  const ok = runs.filter((r) => r.ok);
  if (ok.length === 0) return [];
  const columns = ok.map((run) => new Map([...requestFigures(run.summary, 'summary'), ...requestFigures(run.manifest, 'manifest')]));
  const names = [...new Set(columns.flatMap((c) => [...c.keys()]))];
  return [
    `| figure (as the request reports it) | ${ok.map(label).join(' | ')} |`,
    `|---|${ok.map(() => '---').join('|')}|`,
    ...names.map((name) => `| ${name} | ${columns.map((c) => (c.has(name) ? formatFigure(name, c.get(name)!) : '–')).join(' | ')} |`),
  ];
}

function targets(results: BenchmarkResults): string[] {
  const ok = results.tessera.filter((r) => r.ok);
  const lines: string[] = [];
  const verdict = (met: boolean): string => (met ? 'met' : '**NOT met**');
  const gdal = results.gdal;
  if (gdalOk(gdal) && ok.length > 0) {
    const best = Math.max(...ok.map((r) => gdal.wallMs / r.run.wallMs));
    lines.push(`- ≥ ${TARGETS.speedup}× faster than the GDAL peer (wall): best ${best.toFixed(2)}× — ${verdict(best >= TARGETS.speedup)}`);
  } else {
    lines.push('- speed-up over GDAL: not measured (no GDAL peer, or no successful run)');
  }
  for (const run of ok) {
    const processes = run.run.processes;
    const peak = maxPeakRssBytes(processes);
    const total = totalCpuSeconds(processes);
    const master = totalCpuSeconds(byRole(processes, 'master'));
    const workers = totalCpuSeconds(byRole(processes, 'worker'));
    const feed = master > 0 ? Math.floor(workers / master) : Infinity;
    lines.push(
      `- ${label(run)}: every process ≤ ${megabytes(TARGETS.peakRssBytes)}: largest ${largest(processes)} — ${verdict(peak <= TARGETS.peakRssBytes)}; ` +
        `master ≤ ${TARGETS.masterShare * 100} % of CPU: ${percent(master, total)} — ${verdict(master <= TARGETS.masterShare * total)}; ` +
        `workers one master could feed (worker CPU ÷ master CPU, rounded down): ${feed}`,
    );
    const request = requestCpu(run.manifest);
    if (request) {
      const share = request.master / (request.master + request.workers);
      lines.push(
        `  - the request alone (the manifest's masterCpuMs and workerCpuMs, no process start-up): master ${(request.master / 1000).toFixed(2)} s of ` +
          `${((request.master + request.workers) / 1000).toFixed(2)} s, ${(100 * share).toFixed(2)} % — ${verdict(share <= TARGETS.masterShare)}; ` +
          `workers one long-running master could feed: ${Math.floor(request.workers / request.master)}`,
      );
    }
  }
  return lines;
}

/** The request's own CPU accounting (master process during the strips; the workers' per-tile reports). */
function requestCpu(manifest: Record<string, unknown> | null): { master: number; workers: number } | null {
  const timings = manifest?.['timings'];
  if (typeof timings !== 'object' || timings === null) return null;
  const { masterCpuMs, workerCpuMs } = timings as Record<string, unknown>;
  return typeof masterCpuMs === 'number' && typeof workerCpuMs === 'number' && masterCpuMs > 0 ? { master: masterCpuMs, workers: workerCpuMs } : null;
}

function outputChecks(results: BenchmarkResults): string[] {
  const ok = results.tessera.filter((r) => r.ok);
  const lines: string[] = [];
  if (ok.length < 2) {
    lines.push('- outputs across worker counts: fewer than two successful runs, nothing to compare');
  } else {
    const files = [...new Set(ok.flatMap((r) => Object.keys(r.pngHashes)))].sort();
    const differing = files.filter((file) => new Set(ok.map((r) => r.pngHashes[file] ?? 'missing')).size > 1);
    lines.push(
      differing.length === 0
        ? `- outputs across worker counts (${ok.map((r) => r.workers).join(', ')}): **identical**, byte for byte (sha256 of ${files.join(', ')})`
        : `- outputs across worker counts: **differ** in ${differing.join(', ')} (${ok.map((r) => `${r.workers} workers: ${differing.map((f) => (r.pngHashes[f] ?? 'missing').slice(0, 12)).join(', ')}`).join('; ')})`,
    );
  }
  for (const { workers, index, result } of results.crossChecks) {
    lines.push(
      'error' in result
        ? `- GDAL cross-check, ${index} (${workersText(workers)}): could not compare: ${result.error}`
        : `- GDAL cross-check, ${index} (${workersText(workers)}): ${percent(result.equal, result.pixels)} of ${result.pixels} pixels equal, ` +
            `${percent(result.withinOne, result.pixels)} within ±1 code; no-data differs at ${result.nodataMismatch}; largest difference ${result.maxDifference}; ` +
            `georeferencing ${result.sameGeoTransform ? 'the same' : '**differs**'}`,
    );
  }
  return lines;
}

export function formatReport(results: BenchmarkResults): string {
  const { scene } = results;
  const figures = figuresTable(results.tessera);
  const sizes = scene.spec.bands.map((b) => `${b.id} ${b.width}×${b.height} ${megabytes(scene.bytes[b.id] ?? 0)}`).join(', ');
  const sections = [
    `## Full-scene benchmark: scene \`${scene.spec.name}\``,
    '',
    `Scene: ${sizes}; ${megabytes(scene.totalBytes)} in all. Request: NDVI + NDSI, reflectance offset ${scene.spec.reflectanceOffset}. ${results.machine}`,
    '',
    ...runsTable(results),
    '',
    'Wall: from spawning the command to its exit (for tessera the embedded database\'s start and stop included; the request\'s own ' +
      'time is its `totalMs` below). CPU and peak RSS (VmHWM) per process from /proc, sampled every 50 ms; MB = 10⁶ bytes.',
    ...('steps' in results.gdal ? ['', ...gdalStepsTable(results.gdal)] : []),
    '',
    ...(figures.length > 0 ? [...figures, ''] : []),
    '### Targets',
    ...targets(results),
    '',
    '### Outputs',
    ...outputChecks(results),
  ];
  return `${sections.join('\n')}\n`;
}
