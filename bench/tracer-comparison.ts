// The tracer comparison: the same workloads (exec storm, read storm, connect
// storm, CPU loop; smaller than the single-capture benches, to fit 4 sides × 4 rounds) untraced, under Sherlock's capture and under the matching
// bpftrace script on the same tracepoints, and under empty programs on the
// capture's own hooks (the kernel's dispatch alone: the floor no program on
// those hooks can go under), in rotating order (so drift hits every side),
// printing the ratios side by side. Without bpftrace (Debian:
// apt-get install bpftrace) the bpftrace column says so and the rest runs.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CaptureDefinition } from '../src/captures/capture.js';
import { execsnoop } from '../src/captures/execsnoop/index.js';
import { filetop } from '../src/captures/filetop/index.js';
import { profile } from '../src/captures/profile/index.js';
import { runCapture } from '../src/captures/run-capture.js';
import { tcpconnlat } from '../src/captures/tcpconnlat/index.js';
import { tcplife } from '../src/captures/tcplife/index.js';
import { compileEmptyPrograms, underEmptyPrograms } from './empty-programs.js';
import { ONE_BYTE_READS_C } from './filetop-overhead.js';
import { EXEC_STORM_C, runTimed, TempDir } from './processes.js';
import { CPU_WORK_C } from './profile-overhead.js';
import { CONNECT_STORM_C } from './tcpconnlat-overhead.js';
import { fmtRatio, kv, median, note, numericColumns, section, table } from './report.js';
import { processCpuMs } from './server-common.js';

// Four rounds by default: with four sides, each runs first, second, third and last once.
const ROUNDS = Number(process.env.SHERLOCK_TRACER_ROUNDS) || 4;
/** Workloads to run, by the first word of their name (exec, read, connect, CPU); all by default. */
const ONLY = process.env.SHERLOCK_TRACER_WORKLOADS?.toLowerCase().split(',').filter(Boolean);
const RUN_TIMEOUT_MS = 120_000;
const CAPTURE_BOUND_MS = 600_000; // aborted long before this
const BPFTRACE_START_MS = 30_000;

interface Workload {
  name: string;
  /** What the figure is, e.g. "ms wall". */
  unit: string;
  target: number;
  captures: CaptureDefinition<any, any>[];
  /** The bpftrace script doing the same job on the same tracepoints. */
  bpftrace: string;
  /** One run of the workload: its figure (lower is better). */
  run(): Promise<number>;
}

async function helperFigure(bin: string, args: string[], pick: (fields: number[]) => number): Promise<number> {
  const run = await runTimed(bin, args, { timeoutMs: RUN_TIMEOUT_MS });
  if (run.code !== 0) throw new Error(`${bin} failed: exit ${run.code ?? run.signal}, "${run.stdout.trim()}"`);
  return pick(run.stdout.trim().split(/\s+/).map(Number));
}

/**
 * CPU time (user + system, ms) of a helper and every child it waited for, by
 * GNU time: on a shared, loaded machine far steadier than wall time, and it
 * holds the tracing work done in the helper's context (tracepoints, BPF).
 */
async function helperCpu(dir: TempDir, bin: string, args: string[]): Promise<{ cpuMs: number; fields: number[] }> {
  const out = join(dir.path, 'time.out');
  const run = await runTimed('/usr/bin/time', ['-o', out, '-f', '%U %S', bin, ...args], { timeoutMs: RUN_TIMEOUT_MS });
  if (run.code !== 0) throw new Error(`${bin} failed: exit ${run.code ?? run.signal}, "${run.stdout.trim()}"`);
  const [user = Number.NaN, system = Number.NaN] = readFileSync(out, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
  return { cpuMs: (user + system) * 1000, fields: run.stdout.trim().split(/\s+/).map(Number) };
}

function workloads(dir: TempDir): Workload[] {
  const execStorm = dir.compileC('exec-storm', EXEC_STORM_C);
  const reads = dir.compileC('one-byte-reads', ONE_BYTE_READS_C);
  const connects = dir.compileC('connect-storm', CONNECT_STORM_C);
  const cpu = dir.compileC('cpu-work', CPU_WORK_C);
  const file = join(dir.path, 'data');
  writeFileSync(file, Buffer.alloc(1 << 20, 7));
  return [
    {
      name: 'exec storm: 500 fork+exec, CPU ms (helper + children)',
      unit: 'ms',
      target: 1.03,
      captures: [execsnoop],
      bpftrace: [
        'tracepoint:syscalls:sys_enter_execve { printf("%d %d %s ", pid, tid, comm); join(args->argv); }',
        'tracepoint:syscalls:sys_exit_execve { printf("%d ret %d\\n", pid, args->ret); }',
        'tracepoint:sched:sched_process_exit { printf("%d exit\\n", pid); }',
      ].join('\n'),
      run: async () => (await helperCpu(dir, execStorm, ['500'])).cpuMs,
    },
    {
      name: 'read storm: 2M one-byte reads, CPU ns/read',
      unit: 'ns',
      target: 1.15,
      captures: [filetop],
      bpftrace: [
        'tracepoint:syscalls:sys_enter_read { @fd[tid] = args->fd; }',
        'tracepoint:syscalls:sys_exit_read /@fd[tid]/ { if (args->ret > 0) { @bytes[pid, comm, @fd[tid]] = sum(args->ret); } delete(@fd[tid]); }',
        'END { clear(@fd); clear(@bytes); }',
      ].join('\n'),
      run: async () => {
        const { cpuMs, fields } = await helperCpu(dir, reads, [file, '2000000', '60000']);
        return (cpuMs * 1e6) / (fields[0] || 1); // the helper prints the reads it made
      },
    },
    {
      name: 'connect storm: 20k loopback connects, helper CPU ms',
      unit: 'ms',
      target: 1.05,
      captures: [tcpconnlat, tcplife],
      bpftrace: [
        'tracepoint:sock:inet_sock_set_state /args->newstate == 2/ { @start[args->skaddr] = nsecs; }',
        'tracepoint:sock:inet_sock_set_state /args->oldstate == 2 && @start[args->skaddr]/ { @us = hist((nsecs - @start[args->skaddr]) / 1000); delete(@start[args->skaddr]); }',
        'tracepoint:sock:inet_sock_set_state /args->newstate == 7/ { @life[pid, comm] = count(); }',
        'END { clear(@start); clear(@us); clear(@life); }',
      ].join('\n'),
      run: () => helperFigure(connects, ['20000', '60000'], (f) => (f[4] ?? 0) / 1e6),
    },
    {
      name: 'CPU loop under a 99 Hz profile, CPU ms',
      unit: 'ms',
      target: 1.01,
      captures: [profile],
      bpftrace: 'profile:hz:99 { @[kstack, ustack, pid, comm] = count(); }\nEND { clear(@); }',
      run: () => helperFigure(cpu, ['200'], ([us = 0]) => us / 1000),
    },
  ];
}

/** CPU ms this process has used (user + system, all threads). */
const ownCpuMs = (): number => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};

/** The workload's figure and the CPU ms the tracer's own process spent meanwhile. */
interface TracedRun {
  figure: number;
  tracerCpuMs: number;
}

/** The workload with Sherlock's captures live (whole host), as `sherlock capture` runs them; its own CPU is this process's. */
async function underSherlock(w: Workload): Promise<TracedRun & { dropped: number }> {
  const abort = new AbortController();
  let pending = w.captures.length;
  let markLive = () => {};
  const live = new Promise<void>((resolve) => (markLive = resolve));
  const runs = w.captures.map((def) =>
    runCapture(def, { durationMs: CAPTURE_BOUND_MS, signal: abort.signal, onLive: () => void (--pending === 0 && markLive()) }),
  );
  const ended = Promise.allSettled(runs);
  let figure = Number.NaN;
  let tracerCpuMs = Number.NaN;
  let failure: unknown;
  try {
    await Promise.race([live, ended.then(() => Promise.reject(new Error(`${w.captures.map((c) => c.name).join('+')} ended before live`)))]);
    const cpuBefore = ownCpuMs();
    figure = await w.run();
    tracerCpuMs = ownCpuMs() - cpuBefore;
  } catch (err) {
    failure = err;
  }
  abort.abort();
  const results = await ended;
  const rejected = results.find((r) => r.status === 'rejected');
  if (failure) throw failure;
  if (rejected) throw (rejected as PromiseRejectedResult).reason;
  const dropped = results.reduce((n, r) => n + (r.status === 'fulfilled' ? r.value.dropped : 0), 0);
  return { figure, tracerCpuMs, dropped };
}

/** The workload under bpftrace running `script`; its output is read and thrown away, as a terminal would. */
async function underBpftrace(w: Workload): Promise<TracedRun> {
  const tracer: ChildProcess = spawn('bpftrace', ['-e', w.bpftrace], { stdio: ['ignore', 'pipe', 'pipe'] });
  let errors = '';
  tracer.stderr!.setEncoding('utf8').on('data', (chunk: string) => (errors += chunk));
  const exited = new Promise<void>((resolve) => tracer.once('exit', () => resolve()));
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`bpftrace did not attach within ${BPFTRACE_START_MS} ms: ${errors.trim()}`)), BPFTRACE_START_MS);
      tracer.once('error', reject);
      void exited.then(() => reject(new Error(`bpftrace exited: ${errors.trim().split('\n').slice(-3).join('; ')}`)));
      tracer.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
        if (chunk.includes('Attaching')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    // bpftrace's own CPU (10 ms ticks); NaN if it is gone.
    const cpuOf = () => (tracer.exitCode === null ? processCpuMs(tracer.pid!) : Number.NaN);
    const cpuBefore = cpuOf();
    const figure = await w.run();
    return { figure, tracerCpuMs: cpuOf() - cpuBefore };
  } finally {
    if (tracer.exitCode === null) tracer.kill('SIGINT');
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 10_000))]);
    if (tracer.exitCode === null) tracer.kill('SIGKILL');
  }
}

function bpftraceMissing(): string | undefined {
  const probe = spawnSync('bpftrace', ['--version'], { encoding: 'utf8' });
  return probe.error ? 'bpftrace is not installed (Debian: apt-get install bpftrace); its column is left empty' : undefined;
}

export async function tracerComparison(): Promise<void> {
  const dir = new TempDir('tracers');
  const missing = bpftraceMissing();
  if (missing) note(missing);
  const rows: string[][] = [];
  try {
    for (const w of workloads(dir).filter((w) => !ONLY || ONLY.includes(w.name.split(' ')[0]!.toLowerCase()))) {
      await w.run(); // warm-up: page cache, binaries
      const floorObject = compileEmptyPrograms(dir, 'floor', w.captures);
      const base: number[] = [];
      const benchCpu: number[] = []; // this process's own CPU over an untraced run: spawning and waiting
      const floor: number[] = [];
      const sherlock: number[] = [];
      const sherlockCpu: number[] = [];
      const bpftrace: number[] = [];
      const bpftraceCpu: number[] = [];
      let dropped = 0;
      const sides = [
        async () => {
          const cpuBefore = ownCpuMs();
          base.push(await w.run());
          benchCpu.push(ownCpuMs() - cpuBefore);
        },
        async () => floor.push(await underEmptyPrograms(floorObject, w.captures, () => w.run())),
        async () => {
          const r = await underSherlock(w);
          sherlock.push(r.figure);
          sherlockCpu.push(r.tracerCpuMs);
          dropped += r.dropped;
        },
        ...(missing
          ? []
          : [
              async () => {
                const r = await underBpftrace(w);
                bpftrace.push(r.figure);
                bpftraceCpu.push(r.tracerCpuMs);
              },
            ]),
      ];
      for (let round = 0; round < ROUNDS; round++) {
        // Rotating order, so drift hits every side alike.
        for (let i = 0; i < sides.length; i++) await sides[(round + i) % sides.length]!();
      }
      const b = median(base);
      const f = median(floor) / b;
      const s = median(sherlock) / b;
      const t = bpftrace.length ? median(bpftrace) / b : Number.NaN;
      const ownS = Math.max(0, median(sherlockCpu) - median(benchCpu));
      const ownT = bpftraceCpu.length ? median(bpftraceCpu) : Number.NaN;
      rows.push([
        w.name,
        `${b.toFixed(w.unit === 'ns' ? 0 : 1)} ${w.unit}`,
        fmtRatio(f),
        fmtRatio(s),
        Number.isNaN(t) ? '—' : fmtRatio(t),
        `≤${w.target.toFixed(2)}×`,
        s <= w.target ? 'yes' : 'NO',
        Number.isNaN(t) ? '—' : s <= t ? 'yes' : 'NO',
        String(dropped),
        `${ownS.toFixed(0)} ms`,
        Number.isNaN(ownT) ? '—' : `${ownT.toFixed(0)} ms`,
      ]);
      kv(
        w.name,
        `untraced ${b.toFixed(1)}, empty programs ${fmtRatio(f)}, Sherlock ${fmtRatio(s)}, bpftrace ${Number.isNaN(t) ? '—' : fmtRatio(t)}; ` +
          `tracer's own CPU per run: Sherlock ${ownS.toFixed(0)} ms, bpftrace ${Number.isNaN(ownT) ? '—' : `${ownT.toFixed(0)} ms`}`,
      );
    }
  } finally {
    dir.remove();
  }
  section(`medians of ${ROUNDS} rounds per side, rotating order; ratios to untraced`);
  table(
    [
      'workload',
      'untraced',
      'empty programs',
      'Sherlock',
      'bpftrace',
      'target',
      'met',
      'ahead of bpftrace',
      'Sherlock drops',
      'Sherlock own CPU',
      'bpftrace own CPU',
    ],
    rows,
    numericColumns(5),
  );
  note(
    'Sherlock: the same captures `sherlock capture` runs, whole host; connect storm: tcpconnlat + tcplife (bpftrace: the same histogram plus a per-process close count).',
  );
  note(
    "own CPU: what the tracer's process spent in one run of the workload (Sherlock: this process, less its CPU over an untraced run; bpftrace: its process, 10 ms ticks); the ratios count only the workload's CPU.",
  );
  note(
    "empty programs: one empty BPF program on each hook Sherlock's captures attach to, i.e. the kernel's dispatch alone; a target under it cannot be met on those hooks, and Sherlock minus it is its programs' own work.",
  );
}
