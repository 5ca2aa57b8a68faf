// Queries paired with their answers, by (client address and port, server
// address and port, query id), into one row per (process, server, name, type).
// A query sent again with its id is one lookup tried twice. A query never
// answered, followed by the same question under a new id (glibc, Go and c-ares
// ask again so after their timeout), was given up then: its wait ends there.
// Decided at the end, not when the later query leaves: threads asking the same
// name at once are not retries of each other. The same packet seen again within
// SAME_PACKET_NS (forwarded from a container out of the host's device) is not
// a retry: no resolver retries that fast.
import type { DnsPacket } from './decode.js';

const SAME_PACKET_NS = 50_000_000n;
/** Rounded to 0.1 ms. */
const ms = (ns: bigint) => Math.round(Number(ns) / 1e5) / 10;
/** Send times kept per row (for the retries of unanswered queries). */
const MAX_SENDS = 100_000;
/** Waits kept per row, the longest. */
export const WAITS_KEPT = 256;

export interface LookupRow {
  pid: number;
  comm: string;
  cgroupId: string;
  /** "ip:port" ("[v6]:port"). */
  server: string;
  name: string;
  type: string;
  /** Lookups (distinct query ids). */
  queries: number;
  answered: number;
  /** Given up unanswered: asked again under a new id. */
  unanswered: number;
  /** Still unanswered at the window's end. */
  waiting: number;
  /** Queries sent again, under the same id or a new one. */
  retries: number;
  /** Answers by RCODE (NOERROR, NXDOMAIN, SERVFAIL, ...). */
  rcodes: Record<string, number>;
  /** Answers that did not fit in UDP (TC). */
  truncated: number;
  /** Every lookup's wait (until its answer, until asked again under a new id, or until the window's end), summed. */
  totalWaitMs: number;
  /** The longest waits, most first (at most WAITS_KEPT). */
  waitsMs: number[];
  firstSeen: bigint;
  lastSeen: bigint;
}

interface Pending {
  row: LookupRow;
  sentNs: bigint;
  lastSentNs: bigint;
}

const endpoint = (ip: string, port: number) => (ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`);

export class Lookups {
  private readonly pending = new Map<string, Pending>();
  private readonly rows = new Map<string, LookupRow>();
  /** When each row's queries left, in order: a later one ends an unanswered one's wait. */
  private readonly sends = new Map<LookupRow, bigint[]>();
  /** Answers to no query seen (sent before the window, or to an unselected process). */
  unmatched = 0;
  /** Queries not followed past maxPending. */
  overCap = 0;

  constructor(private readonly maxPending: number) {}

  add(p: DnsPacket): void {
    const m = p.message;
    if (!m) return;
    if (p.direction === 'query' && !m.response) this.query(p, `${endpoint(p.source, p.sourcePort)}>${endpoint(p.destination, p.destinationPort)}#${m.id}`);
    else if (p.direction === 'response' && m.response)
      this.answer(p, `${endpoint(p.destination, p.destinationPort)}>${endpoint(p.source, p.sourcePort)}#${m.id}`);
  }

  private query(p: DnsPacket, key: string): void {
    const again = this.pending.get(key);
    if (again) {
      if (p.tsNs - again.lastSentNs >= SAME_PACKET_NS) again.row.retries++;
      again.lastSentNs = p.tsNs;
      return;
    }
    if (this.pending.size >= this.maxPending) {
      this.overCap++;
      return;
    }
    const row = this.rowOf(p);
    row.queries++;
    row.lastSeen = p.tsNs;
    this.pending.set(key, { row, sentNs: p.tsNs, lastSentNs: p.tsNs });
    const sends = this.sends.get(row);
    if (!sends) this.sends.set(row, [p.tsNs]);
    else if (sends.length < MAX_SENDS) sends.push(p.tsNs);
  }

  private answer(p: DnsPacket, key: string): void {
    const pending = this.pending.get(key);
    if (!pending) {
      this.unmatched++;
      return;
    }
    this.pending.delete(key);
    const row = pending.row;
    const rcode = p.message!.rcode;
    row.rcodes[rcode] = (row.rcodes[rcode] ?? 0) + 1;
    if (p.message!.truncated) row.truncated++;
    row.lastSeen = p.tsNs;
    this.close(row, p.tsNs - pending.sentNs, 'answered');
  }

  private close(row: LookupRow, waitNs: bigint, outcome: 'answered' | 'unanswered' | 'waiting'): void {
    row[outcome]++;
    const wait = ms(waitNs);
    row.totalWaitMs = Math.round((row.totalWaitMs + wait) * 10) / 10;
    const waits = row.waitsMs;
    if (waits.length < WAITS_KEPT || wait > waits[waits.length - 1]!) {
      const at = waits.findIndex((w) => w < wait);
      waits.splice(at < 0 ? waits.length : at, 0, wait);
      if (waits.length > WAITS_KEPT) waits.pop();
    }
  }

  private rowOf(p: DnsPacket): LookupRow {
    const m = p.message!;
    const server = endpoint(p.destination, p.destinationPort);
    const name = m.name ?? '?';
    const type = m.type ?? '?';
    const key = `${p.pid}\0${server}\0${name}\0${type}`;
    let row = this.rows.get(key);
    if (!row) {
      row = {
        pid: p.pid,
        comm: p.comm,
        cgroupId: p.cgroupId.toString(),
        server,
        name,
        type,
        queries: 0,
        answered: 0,
        unanswered: 0,
        waiting: 0,
        retries: 0,
        rcodes: {},
        truncated: 0,
        totalWaitMs: 0,
        waitsMs: [],
        firstSeen: p.tsNs,
        lastSeen: p.tsNs,
      };
      this.rows.set(key, row);
    }
    return row;
  }

  /** Every row; each query never answered given up at the next one of its row, or still waiting at endNs. */
  finish(endNs: bigint): LookupRow[] {
    for (const sends of this.sends.values()) sends.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)); // reserved in near, not exact, time order across CPUs
    for (const { row, sentNs } of this.pending.values()) {
      const next = firstAfter(this.sends.get(row) ?? [], sentNs);
      if (next !== undefined) {
        row.retries++;
        this.close(row, next - sentNs, 'unanswered');
      } else this.close(row, endNs > sentNs ? endNs - sentNs : 0n, 'waiting');
    }
    this.pending.clear();
    return [...this.rows.values()];
  }
}

/** The first of sorted times after t (binary search). */
function firstAfter(times: bigint[], t: bigint): bigint | undefined {
  let [lo, hi] = [0, times.length];
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (times[mid]! > t) hi = mid;
    else lo = mid + 1;
  }
  return times[lo];
}
