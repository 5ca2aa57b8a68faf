// An object's tracepoint programs attached in one call on koffi's threads
// (attach-batch.ts): each is live, each link is the object's to detach, and
// detachAll takes them all off.
import { afterEach, describe, expect, it } from 'vitest';
import { closeFixtures, expectNothingLeft, kernelSkip, kernelTitle, loadFixture, readCount, triggerGetpgid, triggerGetppid } from './fixture.js';

describe.skipIf(kernelSkip)(kernelTitle('tracepoints attached in one batch'), () => {
  afterEach(() => {
    closeFixtures();
    expectNothingLeft();
  });

  it('attachAllAsync makes both tracepoint programs live; detachAll takes both off', async () => {
    const obj = loadFixture({ skip: ['on_sample'] });
    const links = await obj.attachAllAsync();
    expect(links.map((l) => l.program).sort()).toEqual(['on_getpgid', 'on_getppid']);
    expect(links.every((l) => /^syscalls:sys_enter_getp/.test(l.target))).toBe(true);
    triggerGetppid(7);
    triggerGetpgid(3);
    expect(readCount(obj)).toBeGreaterThanOrEqual(7n);
    expect(readCount(obj, 0)).toBeGreaterThanOrEqual(3n);
    await obj.detachAll();
    const [ppid, pgid] = [readCount(obj), readCount(obj, 0)];
    triggerGetppid(5);
    triggerGetpgid(5);
    expect([readCount(obj), readCount(obj, 0)]).toEqual([ppid, pgid]);
  });

  it('a batch attached twice over gives two links per program, each detached on its own', async () => {
    const a = loadFixture({ skip: ['on_sample'] });
    const b = loadFixture({ skip: ['on_sample'] });
    const [linksA, linksB] = await Promise.all([a.attachAllAsync(), b.attachAllAsync()]);
    expect(linksA).toHaveLength(2);
    expect(linksB).toHaveLength(2);
    for (const link of linksA) await link.destroyAsync();
    const before = readCount(b) ?? 0n;
    const beforeA = readCount(a) ?? 0n;
    triggerGetppid(4);
    expect(readCount(b)).toBe(before + 4n);
    expect(readCount(a) ?? 0n).toBe(beforeA);
  });
});
