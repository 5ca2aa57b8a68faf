// A drain that throws (a decoder meeting a record it cannot read) fails its
// own capture, with the error, and frees its BPF object; the process and a
// capture running beside it go on. It used to be an uncaught exception in a
// timer, which ended the worker and every capture of the run.
import { afterEach, describe, expect, it } from 'vitest';
import { execsnoop } from '../../src/captures/execsnoop/index.js';
import { filetop } from '../../src/captures/filetop/index.js';
import { runCapture } from '../../src/captures/run-capture.js';
import { bpfHandlesOf, kernelSkipReason } from '../helpers/kernel.js';

const skip = kernelSkipReason();
const WINDOW_MS = 4000;

/** execsnoop whose every drain throws. */
const brokenExecsnoop: typeof execsnoop = {
  ...execsnoop,
  collect(ctx) {
    const collector = execsnoop.collect!(ctx);
    collector.poll = () => {
      throw new Error('decoder bug: record 7 has a length past its buffer');
    };
    return collector;
  },
};

describe.skipIf(skip)(`a drain that throws${skip ? ` (skipped: ${skip})` : ''}`, () => {
  afterEach(() => {
    expect(bpfHandlesOf()).toEqual({ programIds: [], links: 0, maps: 0 });
  });

  it('fails its capture with the error at once and leaves the capture beside it running to its end', async () => {
    const t0 = performance.now();
    let failedAfterMs = Number.NaN;
    const [broken, beside] = await Promise.allSettled([
      runCapture(brokenExecsnoop, { durationMs: WINDOW_MS }).finally(() => (failedAfterMs = performance.now() - t0)),
      runCapture(filetop, { durationMs: WINDOW_MS }),
    ]);
    expect(broken.status).toBe('rejected');
    // At its first drain (10 ms in), not at the window's end.
    expect(failedAfterMs).toBeLessThan(WINDOW_MS / 2);
    expect((broken as PromiseRejectedResult).reason).toMatchObject({ message: expect.stringContaining('decoder bug') });
    expect(beside.status).toBe('fulfilled');
    const result = (beside as PromiseFulfilledResult<Awaited<ReturnType<typeof runCapture>>>).value;
    expect(result.cancelled).toBe(false);
    expect(result.durationMs).toBeGreaterThanOrEqual(WINDOW_MS - 100);
  });
});
