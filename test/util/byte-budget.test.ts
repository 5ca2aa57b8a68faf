// ByteBudget: holders share a budget of bytes in arrival order; one weight
// bigger than the whole budget is let in alone rather than waiting forever.
import { describe, expect, it } from 'vitest';
import { ByteBudget } from '../../src/util/byte-budget.js';

const settled = async <T>(p: Promise<T>): Promise<boolean> => {
  let done = false;
  void p.then(() => (done = true));
  await new Promise((r) => setTimeout(r, 10));
  return done;
};

describe('ByteBudget', () => {
  it('admits weights that fit together, makes the rest wait in order, and lets an oversized one in alone', async () => {
    const budget = new ByteBudget(10);
    const a = await budget.acquire(6);
    const b = budget.acquire(6); // 12 > 10: waits
    const c = budget.acquire(1); // would fit, but waits behind b (arrival order)
    expect(await settled(b)).toBe(false);
    expect(await settled(c)).toBe(false);
    a();
    a(); // a second release changes nothing
    const releaseB = await b;
    const releaseC = await c; // 6 + 1 fit
    const huge = budget.acquire(50);
    expect(await settled(huge)).toBe(false);
    releaseB();
    expect(await settled(huge)).toBe(false);
    releaseC();
    const releaseHuge = await huge; // alone now
    const small = budget.acquire(1);
    expect(await settled(small)).toBe(false);
    releaseHuge();
    (await small)();
  });
});
