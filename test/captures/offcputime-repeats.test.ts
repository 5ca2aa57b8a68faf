// offcputime's repeated snapshots against the real kernel (test/helpers/
// pipe-pingpong.c): a thread blocking
// tens of thousands of times a second at one place sends its stack once per
// snapshotRepeatUs, its other blocks counted as that snapshot; two callers of
// one libc wrapper from frames of one size (the same registers at the
// syscall) must still be told apart, and every block keeps its caller.
import { afterEach, describe, expect, it } from 'vitest';
import { offcputime, type OffcpuStack } from '../../src/captures/offcputime/index.js';
import { bpfHandlesOf, kernelSkipReason, stillLoaded } from '../helpers/kernel.js';
import { testBinary } from '../helpers/faults.js';
import { captureDuring, killLeftovers, start } from './sched-children.js';

const skip = kernelSkipReason();

const ROUND_TRIPS = 40_000;
/** Only these processes: another's blocks on a shared host could fill the snapshot ring buffer. */
const PINGPONG = { comm: 'pipe-pingpong' };
const blocksIn = (stacks: OffcpuStack[], fn: string) => stacks.filter((s) => s.frames.some((f) => f.name === fn)).reduce((n, s) => n + s.blocks, 0);

describe.skipIf(skip)(`offcputime's repeated snapshots on the real kernel${skip ? ` (skipped: ${skip})` : ''}`, () => {
  // Optimized: the two callers' frames leave every register the same at the read (no frame pointer, one frame size).
  const pingpong = testBinary('pipe-pingpong', ['-O2', '-g', '-Wall']);

  afterEach(() => {
    killLeftovers();
    expect(bpfHandlesOf()).toEqual({ programIds: [], links: 0, maps: 0 });
  });

  const pingPong = async (params: Record<string, unknown> = {}) => {
    let pid = 0;
    const { result, programIds } = await captureDuring(
      offcputime,
      async () => {
        const child = start(pingpong, [String(ROUND_TRIPS)]);
        pid = child.pid;
        const done = await child.done;
        expect(done.code).toBe(0);
        expect(done.stdout.trim()).toMatch(new RegExp(`^${ROUND_TRIPS / 2} ${ROUND_TRIPS / 2} \\d+$`));
      },
      { params, target: PINGPONG },
    );
    expect(stillLoaded(programIds)).toEqual([]);
    const parent = result.stacks.filter((s) => s.pid === pid && s.frames.some((f) => f.name === 'anon_pipe_read'));
    return { result, parent, echo: result.stacks.filter((s) => s.pid !== pid) };
  };

  it("counts most blocks of a ping-pong as their thread's last snapshot, and keeps each one's caller", async () => {
    const { result, parent, echo } = await pingPong();
    const [a, b] = [blocksIn(parent, 'sherlock_wait_a_51e9'), blocksIn(parent, 'sherlock_wait_b_51e9')];
    const reads = parent.reduce((n, s) => n + s.blocks, 0);
    // A read that found its answer already there did not block: most do, on two CPUs or one.
    expect(reads).toBeGreaterThan(ROUND_TRIPS * 0.3);
    // Every block of the parent's reads has its caller, and the two callers split them as the rounds did
    // (taken for one another, their blocks split 60/40 here).
    expect(a + b).toBe(reads);
    expect(Math.abs(a - b) / reads).toBeLessThan(0.05);
    // The echo reads at one place: its blocks repeat its snapshots.
    expect(blocksIn(echo, 'sherlock_echo_51e9')).toBeGreaterThan(ROUND_TRIPS * 0.3);
    expect(result.unwind!.repeated).toBeGreaterThan(ROUND_TRIPS * 0.2);
    // Far fewer copies than blocks: none lost to a full ring buffer.
    expect(result.unwind!.unmatched).toBe(0);
    expect(result.dropped).toBe(0);
  }, 60_000);

  it('with snapshotRepeatUs: 0 every block sends its own snapshot', async () => {
    const { result, parent } = await pingPong({ snapshotRepeatUs: 0 });
    expect(result.unwind!.repeated).toBe(0);
    expect(parent.length).toBeGreaterThan(0);
  }, 60_000);
});
