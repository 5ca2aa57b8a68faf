// on_sample on a CPU-clock perf event, opened on every online CPU: it must
// fire while we burn CPU, and stop once detached.
import { readdirSync, readlinkSync } from 'node:fs';
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

  it('prepared (a warm object): linked but disabled, samples nothing; attach only enables, opening no new event', async () => {
    const obj = loadFixture({ skip: ['on_getppid', 'on_getpgid'] });
    const samples = obj.map('samples');
    const before = perfEventFds();
    obj.preparePerfEvents(cpuClock);
    expect(obj.preparedPerfEventCount).toBe(onlineCpus().length);
    expect(perfEventFds()).toBe(before + onlineCpus().length);
    burnCpu(150);
    expect(sumPerCpu(samples)).toBe(0n); // no CPU while idle

    const [link] = await obj.attachAllAsync({ perfEvent: cpuClock });
    expect(link?.target).toBe(`perf_event type ${PERF_TYPE_SOFTWARE} config ${PERF_COUNT_SW_CPU_CLOCK}`);
    expect(obj.preparedPerfEventCount).toBe(0);
    expect(perfEventFds()).toBe(before + onlineCpus().length); // the prepared ones, nothing new
    burnCpu(150);
    expect(sumPerCpu(samples)).toBeGreaterThan(20n);

    await obj.detachAll();
    expect(perfEventFds()).toBe(before);
    const atDetach = sumPerCpu(samples);
    burnCpu(100);
    expect(sumPerCpu(samples)).toBe(atDetach);
  });

  it('an attach asking for another event closes the prepared ones and opens its own', () => {
    const obj = loadFixture({ skip: ['on_getppid', 'on_getpgid'] });
    const before = perfEventFds();
    obj.preparePerfEvents({ ...cpuClock, frequency: 99 });
    obj.attach('on_sample', { perfEvent: cpuClock });
    expect(obj.preparedPerfEventCount).toBe(0);
    expect(perfEventFds()).toBe(before + onlineCpus().length);
    burnCpu(150);
    expect(sumPerCpu(obj.map('samples'))).toBeGreaterThan(20n); // at the asked-for rate, not 99 Hz (~15)
  });

  it('prepared events of an object closed unattached are closed with it', () => {
    const obj = loadFixture({ skip: ['on_getppid', 'on_getpgid'] });
    const before = perfEventFds();
    obj.preparePerfEvents(cpuClock);
    obj.close();
    expect(perfEventFds()).toBe(before);
  });
});

/** This process's open perf event fds. */
function perfEventFds(): number {
  let n = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`) === 'anon_inode:[perf_event]') n++;
    } catch {
      // closed while we looked
    }
  }
  return n;
}
