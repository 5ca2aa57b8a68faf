// The processes the evaluation injects, and how to read what they did from
// outside Sherlock (/proc, their own counters, nftables counters): the
// number a finding must match.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Finding } from '../../src/analysis/types.js';
import { projectRoot } from '../../src/util/paths.js';

export const programsDir = join(projectRoot, 'test', 'eval', 'programs');

const children = new Set<ChildProcess>();

/** A child the suite kills at the end if it is still running. Python writes no bytecode next to the programs (their shared served.py). */
export function startChild(file: string, args: string[], env: NodeJS.ProcessEnv = process.env): ChildProcess {
  const child = spawn(file, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...env, PYTHONDONTWRITEBYTECODE: '1' } });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-2000)));
  child.once('exit', (code, signal) => {
    children.delete(child);
    if (code && code !== 0 && !signal) process.stderr.write(`${file} exited ${code}: ${stderr}\n`);
  });
  children.add(child);
  return child;
}

/** A program's own children (its load generator, its helpers), by pid. */
export const childrenOf = (pid: number): number[] => readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean).map(Number);

/** The one of `pids` named `comm` (PR_SET_NAME). */
export const named = (pids: number[], comm: string): number | undefined => pids.find((pid) => readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === comm);

export function killChildren(): void {
  for (const child of children) child.kill('SIGKILL');
  children.clear();
}

/** A node script as a child process (comm "node"). */
export const startNodeScript = (script: string) => startChild(process.execPath, ['-e', script]);

/** CPU seconds a process has used (utime + stime). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in USER_HZ
}

/** A number a program keeps in a file (0 before it wrote one). */
export function counterIn(file: string): number {
  try {
    return Number(readFileSync(file, 'utf8').trim()) || 0;
  } catch {
    return 0;
  }
}

/** Compiles a C program of test/eval/programs with symbols and frame pointers. */
export function compileC(source: string, out: string): void {
  execFileSync('cc', ['-O1', '-g', '-fno-omit-frame-pointer', '-o', out, join(programsDir, source)]);
}

// ---- reading findings ----------------------------------------------------

/** Every pid/ppid a finding's evidence names (its rows and examples too; not the steps it absorbed: those are other processes). */
export function pidsOf(f: Finding): Set<number> {
  const out = new Set<number>();
  const walk = (v: unknown, depth: number) => {
    if (depth > 3 || !v || typeof v !== 'object') return;
    if (Array.isArray(v)) return v.forEach((x) => walk(x, depth + 1));
    for (const [k, x] of Object.entries(v)) {
      if (k === 'steps' || k === 'sameCause') continue;
      if ((k === 'pid' || k === 'ppid') && typeof x === 'number' && x > 0) out.add(x);
      else walk(x, depth + 1);
    }
  };
  walk(f.evidence, 0);
  return out;
}

/** A finding about processes none of which is in `ours`: another tenant of this shared host. */
export function isForeign(f: Finding, ours: Set<number>): boolean {
  const pids = pidsOf(f);
  return pids.size > 0 && ![...pids].some((p) => ours.has(p));
}

/** Samples a growing number (CPU seconds, a counter) every `periodMs`; rate() over any span, interpolated. */
export function sampler(read: () => number, periodMs = 100) {
  const points: [number, number][] = [[Date.now(), read()]];
  const timer = setInterval(() => {
    try {
      // Monotone: a counter file caught mid-rewrite reads as 0.
      points.push([Date.now(), Math.max(read(), points.at(-1)![1])]);
    } catch {
      // the process is gone: keep what was sampled
    }
  }, periodMs);
  const at = (t: number): number => {
    const i = points.findIndex(([pt]) => pt >= t);
    if (i < 0) return points.at(-1)![1];
    if (i === 0) return points[0]![1];
    const [t0, v0] = points[i - 1]!;
    const [t1, v1] = points[i]!;
    return v0 + ((v1 - v0) * (t - t0)) / Math.max(1, t1 - t0);
  };
  return {
    stop: () => clearInterval(timer),
    /** The value at a Date.now() time, between the samples around it. */
    at,
    /** Growth per second between two Date.now() times. */
    rate: (from: number, to: number) => (at(to) - at(from)) / Math.max(0.001, (to - from) / 1000),
  };
}

/** When a capture was live (Date.now() times), from its stored result: startedAt + open/load/attach, then durationMs. */
export function captureWindow(result: {
  startedAt: string;
  durationMs: number;
  timings?: { openMs?: number; loadMs?: number; attachMs?: number };
}): [number, number] {
  const t = result.timings ?? {};
  const live = Date.parse(result.startedAt) + (t.openMs ?? 0) + (t.loadMs ?? 0) + (t.attachMs ?? 0);
  return [live, live + result.durationMs];
}

export const within = (value: number, expected: number, share = 0.2) => Math.abs(value - expected) <= expected * share;

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The kernel's total retransmit count on this host's TCP connections to `destination` (ss's "retrans:now/total"). */
export function socketRetransmits(destination: string): number {
  const [address, port] = [destination.slice(0, destination.lastIndexOf(':')), destination.slice(destination.lastIndexOf(':') + 1)];
  const out = execFileSync('ss', ['-tinH', 'dst', address, 'dport', '=', port], { encoding: 'utf8' });
  return [...out.matchAll(/retrans:\d+\/(\d+)/g)].reduce((sum, m) => sum + Number(m[1]), 0);
}
