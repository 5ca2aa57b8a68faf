// Ring buffer drain: the test fixture emits BURST 16-byte records per getppid()
// of one child (a C helper making getppid syscalls at a set rate), into a ring
// buffer with BPF_RB_NO_WAKEUP; this process drains it on a 10 ms timer with
// RingBufferReader and decodes every record, as a capture would. Produced
// comes from the fixture's seq counter, drops from its rb_drops map, consumed
// from the handler; seq gaps cross-check the drops.
//
// Then a side-by-side of record decoders on identical fills of the ring: the
// pure-JS mmap reader with Buffer reads (the design), the same reader with
// koffi.decode of a struct per record, and libbpf's own ring_buffer__consume
// calling a koffi callback per record (the obvious FFI design).
import { join } from 'node:path';
import { BpfObject, RingBufferReader, type BpfMap } from '../src/libbpf/index.js';
import type { TypeObject } from 'koffi';
import { koffi } from '../src/libbpf/native.js';
import { projectRoot } from '../src/util/paths.js';
import { LineChild, TempDir } from './processes.js';
import { fmtCount, fmtMiB, fmtMs, fmtPct, fmtRate, fmtRatio, kv, median, msSince, note, numericColumns, section, table, verdict } from './report.js';

const FIXTURE = join(projectRoot, 'build', 'test-bpf', 'fixture', 'fixture.bpf.o');
const BURST = 64; // records per getppid()
const RING_BYTES = 16 << 20;
const SLOT_BYTES = 24; // 8-byte ring header + struct fixture_record (16), 8-aligned
const DRAIN_INTERVAL_MS = 10; // as run-capture.ts
const PHASE_MS = 2000; // each paced phase; the helper also stops itself at PHASE_MS + 1 s
const RATES = [100_000, 300_000, 1_000_000, 3_000_000, 0]; // events/s asked of the producer; 0 = unpaced
const UNPACED_MAX_CALLS = 150_000; // bounds the unpaced phase by count as well (≤ 9.6 M records)
const FILL_CALLS = 4_000; // decoder comparison: 256 k records (6 MiB) per fill, well under the ring
const DECODE_ROUNDS = 5;
const TARGET_RATE = 100_000;

/**
 * Reads "<calls> <calls_per_s> <max_ms>" lines; makes up to <calls> getppid
 * syscalls, paced (0 = back to back), for at most <max_ms>; answers
 * "<calls_made> <elapsed_ns>". Exits on EOF or a malformed line.
 */
const GETPPID_DRIVER_C = String.raw`
#define _GNU_SOURCE
#include <stdio.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(void)
{
	char line[256];

	setvbuf(stdout, NULL, _IOLBF, 0);
	while (fgets(line, sizeof(line), stdin)) {
		long long calls, rate, max_ms, done = 0, t0, deadline, t;

		if (sscanf(line, "%lld %lld %lld", &calls, &rate, &max_ms) != 3 || max_ms > 60000)
			break;
		t0 = now_ns();
		deadline = t0 + max_ms * 1000000LL;
		while (done < calls && (t = now_ns()) < deadline) {
			long long due = calls;
			if (rate > 0) {
				due = (t - t0) * rate / 1000000000LL + 1;
				if (due > calls)
					due = calls;
				if (done >= due) {
					struct timespec ts = { 0, 100000 };
					nanosleep(&ts, NULL);
					continue;
				}
			}
			for (int i = 0; i < 256 && done < due; i++, done++)
				syscall(SYS_getppid);
		}
		printf("%lld %lld\n", done, now_ns() - t0);
	}
	return 0;
}
`;

type Check = (seq: number, tgid: number, cpu: number) => void;

/** What a realistic consumer does per record: read the fields, check them, count. */
function makeChecker(tgid: number) {
  const s = { records: 0, nextSeq: 0, gaps: 0, reordered: 0, foreign: 0, cpus: new Uint32Array(256) };
  const check: Check = (seq, t, cpu) => {
    s.records++;
    if (t !== tgid) s.foreign++;
    if (seq < s.nextSeq) s.reordered++;
    else {
      s.gaps += seq - s.nextSeq;
      s.nextSeq = seq + 1;
    }
    s.cpus[cpu & 255]!++;
  };
  return { s, check };
}

const u64At0 = (map: BpfMap): number => Number(map.lookup(Buffer.alloc(4))?.readBigUInt64LE(0) ?? 0n);

interface LibbpfRingApi {
  sampleFn: TypeObject;
  record: TypeObject;
  ringBufferNew: (mapFd: number, callback: unknown, ctx: null, opts: null) => unknown;
  ringBufferConsume: (rb: unknown) => number;
  ringBufferFree: (rb: unknown) => void;
}
let libbpfRingApi: LibbpfRingApi | undefined;

/** The few libbpf ring_buffer calls the binding does not declare (it does not use them). */
function bindLibbpfRing(): LibbpfRingApi {
  if (!libbpfRingApi) {
    const libbpf = koffi.load(process.env.SHERLOCK_LIBBPF ?? 'libbpf.so.1');
    libbpfRingApi = {
      sampleFn: koffi.proto('int bench_ring_buffer_sample_fn(void *ctx, void *data, size_t size)'),
      record: koffi.struct('bench_fixture_record', { seq: 'uint64_t', tgid: 'uint32_t', cpu: 'uint32_t' }),
      ringBufferNew: libbpf.func('void *ring_buffer__new(int map_fd, bench_ring_buffer_sample_fn *cb, void *ctx, void *opts)'),
      ringBufferConsume: libbpf.func('int ring_buffer__consume(void *rb)'),
      ringBufferFree: libbpf.func('void ring_buffer__free(void *rb)'),
    };
  }
  return libbpfRingApi;
}

/** libbpf's ring_buffer consumer with one koffi callback per record. */
class LibbpfConsumer {
  private readonly api = bindLibbpfRing();
  private readonly callback: unknown;
  private rb: unknown;
  check: Check = () => {};

  constructor(mapFd: number) {
    const { record } = this.api;
    this.callback = koffi.register((_ctx: unknown, data: unknown) => {
      const r = koffi.decode(data, record) as { seq: number; tgid: number; cpu: number };
      this.check(r.seq, r.tgid, r.cpu);
      return 0;
    }, koffi.pointer(this.api.sampleFn));
    this.rb = this.api.ringBufferNew(mapFd, this.callback, null, null);
    if (!this.rb) {
      koffi.unregister(this.callback as bigint);
      throw new Error(`ring_buffer__new failed: errno ${koffi.errno()}`);
    }
  }

  consume(): number {
    const n = this.api.ringBufferConsume(this.rb);
    if (n < 0) throw new Error(`ring_buffer__consume failed: ${n}`);
    return n;
  }

  close(): void {
    if (!this.rb) return;
    this.api.ringBufferFree(this.rb);
    koffi.unregister(this.callback as bigint);
    this.rb = null;
  }
}

export async function ringbufDrain(): Promise<void> {
  const tmp = new TempDir('ringbuf');
  let driver: LineChild | undefined;
  let object: BpfObject | undefined;
  let reader: RingBufferReader | undefined;
  let libbpfConsumer: LibbpfConsumer | undefined;
  try {
    driver = new LineChild(tmp.compileC('getppid-driver', GETPPID_DRIVER_C));
    const tgid = driver.pid;
    object = BpfObject.open(FIXTURE);
    object.setRodata({ trigger_tgid: tgid, burst: BURST });
    object.setMaxEntries('events', RING_BYTES);
    for (const p of object.spec.programs) object.setAutoload(p.name, p.name === 'on_getppid');
    object.load();
    const seqMap = object.map('seq');
    const dropsMap = object.map('rb_drops');
    reader = new RingBufferReader(object.map('events'));
    object.attach('on_getppid');
    const { s, check } = makeChecker(tgid);
    const onRecord = (d: Buffer) => check(d.readUInt32LE(0) + d.readUInt32LE(4) * 4294967296, d.readUInt32LE(8), d.readUInt32LE(12));
    const ring = reader;

    // --- sustained drain at a few producer rates ---------------------------
    note(
      `fixture: burst ${BURST} records/getppid, ring ${fmtMiB(RING_BYTES)} (${fmtCount(RING_BYTES / SLOT_BYTES)} records), drain every ${DRAIN_INTERVAL_MS} ms, producer pid ${tgid}`,
    );
    section(`sustained drain, ${PHASE_MS} ms per producer rate`);
    const rows: string[][] = [];
    const cleanRates: number[] = [];
    const checks: string[] = [];
    for (const rate of RATES) {
      const seq0 = u64At0(seqMap);
      const drops0 = u64At0(dropsMap);
      const records0 = s.records;
      const gaps0 = s.gaps;
      s.nextSeq = seq0;
      let busyMs = 0;
      let maxDrainMs = 0;
      let maxFill = 0;
      const drainOnce = () => {
        maxFill = Math.max(maxFill, ring.pending() / RING_BYTES);
        const t = process.hrtime.bigint();
        ring.drain(onRecord);
        const ms = msSince(t);
        busyMs += ms;
        maxDrainMs = Math.max(maxDrainMs, ms);
      };
      const callsPerSecond = Math.ceil(rate / BURST);
      const calls = rate ? Math.ceil((callsPerSecond * PHASE_MS) / 1000) : UNPACED_MAX_CALLS;
      const t0 = process.hrtime.bigint();
      const ticker = setInterval(drainOnce, DRAIN_INTERVAL_MS);
      let reply: string;
      try {
        reply = await driver.request(`${calls} ${callsPerSecond} ${PHASE_MS + 1000}`, PHASE_MS + 10_000);
      } finally {
        clearInterval(ticker);
      }
      drainOnce(); // what was submitted after the last tick
      const wallMs = msSince(t0);
      const [callsMade = 0, producerNs = 0] = reply.split(' ').map(Number);
      const produced = u64At0(seqMap) - seq0;
      const drops = u64At0(dropsMap) - drops0;
      const consumed = s.records - records0;
      const unaccounted = produced - consumed - drops;
      const clean = drops === 0 && unaccounted === 0 && produced === callsMade * BURST;
      if (clean) cleanRates.push(consumed / (wallMs / 1000));
      // Dropped records show as holes in seq, or after the last record consumed.
      const gaps = s.gaps - gaps0 + (seq0 + produced - s.nextSeq);
      if (gaps !== drops) checks.push(`rate ${rate || 'max'}: seq gaps ${gaps} ≠ drops ${drops}`);
      if (produced !== callsMade * BURST) checks.push(`rate ${rate || 'max'}: produced ${produced} ≠ calls ${callsMade} × ${BURST}`);
      rows.push([
        rate ? fmtRate(rate) : 'unpaced',
        fmtCount(produced),
        fmtCount(consumed),
        fmtCount(drops),
        fmtCount(unaccounted),
        fmtRate(produced / (producerNs / 1e9)),
        fmtRate(consumed / (wallMs / 1000)),
        fmtPct(busyMs / wallMs),
        fmtMs(maxDrainMs),
        fmtPct(maxFill),
      ]);
    }
    table(['asked', 'produced', 'consumed', 'drops', 'lost', 'produced/s', 'consumed/s', 'JS busy', 'max drain', 'max fill'], rows, numericColumns(10));
    note('produced = seq counter delta (= getppid calls × burst); drops = rb_drops delta; lost = produced − consumed − drops');
    note('consumed/s = records handed to JS ÷ wall time of the phase; JS busy = time inside drain() ÷ wall time');
    note('max fill = largest unconsumed share of the ring seen at a drain tick');
    kv('records from another tgid / reordered', `${s.foreign} / ${s.reordered}`);
    kv(
      'per-CPU records (producer migrations)',
      [...s.cpus]
        .map((n, cpu) => (n ? `cpu${cpu}: ${fmtCount(n)}` : ''))
        .filter(Boolean)
        .join(', '),
    );
    for (const c of checks) note(`CHECK FAILED: ${c}`);
    const best = Math.max(0, ...cleanRates);
    verdict(best >= TARGET_RATE, `best zero-drop phase consumed ${fmtRate(best)} (≥${fmtRate(TARGET_RATE)} asked)`);

    // --- decoder comparison on identical fills ------------------------------
    section(`record decoders side by side: ${DECODE_ROUNDS} rounds × fill of ${fmtCount(FILL_CALLS * BURST)} records, one timed drain each, order rotated`);
    libbpfConsumer = new LibbpfConsumer(object.map('events').fd);
    const { record: recordType } = bindLibbpfRing();
    const lb = libbpfConsumer;
    const methods: Array<{ name: string; drain: () => number }> = [
      { name: 'mmap reader + Buffer reads (design)', drain: () => ring.drain(onRecord) },
      {
        name: 'mmap reader + koffi.decode(struct)',
        drain: () =>
          ring.drain((d) => {
            const r = koffi.decode(d, recordType) as { seq: number; tgid: number; cpu: number };
            check(r.seq, r.tgid, r.cpu);
          }),
      },
      {
        name: 'libbpf ring_buffer__consume + koffi callback',
        drain: () => {
          lb.check = check;
          return lb.consume();
        },
      },
    ];
    const perMethod = methods.map(() => [] as number[]);
    const expected = FILL_CALLS * BURST;
    for (let round = 0; round < DECODE_ROUNDS; round++) {
      for (let k = 0; k < methods.length; k++) {
        const m = (round + k) % methods.length;
        const method = methods[m]!;
        if (ring.pending() !== 0) ring.drain(onRecord);
        const drops0 = u64At0(dropsMap);
        s.nextSeq = u64At0(seqMap);
        const gaps0 = s.gaps;
        const [callsMade = 0] = (await driver.request(`${FILL_CALLS} 0 10000`, 20_000)).split(' ').map(Number);
        const t = process.hrtime.bigint();
        const n = method.drain();
        const ms = msSince(t);
        const drops = u64At0(dropsMap) - drops0;
        if (n !== expected || callsMade !== FILL_CALLS || drops !== 0 || s.gaps !== gaps0) {
          note(`CHECK FAILED: ${method.name}: drained ${n}, expected ${expected} (drops ${drops}, gaps ${s.gaps - gaps0})`);
        }
        perMethod[m]!.push(n / (ms / 1000));
      }
    }
    const base = median(perMethod[0]!);
    table(
      ['decoder', 'median records/s', 'min', 'max', 'vs design'],
      methods.map((m, i) => {
        const xs = perMethod[i]!;
        return [m.name, fmtRate(median(xs)), fmtRate(Math.min(...xs)), fmtRate(Math.max(...xs)), fmtRatio(median(xs) / base)];
      }),
      numericColumns(5),
    );
    note('each drain decodes seq/tgid/cpu and runs the same checks; records/s = records ÷ time of that one drain');
  } finally {
    libbpfConsumer?.close();
    reader?.close();
    object?.close();
    await driver?.close();
    tmp.remove();
  }
}
