import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { jitteredOnce } from '../../src/util/jittered-once.js';

describe('jitteredOnce', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('calls once, between the delay and twice the delay, as the random draw says', () => {
    const calls: number[] = [];
    const once = jitteredOnce(
      () => calls.push(Date.now()),
      100,
      () => 0.5,
    );
    const t0 = Date.now();
    once.schedule();
    vi.advanceTimersByTime(149);
    expect(calls).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(calls).toEqual([t0 + 150]);
    vi.advanceTimersByTime(1_000);
    expect(calls).toHaveLength(1);
  });

  it('replaces a pending call when scheduled again, and makes none once cancelled', () => {
    let calls = 0;
    const once = jitteredOnce(
      () => calls++,
      100,
      () => 0,
    );
    once.schedule();
    vi.advanceTimersByTime(60);
    once.schedule();
    vi.advanceTimersByTime(60);
    expect(calls).toBe(0);
    vi.advanceTimersByTime(40);
    expect(calls).toBe(1);
    once.schedule();
    once.cancel();
    vi.advanceTimersByTime(1_000);
    expect(calls).toBe(1);
  });
});
