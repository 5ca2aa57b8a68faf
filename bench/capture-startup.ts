// `sherlock capture execsnoop` started as a user starts it: process start →
// its first line on screen (the "live" line, written once the probes are
// attached), alternating with bpftrace's one-liner on the same tracepoint
// (process start → its "Attaching" line) when bpftrace is installed, and with
// a bare `node -e 0` (process start → exit) for the machine's own speed.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { missingTracingCapabilities } from '../src/libbpf/index.js';
import { projectRoot } from '../src/util/paths.js';
import { trackChild } from './server-common.js';
import { fmtMs, kv, median, note, section, table, verdict } from './report.js';

const RUNS = 7;
const TARGET_MS = 300;
const sherlockBin = join(projectRoot, 'bin', 'sherlock.js');
const BPFTRACE = '/usr/bin/bpftrace';

/** Milliseconds from spawn to the first output line matching `line` (then the process is ended), or to exit when `line` is undefined. */
function firstLine(command: string, args: string[], line?: RegExp): Promise<number> {
  const t0 = process.hrtime.bigint();
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  trackChild(child);
  const ms = () => Number(process.hrtime.bigint() - t0) / 1e6;
  return new Promise((resolve, reject) => {
    let out = '';
    let matched = false;
    const timer = setTimeout(() => (child.kill('SIGKILL'), reject(new Error(`${command} printed no matching line in 20 s: ${out}`))), 20_000);
    const seen = (d: Buffer) => {
      out += d;
      if (line && !matched && line.test(out)) {
        matched = true;
        const at = ms();
        clearTimeout(timer);
        // A SIGINT that lands while bpftrace is still attaching can go unheard: then SIGKILL.
        const stuck = setTimeout(() => child.kill('SIGKILL'), 5_000);
        child.once('exit', () => (clearTimeout(stuck), resolve(at)));
        child.kill('SIGINT');
      }
    };
    child.stdout.on('data', seen);
    child.stderr.on('data', seen);
    child.once('exit', (code) => {
      if (line) return;
      clearTimeout(timer);
      if (code === 0) resolve(ms());
      else reject(new Error(`${command} exited ${code}: ${out}`));
    });
  });
}

export async function captureStartup(): Promise<void> {
  const missing = missingTracingCapabilities();
  if (missing.length) return note(`skipped: needs ${missing.join(' and ')} (or root)`);
  const withBpftrace = existsSync(BPFTRACE);
  const kinds = [
    { label: 'sherlock capture execsnoop → "live" line', run: () => firstLine('node', [sherlockBin, 'capture', 'execsnoop', '--duration', '30s'], /live for/) },
    ...(withBpftrace
      ? [
          {
            label: 'bpftrace sched_process_exec one-liner → "Attaching" line',
            run: () => firstLine(BPFTRACE, ['-e', 'tracepoint:sched:sched_process_exec { printf("%s\\n", comm); }'], /Attaching/),
          },
        ]
      : []),
    { label: 'node -e 0 (start → exit)', run: () => firstLine('node', ['-e', '0']) },
  ];
  const times = kinds.map(() => [] as number[]);
  const loadBefore = loadavg()[0]!;
  for (let i = 0; i < RUNS; i++) for (const [k, kind] of kinds.entries()) times[k]!.push(await kind.run());
  section(`process start → first line, ${RUNS} alternating runs (load average ${loadBefore.toFixed(1)} → ${loadavg()[0]!.toFixed(1)})`);
  table(
    ['command', 'median', 'min', 'max'],
    kinds.map((k, i) => [k.label, fmtMs(median(times[i]!)), fmtMs(Math.min(...times[i]!)), fmtMs(Math.max(...times[i]!))]),
    new Set([1, 2, 3]),
  );
  if (!withBpftrace) note('bpftrace is not installed: its row is left out');
  const sherlock = median(times[0]!);
  if (withBpftrace) kv('sherlock / bpftrace', `${(sherlock / median(times[1]!)).toFixed(2)}×`);
  verdict(sherlock <= TARGET_MS, `sherlock capture: first line ${fmtMs(sherlock)} after process start, vs ≤${TARGET_MS} ms`);
}
