// The process CPU reading shared by callers close together in time, and fresh
// again after: it must follow real CPU use, not stick.
import { describe, expect, it } from 'vitest';
import { processCpuUs } from '../../src/util/process-cpu.js';

const burn = (ms: number) => {
  const end = performance.now() + ms;
  while (performance.now() < end);
};

describe('processCpuUs', () => {
  it('shares one reading between callers within 25 ms, and follows the CPU used after', async () => {
    await new Promise((r) => setTimeout(r, 30));
    const first = processCpuUs();
    burn(5);
    expect(processCpuUs()).toBe(first); // within 25 ms: the same reading, no getrusage
    burn(80);
    const later = processCpuUs();
    // 85 ms of busy loop on this thread: at least most of it shows (a shared CPU may take some).
    expect(later - first).toBeGreaterThan(40_000);
    expect(later - first).toBeLessThan(5_000_000);
  });
});
