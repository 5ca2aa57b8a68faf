// How long a thread has been off the CPU, read from /proc at the window's end:
// its last run is on the scheduler clock of the CPU it ran on, and each CPU's
// leaves out its own steal and irq time, so CPUs drift apart on a VM. A child
// pinned to each CPU notes CLOCK_MONOTONIC and sleeps; offcputime's per-CPU
// offsets must put its last run there, whichever CPU this thread reads from.
import { spawn, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { offcputime } from '../../src/captures/offcputime/index.js';
import { schedulerClock } from '../../src/captures/offcputime/open-blocks.js';
import { SchedulerClock } from '../../src/captures/offcputime/process-now.js';
import { openConfigured, type ObjectSettings } from '../../src/captures/open-configured.js';
import { bpfHandlesOf, kernelSkipReason } from '../helpers/kernel.js';

const skip = kernelSkipReason();
const NAPPER = 'import os, sys, time\nos.sched_setaffinity(0, {int(sys.argv[1])})\ntime.sleep(0.01)\nprint(time.monotonic_ns(), flush=True)\ntime.sleep(30)';

/** A child on `cpu` that prints CLOCK_MONOTONIC (ns) and sleeps: its last run ends then. */
async function napperOn(cpu: number, children: ChildProcess[]): Promise<{ pid: number; sleptAt: bigint }> {
  const child = spawn('/usr/bin/python3', ['-c', NAPPER, String(cpu)], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  const line = await new Promise<string>((resolve, reject) => {
    child.stdout!.once('data', (d: Buffer) => resolve(d.toString().trim()));
    child.once('exit', (code) => reject(new Error(`napper on CPU ${cpu} ended (${code})`)));
  });
  return { pid: child.pid!, sleptAt: BigInt(line) };
}

describe.skipIf(skip)(`offcputime's scheduler clock${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it("puts a sleeping thread's last run on CLOCK_MONOTONIC with its own CPU's offset", async () => {
    const settings: ObjectSettings = {
      def: offcputime as unknown as ObjectSettings['def'],
      params: offcputime.defaults,
      target: { description: 'all processes' },
    };
    const object = openConfigured(settings);
    const children: ChildProcess[] = [];
    try {
      await object.loadAsync();
      await object.attachAllAsync();
      const cpus = Math.min(availableParallelism(), 8);
      const nappers = await Promise.all(Array.from({ length: cpus }, (_, cpu) => napperOn(cpu, children)));
      await new Promise((r) => setTimeout(r, 150));
      const clock = schedulerClock(object);
      const unaligned = new SchedulerClock(); // against this thread's own CPU's clock: off by the CPUs' drift
      for (const [cpu, n] of nappers.entries()) {
        const task = `/proc/${n.pid}/task/${n.pid}`;
        const said = clock.offCpuMs(task)!;
        const truth = Number(process.hrtime.bigint() - n.sleptAt) / 1e6;
        console.log(`CPU ${cpu}: asleep ${truth.toFixed(2)} ms, read ${said.toFixed(2)} ms, unaligned ${unaligned.offCpuMs(task)!.toFixed(2)} ms`);
        expect(said).toBeGreaterThan(truth - 3);
        expect(said).toBeLessThan(truth + 1);
      }
    } finally {
      for (const c of children) c.kill('SIGKILL');
      object.close();
    }
    expect(bpfHandlesOf()).toEqual({ programIds: [], links: 0, maps: 0 });
  });
});
