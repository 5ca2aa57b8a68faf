// Queries paired with their answers, by (client address and port, server
// address and port, query id), into one row per (process, server, name, type).
// A query sent again with its id is one lookup tried twice. A query never
// answered, followed by the same question under a new id (glibc, Go and c-ares
// ask again so after their timeout), was given up then: its wait ends there.
// Decided at the end, not when the later query leaves: threads asking the same
// name at once are not retries of each other. The same packet seen again within
// SAME_PACKET_NS (forwarded from a container out of the host's device) is not
// a retry: no resolver retries that fast. A query never answered, followed by
// the same question to another server, was given up for that one: the
// resolver moved on to its next nameserver.
import type { DnsPacket } from './decode.js';

const SAME_PACKET_NS = 50_000_000n;
/** The same question to another server this soon is asked beside it (a forwarder asking all), not after giving up: no resolver times out faster. */
const MIN_TIMEOUT_NS = 200_000_000n;
/** Rounded to 0.1 ms. */
const ms = (ns: bigint) => Math.round(Number(ns) / 1e5) / 10;
/** Times a question was asked kept per process (for what ended an unanswered query's wait). */
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
  /** Queries sent again to this server, under the same id or a new one. */
  retries: number;
  /** Given up unanswered when the same question went to another server, by that server: the resolver moved on. */
  failedOverTo: Record<string, number>;
  /** Answers by RCODE (NOERROR, NXDOMAIN, SERVFAIL, ...). */
  rcodes: Record<string, number>;
  /** Answers that did not fit in UDP (TC). */
  truncated: number;
  /** Every lookup's wait (until its answer, until asked again under a new id, or until the window's end), summed. */
  totalWaitMs: number;
  /** The longest waits, most first (at most WAITS_KEPT). */
  waitsMs: number[];
  /** When each of waitsMs began, in ms since the capture began: lookups asked at once (A and AAAA) overlap. */
  waitStartsMs: number[];
  firstSeen: bigint;
  lastSeen: bigint;
}

interface Asked {
  tsNs: bigint;
  server: string;
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
  /** When a process asked each question, and of which server: the next time ends an unanswered query's wait. */
  private readonly asked = new Map<string, Asked[]>();
  /** Answers to no query seen (sent before the window, or to an unselected process). */
  unmatched = 0;
  /** Queries not followed past maxPending. */
  overCap = 0;

  /** `originNs`: when the capture began (the zero of waitStartsMs). */
  constructor(
    private readonly maxPending: number,
    private readonly originNs = 0n,
  ) {}

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
    const question = questionOf(row);
    const asked = this.asked.get(question);
    if (!asked) this.asked.set(question, [{ tsNs: p.tsNs, server: row.server }]);
    else if (asked.length < MAX_SENDS) asked.push({ tsNs: p.tsNs, server: row.server });
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
    this.close(row, pending.sentNs, p.tsNs, 'answered');
  }

  private close(row: LookupRow, sentNs: bigint, endNs: bigint, outcome: 'answered' | 'unanswered' | 'waiting'): void {
    row[outcome]++;
    const wait = ms(endNs > sentNs ? endNs - sentNs : 0n);
    row.totalWaitMs = Math.round((row.totalWaitMs + wait) * 10) / 10;
    const waits = row.waitsMs;
    if (waits.length < WAITS_KEPT || wait > waits[waits.length - 1]!) {
      let at = waits.findIndex((w) => w < wait);
      if (at < 0) at = waits.length;
      waits.splice(at, 0, wait);
      row.waitStartsMs.splice(at, 0, ms(sentNs - this.originNs));
      if (waits.length > WAITS_KEPT) {
        waits.pop();
        row.waitStartsMs.pop();
      }
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
        failedOverTo: {},
        rcodes: {},
        truncated: 0,
        totalWaitMs: 0,
        waitsMs: [],
        waitStartsMs: [],
        firstSeen: p.tsNs,
        lastSeen: p.tsNs,
      };
      this.rows.set(key, row);
    }
    return row;
  }

  /** Every row; each query never answered given up at the next one of its row or the same question to another server, or still waiting at endNs. */
  finish(endNs: bigint): LookupRow[] {
    // Reserved in near, not exact, time order across CPUs.
    for (const asked of this.asked.values()) asked.sort((a, b) => (a.tsNs < b.tsNs ? -1 : a.tsNs > b.tsNs ? 1 : 0));
    for (const { row, sentNs } of this.pending.values()) {
      const next = this.nextAsked(row, sentNs);
      if (!next) this.close(row, sentNs, endNs, 'waiting');
      else {
        if (next.server === row.server) row.retries++;
        else row.failedOverTo[next.server] = (row.failedOverTo[next.server] ?? 0) + 1;
        this.close(row, sentNs, next.tsNs, 'unanswered');
      }
    }
    this.pending.clear();
    return [...this.rows.values()];
  }

  /** What ended an unanswered query's wait: the question asked again of its server, or of another once it timed out (not beside it). */
  private nextAsked(row: LookupRow, sentNs: bigint): Asked | undefined {
    const asked = this.asked.get(questionOf(row)) ?? [];
    for (let i = firstAfter(asked, sentNs); i < asked.length; i++) {
      const next = asked[i]!;
      if (next.server === row.server || next.tsNs - sentNs >= MIN_TIMEOUT_NS) return next;
    }
    return undefined;
  }
}

/** A process's question, whichever server it asks. */
const questionOf = (row: LookupRow) => `${row.pid}\0${row.name}\0${row.type}`;

/** The index of the first of `asked` (sorted) after t (binary search; asked.length if none). */
function firstAfter(asked: Asked[], t: bigint): number {
  let [lo, hi] = [0, asked.length];
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (asked[mid]!.tsNs > t) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}
