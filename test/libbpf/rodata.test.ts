// Rodata set from JS must be what the loaded program reads: on_getppid copies
// every rd_* variable into map "seen" (struct fixture_seen) when triggered.
import { afterEach, describe, expect, it } from 'vitest';
import type { BpfObject, RodataValue } from '../../src/libbpf/index.js';
import { closeFixtures, expectNothingLeft, kernelSkip, kernelTitle, loadFixture, loadOpened, openFixture, readSeen, triggerGetppid } from './fixture.js';

const onlyGetppid = ['on_sample', 'on_getpgid'];

/** Attaches on_getppid, triggers it once, returns what it saw. */
function seenBy(obj: BpfObject) {
  obj.attach('on_getppid');
  triggerGetppid(1);
  return readSeen(obj);
}

const seenWith = (rodata: Record<string, RodataValue>) => seenBy(loadFixture({ rodata, skip: onlyGetppid }));

describe.skipIf(kernelSkip)(kernelTitle('rodata as the loaded program sees it'), () => {
  afterEach(() => {
    closeFixtures();
    expectNothingLeft();
  });

  it('u32, u64 beyond 2^53, bool and a string', () => {
    const u64 = 2n ** 60n + 12_345n; // not representable as a double
    const seen = seenWith({ rd_u32: 0xdead_beef, rd_u64: u64, rd_bool: true, rd_comm: 'sherlock-test' });
    expect(seen).toEqual({ u32v: 0xdead_beef, boolv: 1, u64v: u64, comm: 'sherlock-test' });
  });

  it('the defaults when nothing is set', () => {
    expect(seenWith({})).toEqual({ u32v: 0, boolv: 0, u64v: 0n, comm: '' });
  });

  it('the limits: 2^32-1, 2^64-1 and a 15-byte string', () => {
    const seen = seenWith({ rd_u32: 2 ** 32 - 1, rd_u64: 2n ** 64n - 1n, rd_comm: 'fifteen-bytes!!' });
    expect(seen).toEqual({ u32v: 2 ** 32 - 1, boolv: 0, u64v: 2n ** 64n - 1n, comm: 'fifteen-bytes!!' });
  });

  it('several setRodata calls: the last value wins and a shorter string leaves no tail', () => {
    const obj = openFixture({ rodata: { trigger_tgid: process.pid }, skip: onlyGetppid });
    obj.setRodata({ rd_comm: 'a-long-name-xyz', rd_u64: 2 ** 40, rd_u32: 5 });
    obj.setRodata({ rd_comm: 'xy', rd_bool: true, rd_u32: undefined }); // undefined: left as it is
    expect(seenBy(loadOpened(obj))).toEqual({ u32v: 5, boolv: 1, u64v: 2n ** 40n, comm: 'xy' });
  });

  it('a call with one bad setting writes none of them', () => {
    const obj = openFixture({ rodata: { trigger_tgid: process.pid }, skip: onlyGetppid });
    expect(() => obj.setRodata({ rd_u32: 5, rd_comm: 'x'.repeat(16) })).toThrow(/rd_comm/);
    expect(() => obj.setRodata({ rd_u64: 7, nope: 1 })).toThrow(/no rodata variable "nope"/);
    expect(seenBy(loadOpened(obj))).toEqual({ u32v: 0, boolv: 0, u64v: 0n, comm: '' });
  });

  it('two objects from one file keep their own settings', () => {
    const a = loadFixture({ rodata: { rd_u32: 111 }, skip: onlyGetppid });
    const b = loadFixture({ rodata: { rd_u32: 222 }, skip: onlyGetppid });
    a.attach('on_getppid');
    b.attach('on_getppid');
    triggerGetppid(1);
    expect([readSeen(a).u32v, readSeen(b).u32v]).toEqual([111, 222]);
  });
});
