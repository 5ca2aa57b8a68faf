// The kernel's run-time accounting of a program, as programStats reads it
// from bpf_prog_info: run count and time, and the program's id.
import { closeSync } from 'node:fs';
import { constants } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { BpfError, enableRunTimeStats, programStats } from '../../src/libbpf/index.js';
import { loadedPrograms } from '../helpers/kernel.js';
import { closeFixtures, expectNothingLeft, kernelSkip, kernelTitle, loadFixture, triggerGetppid } from './fixture.js';

describe.skipIf(kernelSkip)(kernelTitle('program run-time stats'), () => {
  afterEach(() => {
    closeFixtures();
    expectNothingLeft();
  });

  it('counts at least every getppid() we made, with a run time, under the id bpftool shows', () => {
    const statsFd = enableRunTimeStats();
    try {
      const obj = loadFixture({ skip: ['on_sample', 'on_getpgid'] });
      obj.attach('on_getppid');
      const before = programStats(obj.programFd('on_getppid'));
      const n = triggerGetppid(500);
      const after = programStats(obj.programFd('on_getppid'));
      // Other processes calling getppid() run it too (and return early).
      expect(after.runCount - before.runCount).toBeGreaterThanOrEqual(BigInt(n));
      expect(after.runTimeNs).toBeGreaterThan(before.runTimeNs);
      expect(after.id).toBe(before.id);
      const shown = loadedPrograms().find((p) => p.id === after.id);
      expect(shown).toMatchObject({ type: 'tracepoint', name: 'on_getppid' });
    } finally {
      closeSync(statsFd);
    }
  });

  it('a program that never ran has run count 0', () => {
    const statsFd = enableRunTimeStats();
    try {
      const obj = loadFixture({ skip: ['on_sample'] });
      obj.attach('on_getppid'); // on_getpgid loaded, never attached
      triggerGetppid(10);
      expect(programStats(obj.programFd('on_getpgid'))).toMatchObject({ runCount: 0n, runTimeNs: 0n });
      expect(programStats(obj.programFd('on_getppid')).runCount).toBeGreaterThanOrEqual(10n);
    } finally {
      closeSync(statsFd);
    }
  });

  it('a bad fd: BpfError with the errno', () => {
    let error: unknown;
    try {
      programStats(-1);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(BpfError);
    expect((error as BpfError).op).toBe('bpf_obj_get_info_by_fd');
    // EBADF, or EBADFD (77) from kernels since 6.12 for this command.
    expect([constants.errno.EBADF, 77]).toContain((error as BpfError).errno);
  });
});
