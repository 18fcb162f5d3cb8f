import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseChildren, parseCmdline, parseStat, parseStatus } from '../../bench/proc-parse.js';
import { ProcessSampler, defaultRole } from '../../bench/process-sampler.js';
import { runSampled } from '../../bench/sampled-run.js';

/** A /proc/<pid>/stat line as Linux writes it (52 fields), with the given command name and figures. */
function statLine(pid: number, comm: string, ppid: number, utime: number, stime: number, start = 148801, state = 'S'): string {
  return `${pid} (${comm}) ${state} ${ppid} 19299 8433 0 -1 4194304 102 0 0 0 ${utime} ${stime} 7 3 20 0 1 0 ${start} 3133440 384 18446744073709551615 94770072391680 94770072411561 140720870594272 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0 94770072427568 94770072429184 94770717732864 140720870599394 140720870599414 140720870599414 140720870600683 0\n`;
}

const STATUS = 'Name:\tnode\nUmask:\t0022\nState:\tS (sleeping)\nPid:\t42\nVmPeak:\t 1234567 kB\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\nThreads:\t11\n';
const ZOMBIE_STATUS = 'Name:\tnode\nState:\tZ (zombie)\nPid:\t42\nThreads:\t1\n';

describe('/proc parsing', () => {
  it('reads stat fields after the last parenthesis, whatever the command name holds', () => {
    for (const comm of ['node', 'tessera worker', 'a) (b', ') S 99 (', '((x))', '']) {
      const stat = parseStat(statLine(4242, comm, 17, 1234, 56));
      assert.deepEqual(stat, { pid: 4242, comm, state: 'S', ppid: 17, utimeTicks: 1234, stimeTicks: 56, childrenTicks: 10, startTicks: 148801 });
    }
  });

  it('refuses text that is not a stat line', () => {
    assert.throws(() => parseStat('no parentheses here'), /not a \/proc/);
    assert.throws(() => parseStat('12 (x) S'), /field 4 is not a number/);
  });

  it('reads peak and current RSS from status, and none for a zombie', () => {
    assert.deepEqual(parseStatus(STATUS), { peakRssBytes: 204800 * 1024, rssBytes: 102400 * 1024 });
    assert.deepEqual(parseStatus(ZOMBIE_STATUS), { peakRssBytes: null, rssBytes: null });
  });

  it('splits cmdline on NUL and children on spaces', () => {
    assert.deepEqual(parseCmdline(Buffer.from('node\0/x/dist/cli/bin.js\0worker\0')), ['node', '/x/dist/cli/bin.js', 'worker']);
    assert.deepEqual(parseCmdline(new Uint8Array(0)), []);
    assert.deepEqual(parseChildren('12 345 \n'), [12, 345]);
    assert.deepEqual(parseChildren(''), []);
  });

  it('labels interpreters by their script, and code on the command line by the interpreter', () => {
    const role = (...args: string[]): string => defaultRole({ pid: 1, args, comm: 'x', isRoot: false });
    assert.equal(role('/usr/bin/python3', '/usr/bin/gdal_calc.py', '-A', 'a.tif'), 'gdal_calc.py');
    assert.equal(role('/usr/bin/gdalwarp', '-tr', '10', '10'), 'gdalwarp');
    assert.equal(role('node', '--enable-source-maps', 'dist/cli/bin.js', 'worker'), 'bin.js');
    assert.equal(role('node', '-e', 'console.log(1)'), 'node');
    assert.equal(defaultRole({ pid: 1, args: [], comm: 'kworker/0:1', isRoot: false }), 'kworker/0:1');
  });
});

describe('ProcessSampler', () => {
  const dirs: string[] = [];
  after(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

  /** A fake /proc: each process with stat, status, cmdline and (optionally) task/<pid>/children. */
  function fakeProc(processes: Array<{ pid: number; ppid: number; args: string[]; utime: number; hwmKb: number; children?: number[] }>, childrenFiles: boolean): string {
    const root = mkdtempSync(join(tmpdir(), 'fake-proc-'));
    dirs.push(root);
    for (const p of processes) {
      const dir = join(root, String(p.pid));
      mkdirSync(join(dir, 'task', String(p.pid)), { recursive: true });
      writeFileSync(join(dir, 'stat'), statLine(p.pid, 'node', p.ppid, p.utime, 10));
      writeFileSync(join(dir, 'status'), `Name:\tnode\nVmHWM:\t${p.hwmKb} kB\nVmRSS:\t1 kB\n`);
      writeFileSync(join(dir, 'cmdline'), `${p.args.join('\0')}\0`);
      if (childrenFiles) writeFileSync(join(dir, 'task', String(p.pid), 'children'), (p.children ?? []).join(' '));
    }
    return root;
  }

  const tree = [
    { pid: 100, ppid: 1, args: ['node', 'dist/cli/bin.js', 'run'], utime: 190, hwmKb: 300_000, children: [101, 102] },
    { pid: 101, ppid: 100, args: ['node', 'dist/cli/bin.js', 'worker'], utime: 490, hwmKb: 200_000 },
    { pid: 102, ppid: 100, args: ['node', 'dist/cli/bin.js', 'worker'], utime: 290, hwmKb: 100_000 },
    { pid: 200, ppid: 1, args: ['unrelated'], utime: 1, hwmKb: 1 },
  ];
  const roleOf = ({ args, isRoot }: { args: readonly string[]; isRoot: boolean }): string => (isRoot ? 'master' : args.includes('worker') ? 'worker' : 'other');

  for (const childrenFiles of [true, false]) {
    it(`finds the root's descendants ${childrenFiles ? 'through task/*/children' : 'by scanning parent ids'}`, () => {
      const sampler = new ProcessSampler(100, { procRoot: fakeProc(tree, childrenFiles), clockTicks: 100, roleOf });
      sampler.sample();
      const report = sampler.report();
      const byPid = new Map(report.processes.map((p) => [p.pid, p]));
      assert.deepEqual([...byPid.keys()].sort(), [100, 101, 102]);
      assert.equal(byPid.get(100)?.role, 'master');
      assert.equal(byPid.get(101)?.role, 'worker');
      assert.equal(byPid.get(101)?.cpuSeconds, 5); // (490 + 10) ticks / 100
      assert.equal(byPid.get(102)?.peakRssBytes, 100_000 * 1024);
    });
  }

  it('keeps the last figures of a process that has gone', () => {
    const proc = fakeProc(tree, true);
    const sampler = new ProcessSampler(100, { procRoot: proc, clockTicks: 100, roleOf });
    sampler.sample();
    rmSync(join(proc, '101'), { recursive: true });
    sampler.sample();
    const gone = sampler.report().processes.find((p) => p.pid === 101);
    assert.equal(gone?.cpuSeconds, 5);
    assert.equal(gone?.peakRssBytes, 200_000 * 1024);
  });

  it('sees the peak RSS and CPU of a real child that allocates ~200 MB and burns a CPU second', async () => {
    const script = [
      'const b = Buffer.alloc(200 * 1024 * 1024, 1);',
      // Checking the clock every 100k steps, so the check itself costs no system time.
      'let x = 0; for (let i = 1; i % 1e5 !== 0 || process.cpuUsage().user < 1e6; i++) x += Math.sqrt(i + b[i % b.length]);',
      'setTimeout(() => console.log(x > 0), 200);',
    ].join('\n');
    const run = await runSampled({ command: process.execPath, args: ['-e', script] });
    assert.equal(run.code, 0, run.stderrTail);
    const [root, ...others] = run.processes;
    assert.equal(others.length, 0);
    assert.equal(root?.role, 'node');
    const mb = (root?.peakRssBytes ?? 0) / 2 ** 20;
    assert.ok(mb > 200 && mb < 400, `peak RSS ${mb.toFixed(0)} MB`);
    assert.ok((root?.cpuSeconds ?? 0) >= 0.9 && (root?.cpuSeconds ?? 0) < 3, `CPU ${root?.cpuSeconds} s`);
    assert.ok(run.treeCpuSeconds !== null && Math.abs(run.treeCpuSeconds - (root?.cpuSeconds ?? 0)) < 0.3, `kernel says ${run.treeCpuSeconds} s`);
    assert.ok(run.wallMs >= 1000 * (root?.cpuSeconds ?? 0) * 0.5);
  });

  it('follows grandchildren', async () => {
    const grandchild = 'const t = Date.now(); while (Date.now() - t < 400);';
    const script = `require('node:child_process').spawnSync(process.execPath, ['-e', ${JSON.stringify(grandchild)}], { stdio: 'inherit' });`;
    const run = await runSampled({ command: process.execPath, args: ['-e', script] });
    assert.equal(run.code, 0, run.stderrTail);
    assert.equal(run.processes.length, 2);
    assert.equal(run.processes[1]?.ppid, run.processes[0]?.pid);
    assert.ok((run.processes[1]?.cpuSeconds ?? 0) > 0.1);
  });

  it('reports a command that cannot start', async () => {
    const run = await runSampled({ command: '/nonexistent/command', args: [] });
    assert.match(run.error ?? '', /ENOENT/);
    assert.equal(run.code, null);
  });
});
