// Self-timed BPF run time against the real kernel: a capture's programs count
// every run and time the runs made while sampled (bpf/common/sherlock.bpf.h).
// The count must cover what a steady dd made, the time must agree with the
// kernel's own stats over the same runs, and the switch must be off again once
// the capture ends.
import { spawn } from 'node:child_process';
import { closeSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { filetop, type FileRow } from '../../src/captures/filetop/index.js';
import { openConfigured, type ObjectSettings } from '../../src/captures/open-configured.js';
import { TIMING_ON_MS, TIMING_PERIOD_MS, trackRunTime } from '../../src/captures/run-time-sampler.js';
import { enableRunTimeStats, programStats, type BpfObject } from '../../src/libbpf/index.js';
import { captureAround } from '../helpers/capture-around.js';
import { bpfHandlesOf, kernelSkipReason } from '../helpers/kernel.js';

const skip = kernelSkipReason();

/** dd copying one byte at a time for `ms`: a steady stream of reads and writes. */
function steadyDd(ms: number): Promise<number> {
  const child = spawn('dd', ['if=/dev/zero', 'of=/dev/null', 'bs=1'], { stdio: 'ignore' });
  const timer = setTimeout(() => child.kill('SIGTERM'), ms);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(child.pid!);
    });
  });
}

/**
 * The kernel's run count and time of the object's attached programs. The kernel counts
 * a tail call as part of its caller's run: filetop's exit programs, whose time includes
 * the counting programs they call, which time themselves (as one run each).
 */
function kernelStats(object: BpfObject): { runs: number; ns: number } {
  let runs = 0;
  let ns = 0;
  for (const program of object.spec.programs) {
    if (!program.autoload) continue;
    const stats = programStats(object.programFd(program.name));
    runs += Number(stats.runCount);
    ns += Number(stats.runTimeNs);
  }
  return { runs, ns };
}

const timingSwitch = (object: BpfObject) => object.map('sherlock_timing').lookup(Buffer.alloc(4))!.readUInt32LE(0);

describe.skipIf(skip)(`self-timed run time${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it("counts every run and extrapolates the timed ones' cost", async () => {
    const { result, value: ddPid } = await captureAround(filetop, () => steadyDd(2.5 * TIMING_PERIOD_MS), { target: {} });
    const dd = (result.rows as FileRow[]).filter((r) => r.pid === ddPid);
    const ddCalls = dd.reduce((n, r) => n + r.reads + r.writes, 0);
    expect(ddCalls).toBeGreaterThan(10_000);
    // Every read and write exit on the host runs a counting program, dd's among them.
    expect(result.bpfRunCount).toBeGreaterThanOrEqual(ddCalls);
    const nsPerRun = result.bpfCpuNs / result.bpfRunCount;
    expect(nsPerRun).toBeGreaterThan(10);
    expect(nsPerRun).toBeLessThan(50_000);
    expect(TIMING_ON_MS / TIMING_PERIOD_MS).toBeLessThanOrEqual(0.1);
  });

  it("agrees with the kernel's own stats over the same runs, and switches timing off when stopped", async () => {
    const settings: ObjectSettings = {
      def: filetop as unknown as ObjectSettings['def'],
      params: filetop.defaults,
      target: { description: 'all processes' },
    };
    const object = openConfigured(settings);
    const statsFd = enableRunTimeStats();
    try {
      await object.loadAsync();
      const kernelBefore = kernelStats(object);
      const meter = trackRunTime(object);
      expect(timingSwitch(object)).toBe(1);
      await object.attachAllAsync();
      await steadyDd(1.5 * TIMING_PERIOD_MS);
      const ours = meter.stop();
      const kernelAfter = kernelStats(object);
      expect(timingSwitch(object)).toBe(0);

      const kernelRuns = kernelAfter.runs - kernelBefore.runs;
      const kernelNs = kernelAfter.ns - kernelBefore.ns;
      expect(kernelRuns).toBeGreaterThan(10_000);
      expect(ours.runs / kernelRuns).toBeGreaterThan(0.95);
      expect(ours.runs / kernelRuns).toBeLessThanOrEqual(1.05);
      // Sampled a twentieth of the time and measured inside the program: the same order as the kernel's.
      expect(ours.ns / kernelNs).toBeGreaterThan(0.3);
      expect(ours.ns / kernelNs).toBeLessThan(3);
      expect(meter.estimate()).toEqual(ours); // final once stopped
    } finally {
      closeSync(statsFd);
      object.close();
    }
    expect(bpfHandlesOf()).toEqual({ programIds: [], links: 0, maps: 0 });
  });

  it('times a capture shorter than one window whole', async () => {
    const { result } = await captureAround(filetop, () => steadyDd(TIMING_ON_MS / 2), { target: {}, settleMs: 0 });
    expect(result.bpfRunCount).toBeGreaterThan(0);
    expect(result.bpfCpuNs).toBeGreaterThan(0);
  });
});
