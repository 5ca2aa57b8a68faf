// runCapture's detachLater (what workers use): the result comes back at the
// window's end with what the window saw, the probes' detach and the object's
// close are handed over and leave nothing behind once they settle; a capture
// over its CPU budget is still detached before it returns.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { execsnoop } from '../../src/captures/execsnoop/index.js';
import { filetop } from '../../src/captures/filetop/index.js';
import { runCapture } from '../../src/captures/run-capture.js';
import { bpfHandlesOf, kernelSkipReason, stillLoaded } from '../helpers/kernel.js';
import { processExists } from '../helpers/redis.js';

const skip = kernelSkipReason();

describe.skipIf(skip)(`detaching after the result${skip ? ` (skipped: ${skip})` : ''}`, () => {
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

  it('returns what the window saw and hands over a detach that leaves no program, link or map', async () => {
    const handed: Promise<void>[] = [];
    let programIds: number[] = [];
    const result = await runCapture(execsnoop, {
      durationMs: 1500,
      detachLater: (detached) => handed.push(detached),
      onLive: () => {
        programIds = bpfHandlesOf().programIds;
        spawnSync('/bin/true', ['detach-later-marker']);
      },
    });
    expect(handed).toHaveLength(1);
    expect(programIds.length).toBeGreaterThan(0);
    const events = (result as unknown as { events: { argv?: string[]; args?: string }[] }).events;
    expect(JSON.stringify(events)).toContain('detach-later-marker');
    await handed[0];
    expect(bpfHandlesOf()).toEqual({ programIds: [], links: 0, maps: 0 });
    expect(stillLoaded(programIds)).toEqual([]);
  }, 20_000);

  it('detaches a capture over its CPU budget before returning', async () => {
    storm = spawn('dd', ['if=/dev/zero', 'of=/dev/null', 'bs=1', 'count=20000000'], { stdio: 'ignore' });
    const handed: Promise<void>[] = [];
    const result = await runCapture(filetop, { durationMs: 4000, cpuBudgetPercent: 0.01, detachLater: (detached) => handed.push(detached) });
    expect(result.stopped).toMatchObject({ reason: 'cpu-budget' });
    expect(bpfHandlesOf().links).toBe(0); // off already; only the close was left for later
    await handed[0];
  }, 20_000);
});
