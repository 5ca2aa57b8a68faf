// BpfMap against real maps: counters the programs keep, and a hash filled and
// read back from JS by every path (lookup, keys, batch entries).
import { constants } from 'node:os';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { BPF_EXIST, BPF_NOEXIST, BpfError, BpfMap, possibleCpuCount } from '../../src/libbpf/index.js';
import {
  closeFixtures,
  expectNothingLeft,
  kernelSkip,
  kernelTitle,
  loadFixture,
  readCount,
  readU64,
  sumPerCpu,
  triggerGetppid,
  u32Key,
  u64Value,
} from './fixture.js';

const { EEXIST, ENOENT, E2BIG } = constants.errno;
const onlyGetppid = ['on_sample', 'on_getpgid'];

function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}

/** Entries as "key hex → value hex", for order-free comparison. */
const asRecord = (entries: Iterable<[Buffer, Buffer]>) => Object.fromEntries([...entries].map(([k, v]) => [k.toString('hex'), v.toString('hex')]));

describe.skipIf(kernelSkip)(kernelTitle('maps the programs write'), () => {
  afterEach(() => {
    closeFixtures();
    expectNothingLeft();
  });

  it('counts[tgid] is the number of getppid() calls, per call', () => {
    const obj = loadFixture({ skip: onlyGetppid });
    obj.attach('on_getppid');
    expect(readCount(obj)).toBeUndefined();
    triggerGetppid(1);
    expect(readCount(obj)).toBe(1n);
    triggerGetppid(36);
    expect(readCount(obj)).toBe(37n);
    expect(asRecord(obj.map('counts').entries())).toEqual({ [u32Key(process.pid).toString('hex')]: u64Value(37).toString('hex') });
  });

  it('a per-CPU array summed over CPUs is the number of calls', () => {
    const obj = loadFixture({ skip: onlyGetppid });
    obj.attach('on_getppid');
    const n = triggerGetppid(250);
    const map = obj.map('percpu_counts');
    expect(map.perCpu).toBe(true);
    const value = map.lookup(u32Key(0))!;
    expect(value.length).toBe(8 * possibleCpuCount());
    const slots = map.perCpuValues(value).map((v) => v.readBigUInt64LE(0));
    expect(slots.length).toBe(possibleCpuCount());
    expect(sumPerCpu(map)).toBe(BigInt(n));
    // The batch path hands back the same per-CPU layout.
    const [[key, batched]] = map.entries() as [[Buffer, Buffer]];
    expect(key.readUInt32LE(0)).toBe(0);
    expect(map.perCpuValues(batched).reduce((s, v) => s + v.readBigUInt64LE(0), 0n)).toBe(BigInt(n));
  });

  it('missing keys: lookup is undefined, delete is false', () => {
    const obj = loadFixture({ skip: onlyGetppid });
    expect(obj.map('counts').lookup(u32Key(process.pid))).toBeUndefined();
    expect(obj.map('big').delete(u32Key(12345))).toBe(false);
    expect(obj.map('big').entries()).toEqual([]);
    expect([...obj.map('big').keys()]).toEqual([]);
  });
});

describe.skipIf(kernelSkip)(kernelTitle('a hash map written from JS'), () => {
  afterEach(() => {
    vi.restoreAllMocks();
    closeFixtures();
    expectNothingLeft();
  });

  it('update, lookup, delete, keys and the update flags', () => {
    const big = loadFixture({ skip: onlyGetppid }).map('big');
    big.update(u32Key(1), u64Value(10n));
    big.update(u32Key(2), u64Value(2n ** 63n + 1n));
    expect(readU64(big, 1)).toBe(10n);
    expect(readU64(big, 2)).toBe(2n ** 63n + 1n);
    expect([...big.keys()].map((k) => k.readUInt32LE(0)).sort()).toEqual([1, 2]);

    big.update(u32Key(1), u64Value(11n)); // BPF_ANY replaces
    expect(readU64(big, 1)).toBe(11n);
    const exists = thrownBy(() => big.update(u32Key(1), u64Value(0n), BPF_NOEXIST));
    expect(exists).toBeInstanceOf(BpfError);
    expect((exists as BpfError).errno).toBe(EEXIST);
    const missing = thrownBy(() => big.update(u32Key(3), u64Value(0n), BPF_EXIST));
    expect((missing as BpfError).errno).toBe(ENOENT);
    expect(readU64(big, 1)).toBe(11n); // the failed updates changed nothing
    expect(readU64(big, 3)).toBeUndefined();

    expect(big.delete(u32Key(1))).toBe(true);
    expect(big.delete(u32Key(1))).toBe(false);
    expect(readU64(big, 1)).toBeUndefined();
    expect([...big.keys()].map((k) => k.readUInt32LE(0))).toEqual([2]);
  });

  it('10000 entries: entries() reads exactly them in batches, as keys()+lookup() does', () => {
    const big = loadFixture({ skip: onlyGetppid }).map('big');
    const written: Record<string, string> = {};
    for (let i = 0; i < 10_000; i++) {
      const key = u32Key(i * 7 + 3);
      const value = u64Value(BigInt(i) * 0x1_0000_0001n);
      big.update(key, value);
      written[key.toString('hex')] = value.toString('hex');
    }
    const batch = vi.spyOn(BpfMap.prototype as unknown as { batchEntries(): unknown }, 'batchEntries');
    const entries = big.entries();
    expect(batch).toHaveBeenCalledTimes(1);
    expect(batch.mock.results[0]?.value).toHaveLength(10_000); // the batch path answered, no fallback
    expect(entries).toHaveLength(10_000);
    expect(asRecord(entries)).toEqual(written);

    const iterated: Array<[Buffer, Buffer]> = [...big.keys()].map((k) => [k, big.lookup(k)!]);
    expect(iterated).toHaveLength(10_000);
    expect(asRecord(iterated)).toEqual(written);
  });

  it('setMaxEntries bounds the hash: one more than max is E2BIG', () => {
    const big = loadFixture({ skip: onlyGetppid, maxEntries: { big: 100 } }).map('big');
    expect(big.maxEntries).toBe(100);
    for (let i = 0; i < 100; i++) big.update(u32Key(i), u64Value(i));
    const full = thrownBy(() => big.update(u32Key(100), u64Value(100)));
    expect(full).toBeInstanceOf(BpfError);
    expect((full as BpfError).errno).toBe(E2BIG);
    expect(big.entries()).toHaveLength(100);
  });
});
