// on_sample on a CPU-clock perf event, opened on every online CPU: it must
// fire while we burn CPU, and stop once detached.
import { afterEach, describe, expect, it } from 'vitest';
import { onlineCpus, PERF_COUNT_SW_CPU_CLOCK, PERF_TYPE_SOFTWARE } from '../../src/libbpf/index.js';
import { burnCpu, closeFixtures, cpuClock, expectNothingLeft, kernelSkip, kernelTitle, loadFixture, sumPerCpu } from './fixture.js';

describe.skipIf(kernelSkip)(kernelTitle('perf_event programs'), () => {
  afterEach(() => {
    closeFixtures();
    expectNothingLeft();
  });

  it('samples at 1000 Hz while we burn 300 ms of CPU, and stop after detachAll', async () => {
    const obj = loadFixture({ skip: ['on_getppid', 'on_getpgid'] });
    const samples = obj.map('samples');
    expect(sumPerCpu(samples)).toBe(0n);
    const link = obj.attach('on_sample', { perfEvent: cpuClock });
    expect(link.target).toBe(`perf_event type ${PERF_TYPE_SOFTWARE} config ${PERF_COUNT_SW_CPU_CLOCK}`);

    const started = performance.now();
    burnCpu(300);
    const burnt = performance.now() - started;
    const during = sumPerCpu(samples);
    // At least this CPU ticks at ~1 kHz while we spin: ~300 samples; ask for a sixth.
    expect(during).toBeGreaterThan(50n);
    // And no more than every online CPU could produce in that time, with slack.
    expect(during).toBeLessThan(BigInt(Math.ceil(burnt * onlineCpus().length * 2)));

    await obj.detachAll();
    const atDetach = sumPerCpu(samples);
    burnCpu(200);
    expect(sumPerCpu(samples)).toBe(atDetach);
  });

  it('detaching one link stops it while the object stays loaded', () => {
    const obj = loadFixture({ skip: ['on_getppid', 'on_getpgid'] });
    const link = obj.attach('on_sample', { perfEvent: cpuClock });
    burnCpu(100);
    link.destroy();
    link.destroy(); // twice is safe
    const atDestroy = sumPerCpu(obj.map('samples'));
    expect(atDestroy).toBeGreaterThan(0n);
    burnCpu(150);
    expect(sumPerCpu(obj.map('samples'))).toBe(atDestroy);
  });
});
