// Each CPU's scheduler clock against CLOCK_MONOTONIC, measured without BPF: a
// process pinned to each CPU reads its own se.exec_start (/proc/thread-self/
// sched: that CPU's clock, now), what offcputime's BPF program keeps per CPU.
// Tests that read threads' last runs from /proc alone need it: this VM's CPUs'
// clocks drift apart (hundreds of ms with uptime), which the fallback against
// this thread's own last run does not see.
import { spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import { SchedulerClock } from '../../src/captures/offcputime/process-now.js';

export function measuredSchedulerClock(): SchedulerClock {
  const offsets = cpus().map((_, cpu) => {
    const read = spawnSync('taskset', ['-c', String(cpu), 'cat', '/proc/thread-self/sched'], { encoding: 'utf8', timeout: 10_000 });
    const now = process.hrtime.bigint(); // a few ms after its read: well under the 100 ms a deadlock's threads must be stuck
    const ms = /^se\.exec_start\s*:\s*([\d.]+)/m.exec(read.stdout ?? '')?.[1];
    return ms === undefined ? undefined : now - BigInt(Math.round(Number(ms) * 1e6));
  });
  return new SchedulerClock(offsets);
}
