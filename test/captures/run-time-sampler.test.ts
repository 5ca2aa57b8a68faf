// Sampled BPF run-time stats against the real kernel: with the stats on only
// a tenth of the time, a capture's run count scaled from its on windows must
// still match the runs its programs really made (a steady dd counted exactly
// by filetop), and the stats must be off again once no capture runs.
import { spawn } from 'node:child_process';
import { readdirSync, readlinkSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { filetop, type FileRow } from '../../src/captures/filetop/index.js';
import { STATS_ON_MS, STATS_PERIOD_MS } from '../../src/captures/run-time-sampler.js';
import { captureAround } from '../helpers/capture-around.js';
import { kernelSkipReason } from '../helpers/kernel.js';

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

/** This process's fds that keep the kernel's BPF run-time stats on. */
function statsFds(): string[] {
  return readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === 'anon_inode:bpf-stats';
    } catch {
      return false;
    }
  });
}

describe.skipIf(skip)(`sampled run-time stats${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it('scales the on windows to the whole capture: runs estimated ≈ runs made', async () => {
    const { result, value: ddPid } = await captureAround(filetop, () => steadyDd(2.5 * STATS_PERIOD_MS), { target: {} });
    const dd = (result.rows as FileRow[]).filter((r) => r.pid === ddPid);
    const syscalls = dd.reduce((n, r) => n + r.reads + r.writes, 0);
    expect(syscalls).toBeGreaterThan(10_000);
    // Up to an enter and an exit program per read or write of dd's, plus whatever else ran on the
    // host; unscaled, the on windows alone would count about a tenth of it.
    const made = 2 * syscalls;
    expect(result.bpfRunCount).toBeGreaterThan(0.3 * made);
    expect(result.bpfRunCount).toBeLessThan(3 * made);
    expect(result.bpfCpuNs).toBeGreaterThan(0);
    expect(STATS_ON_MS / STATS_PERIOD_MS).toBeLessThanOrEqual(0.1);
  });

  it('counts a capture shorter than one on window whole', async () => {
    const { result } = await captureAround(filetop, () => steadyDd(STATS_ON_MS / 2), { target: {}, settleMs: 0 });
    expect(result.bpfRunCount).toBeGreaterThan(0);
    expect(result.bpfCpuNs).toBeGreaterThan(0);
    // Nothing of ours holds the stats on now (another process on this host may).
    expect(statsFds()).toEqual([]);
  });
});
