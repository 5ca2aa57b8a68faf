// setAutoload(name, false) keeps a program out of the kernel: not loaded, not
// attached by attachAll, and its tracepoint does nothing.
import { afterEach, describe, expect, it } from 'vitest';
import { closeFixtures, cpuClock, expectNothingLeft, kernelSkip, kernelTitle, loadFixture, readCount, triggerGetpgid, triggerGetppid } from './fixture.js';

describe.skipIf(kernelSkip)(kernelTitle('autoload'), () => {
  afterEach(() => {
    closeFixtures();
    expectNothingLeft();
  });

  it('a program left out is not loaded, not attached, and never runs', () => {
    const obj = loadFixture({ skip: ['on_getpgid', 'on_sample'] });
    expect(obj.spec.programs.map((p) => [p.name, p.autoload]).sort()).toEqual([
      ['on_getpgid', false],
      ['on_getppid', true],
      ['on_sample', false],
    ]);
    expect(obj.programFd('on_getpgid')).toBeLessThan(0);
    expect(obj.programFd('on_getppid')).toBeGreaterThan(0);
    const links = obj.attachAll();
    expect(links.map((l) => l.program)).toEqual(['on_getppid']);
    expect(() => obj.attach('on_getpgid')).toThrow(/not loaded/);

    triggerGetpgid(5);
    triggerGetppid(3);
    expect(readCount(obj, 0)).toBeUndefined(); // on_getpgid would count under key 0
    expect(readCount(obj)).toBe(3n); // while the loaded one did run
  });

  it('the same program loaded counts every getpgid() call', () => {
    const obj = loadFixture({ skip: ['on_sample'] });
    obj.attach('on_getpgid');
    triggerGetpgid(5);
    expect(readCount(obj, 0)).toBe(5n);
  });

  it('attachAll attaches every loaded program, perf_event ones with the event given', () => {
    const obj = loadFixture();
    const links = obj.attachAll({ perfEvent: cpuClock });
    expect(links.map((l) => l.program).sort()).toEqual(['on_getpgid', 'on_getppid', 'on_sample']);
    expect(links.find((l) => l.program === 'on_getppid')?.target).toBe('syscalls:sys_enter_getppid');
  });
});
