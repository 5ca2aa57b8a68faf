// RingBufferReader over the fixture's "events": every record the program
// submits is read once, in seq order, and a full ring counts drops instead.
// on_getppid submits `burst` records per call, seq taken before reserving, so
// a failed reservation leaves a gap in seq and a count in rb_drops.
import { afterEach, describe, expect, it } from 'vitest';
import { possibleCpuCount, RingBufferReader, type RingBufferReaderOptions } from '../../src/libbpf/index.js';
import {
  closeFixtures,
  decodeRecord,
  expectNothingLeft,
  kernelSkip,
  kernelTitle,
  loadFixture,
  readU64,
  triggerGetppid,
  type FixtureRecord,
} from './fixture.js';

const onlyGetppid = ['on_sample', 'on_getpgid'];
const readers: RingBufferReader[] = [];

/** Loads with this burst (and ring size), attaches on_getppid, opens a reader. */
function setup(burst: number, ringBytes?: number, options: RingBufferReaderOptions = {}) {
  const obj = loadFixture({ rodata: { burst }, skip: onlyGetppid, maxEntries: ringBytes ? { events: ringBytes } : {} });
  obj.attach('on_getppid');
  const reader = new RingBufferReader(obj.map('events'), options);
  readers.push(reader);
  const drain = (): FixtureRecord[] => {
    const out: FixtureRecord[] = [];
    reader.drain((data) => out.push(decodeRecord(data)));
    return out;
  };
  const produced = () => readU64(obj.map('seq'), 0) ?? 0n;
  const drops = () => readU64(obj.map('rb_drops'), 0) ?? 0n;
  return { obj, reader, drain, produced, drops };
}

const seqRange = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => BigInt(from + i));

describe.skipIf(kernelSkip)(kernelTitle('ring buffer'), () => {
  afterEach(() => {
    for (const r of readers.splice(0)) r.close();
    closeFixtures();
    expectNothingLeft();
  });

  it('64 records per getppid, 1000 calls: 64000 records, every seq once, all ours', () => {
    const { reader, drain, produced, drops } = setup(64);
    const calls = triggerGetppid(1000);
    const total = calls * 64;
    expect(produced()).toBe(BigInt(total));
    expect(reader.pending()).toBeGreaterThan(0);

    const records = drain();
    const dropped = Number(drops());
    expect(records.length + dropped).toBe(total);
    const seqs = records.map((r) => r.seq);
    expect(new Set(seqs).size).toBe(records.length); // no record twice
    if (dropped === 0)
      expect(seqs).toEqual(seqRange(0, total)); // in order, no gap
    else expect(seqs.every((s) => s >= 0n && s < BigInt(total))).toBe(true);
    expect(records.every((r) => r.tgid === process.pid)).toBe(true);
    expect(records.every((r) => r.cpu < possibleCpuCount())).toBe(true);

    expect(reader.consumed).toBe(records.length);
    expect(reader.pending()).toBe(0);
    expect(drain()).toEqual([]); // nothing is read twice
  });

  it('a drain given a time to stop at ends at a chunk boundary and the next drain goes on from there', () => {
    const { reader, produced } = setup(64, undefined, { copyChunkBytes: 4096 });
    const total = triggerGetppid(200) * 64; // 12800 records of 24 bytes: ~75 chunks
    expect(produced()).toBe(BigInt(total));
    const mark = reader.producerPosition();
    const seqs: bigint[] = [];
    const handle = (data: Buffer) => void seqs.push(decodeRecord(data).seq);
    // A time already past: one chunk, then it stops.
    const first = reader.drain(handle, 0);
    expect(first).toBeGreaterThan(0);
    expect(first).toBeLessThanOrEqual(4096 / 24);
    expect(reader.consumerPosition()).toBeLessThan(mark);
    let drains = 1;
    while (reader.consumerPosition() < mark) {
      reader.drain(handle, 0);
      drains++;
    }
    expect(drains).toBeGreaterThan(50);
    expect(seqs).toEqual(seqRange(0, total)); // every record once, in order, across the slices
    expect(reader.pending()).toBe(0);
  });

  it('a 4 KiB ring that fills up: received + rb_drops == produced, the received are the first ones', () => {
    const { reader, drain, produced, drops } = setup(64, 4096);
    expect(reader.map.maxEntries).toBe(4096);
    const total = triggerGetppid(200) * 64; // 12800 records of 24 bytes, ~170 fit
    const records = drain();
    expect(produced()).toBe(BigInt(total));
    expect(drops()).toBeGreaterThan(0n);
    expect(BigInt(records.length) + drops()).toBe(BigInt(total));
    // Nothing was consumed while producing, so once full every reservation failed.
    expect(records.map((r) => r.seq)).toEqual(seqRange(0, records.length));
    expect(records.length).toBeLessThan(4096 / 24 + 1);

    // Draining gave the space back: the next 64 all fit.
    triggerGetppid(1);
    expect(drain().map((r) => r.seq)).toEqual(seqRange(total, total + 64));
    expect(BigInt(records.length + 64) + drops()).toBe(produced());
  });

  it('records that wrap around the end of a small ring read whole', () => {
    // 64 records × 24 bytes per call: 1536 bytes, so a 4096-byte ring wraps
    // every ~2.7 calls, and records straddle its end.
    const { drain, drops } = setup(64, 4096);
    let next = 0;
    for (let call = 0; call < 60; call++) {
      triggerGetppid(1);
      const records = drain();
      expect(
        records.map((r) => r.seq),
        `call ${call}`,
      ).toEqual(seqRange(next, next + 64));
      expect(records.every((r) => r.tgid === process.pid)).toBe(true);
      next += 64;
    }
    expect(drops()).toBe(0n);
  });

  it('copied out a few bytes at a time (less than one record): every record read whole, in order', () => {
    // 24-byte records through a 16-byte copy: the reader grows its buffer to the record.
    const { drain, drops } = setup(64, 4096, { copyChunkBytes: 16 });
    let next = 0;
    for (let call = 0; call < 10; call++) {
      triggerGetppid(1);
      expect(drain().map((r) => r.seq)).toEqual(seqRange(next, next + 64));
      next += 64;
    }
    expect(drops()).toBe(0n);
  });

  it('a 16 MiB ring costs no V8 external memory (which would force GCs at every capture start)', () => {
    // A view of the mapping counted its whole length (twice the ring) as external
    // memory: ~10 ms of garbage collection in the start of a run that maps a few rings.
    globalThis.gc?.();
    const before = process.memoryUsage().external;
    const { drain } = setup(64, 16 << 20);
    triggerGetppid(1000);
    expect(drain()).toHaveLength(64_000);
    expect(process.memoryUsage().external - before).toBeLessThan(2 << 20);
  });

  it('close() twice is safe and a closed reader reads nothing', () => {
    const { reader, drain } = setup(4);
    triggerGetppid(2);
    reader.close();
    reader.close();
    expect(drain()).toEqual([]);
    expect(reader.pending()).toBe(0);
  });

  it('a reader outlives its object: the mapping keeps the ring', () => {
    const { obj, drain } = setup(8);
    triggerGetppid(3);
    obj.close();
    expect(drain().map((r) => r.seq)).toEqual(seqRange(0, 24));
  });

  it('only ring buffers can be read: TypeError for another map', () => {
    const { obj } = setup(1);
    expect(() => new RingBufferReader(obj.map('counts'))).toThrow(/counts is a hash, not a ringbuf/);
  });
});
