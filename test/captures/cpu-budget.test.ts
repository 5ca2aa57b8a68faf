// The live BPF CPU budget: filetop under a read/write syscall storm (dd with
// 1-byte blocks) with a tiny budget is detached within about a second, says
// at what cost and after how long, while execsnoop in the same window runs to
// its end; with a budget the storm stays under, filetop runs to the end too.
import { spawn, type ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { execsnoop } from '../../src/captures/execsnoop/index.js';
import { filetop } from '../../src/captures/filetop/index.js';
import { runCapture } from '../../src/captures/run-capture.js';
import { bpfHandlesOf, kernelSkipReason } from '../helpers/kernel.js';
import { processExists } from '../helpers/redis.js';

const skip = kernelSkipReason();
const WINDOW_MS = 4000;

/** A bounded storm: 1-byte reads and writes, at most 20M blocks (killed, by pid, when the test ends). */
function syscallStorm(): ChildProcess {
  return spawn('dd', ['if=/dev/zero', 'of=/dev/null', 'bs=1', 'count=20000000'], { stdio: 'ignore' });
}

describe.skipIf(skip)(`BPF CPU budget${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let storm: ChildProcess | undefined;
  afterEach(async () => {
    if (storm && storm.exitCode === null && storm.signalCode === null) {
      const exited = new Promise((r) => storm!.once('exit', r));
      storm.kill('SIGKILL');
      await exited;
    }
    if (storm?.pid) expect(processExists(storm.pid)).toBe(false);
    storm = undefined;
    expect(bpfHandlesOf()).toEqual({ programIds: [], links: 0, maps: 0 });
  });

  it('detaches a capture over its budget at once and keeps the other capture running', async () => {
    storm = syscallStorm();
    const [expensive, cheap] = await Promise.all([
      runCapture(filetop, { durationMs: WINDOW_MS, cpuBudgetPercent: 0.01 }),
      runCapture(execsnoop, { durationMs: WINDOW_MS }),
    ]);
    expect(expensive.stopped).toMatchObject({ reason: 'cpu-budget', budgetPercent: 0.01 });
    expect(expensive.stopped!.cpuPercent).toBeGreaterThan(0.01);
    expect(expensive.stopped!.afterMs).toBeGreaterThanOrEqual(900);
    expect(expensive.stopped!.afterMs).toBeLessThan(2500);
    expect(expensive.durationMs).toBeLessThan(2500);
    expect(expensive.stopped!.message).toMatch(/detached after \d+\.\d s: its BPF programs cost [\d.]+% of a CPU, over the 0.01% budget/);
    expect(expensive.bpfRunCount).toBeGreaterThan(0); // what it saw until then is kept
    expect(cheap.stopped).toBeUndefined();
    expect(cheap.durationMs).toBeGreaterThanOrEqual(WINDOW_MS - 50);
  }, 20_000);

  it('lets a capture within its budget run to the end', async () => {
    storm = syscallStorm();
    const result = await runCapture(filetop, { durationMs: 2500, cpuBudgetPercent: 100 });
    expect(result.stopped).toBeUndefined();
    expect(result.durationMs).toBeGreaterThanOrEqual(2450);
    expect(result.bpfCpuNs).toBeGreaterThan(0);
  }, 20_000);
});
