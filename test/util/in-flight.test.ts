// Shared reads: callers arriving together share one read; a recent answer is
// reused for its window and no longer; fresh() never reuses a finished one.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { sharedInFlight, sharedRecent } from '../../src/util/in-flight.js';

/** A read that counts its calls and answers with that count when released. */
function countedRead() {
  let calls = 0;
  const release: (() => void)[] = [];
  const read = () =>
    new Promise<number>((resolve) => {
      const n = ++calls;
      release.push(() => resolve(n));
    });
  return { read, calls: () => calls, releaseAll: () => release.splice(0).forEach((r) => r()) };
}

describe('sharedInFlight', () => {
  it('callers while a read is in flight share it; the next caller after it starts a new one', async () => {
    const r = countedRead();
    const shared = sharedInFlight(r.read);
    const [a, b] = [shared(), shared()];
    r.releaseAll();
    expect(await Promise.all([a, b])).toEqual([1, 1]);
    const c = shared();
    r.releaseAll();
    expect(await c).toBe(2);
  });
});

describe('sharedRecent', () => {
  afterEach(() => vi.useRealTimers());

  it('reuses an answer within its window, reads again after it, and fresh() reads at once', async () => {
    vi.useFakeTimers({ toFake: ['performance'] });
    const r = countedRead();
    const reads = sharedRecent(r.read, 1000);
    const first = reads.recent();
    r.releaseAll();
    expect(await first).toBe(1);

    vi.advanceTimersByTime(999);
    expect(await reads.recent()).toBe(1);
    expect(r.calls()).toBe(1);

    const fresh = reads.fresh();
    r.releaseAll();
    expect(await fresh).toBe(2);

    vi.advanceTimersByTime(1000);
    const later = reads.recent();
    expect(r.calls()).toBe(3);
    r.releaseAll();
    expect(await later).toBe(3);
  });

  it('a read that fails is not reused', async () => {
    let calls = 0;
    const reads = sharedRecent(async () => {
      calls++;
      if (calls === 1) throw new Error('redis down');
      return calls;
    }, 60_000);
    await expect(reads.recent()).rejects.toThrow('redis down');
    expect(await reads.recent()).toBe(2);
    expect(await reads.recent()).toBe(2);
  });
});
