// One row per side of a conversation (a client of one peer, a server on one
// port, per process), from the kernel's histograms ("answers"), the slow
// answers it recorded one by one, and the connections still waiting at the end.
import { mergeHistograms, type Log2Histogram } from '../histogram.js';
import { sideId, type AnswerRecord, type ConnState, type SideKey, type SideStats } from './decode.js';

/** Slow answers kept per row (the longest): enough for a p99 of 10k answers and a shape. */
const MAX_WAITS = 100;
/** A server's answering threads kept per row: a thread-per-request server has one per request. */
const MAX_THREADS = 1024;

/** One wait: when it ended (ms since the capture began) and how long it was (ms). */
export type Span = [endMs: number, ms: number];

export interface SideRow extends SideKey {
  comm: string;
  cgroupId: bigint;
  /** Every answer timed (the histogram's count), and their total time. */
  answers: number;
  waitedMs: number;
  /** Upper bounds of the log2 bucket holding the median and the 99th answer. */
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  histogram?: Log2Histogram;
  /** Answers that took recordMs or more: how many, and the longest (longest first). */
  slowAnswers: number;
  waits: Span[];
  /** A server's: the threads that gave its slow answers, with their time in them ([tid, ms], at most MAX_THREADS), for what they did meanwhile (their sleeps). */
  threads?: [tid: number, ms: number][];
  /** Requests a client gave up on (closed the connection still waiting), with how long it had waited. */
  abandoned: number;
  abandonedWaits: Span[];
  /** Still waiting at the end, recordMs or longer: a client for its answer, a server to answer. */
  waiting: number;
  waitingWaits: Span[];
  /** Of those, waited on since before the window (unanswered.ts), and the longest of their waits (ms), which began before it. */
  waitingBefore: number;
  waitingBeforeMaxMs: number;
  /** Of those, a client's whose request the peer has not even acknowledged (gone, or the path to it). */
  waitingUnacked: number;
  /** Connections followed at the end. */
  connections: number;
  /** Writes Nagle's algorithm held until the peer's ACK (TCP_NODELAY off): how many, their total and longest hold. */
  held: number;
  heldMs: number;
  heldMaxMs: number;
}

const ms = (ns: number | bigint) => Math.round(Number(ns) / 1e4) / 100;

export class Sides {
  private readonly rows = new Map<string, SideRow>();

  /** startNs: the capture's start (CLOCK_MONOTONIC), which spans' ends count from. */
  constructor(
    private readonly recordNs: bigint,
    private readonly startNs: bigint,
  ) {}

  private span(endNs: bigint, waitNs: number | bigint): Span {
    return [ms(endNs - this.startNs), ms(waitNs)];
  }

  private row(key: SideKey, comm: string, cgroupId: bigint): SideRow {
    const id = sideId(key);
    let r = this.rows.get(id);
    if (!r) {
      r = {
        ...key,
        comm,
        cgroupId,
        answers: 0,
        waitedMs: 0,
        p50Ms: 0,
        p99Ms: 0,
        maxMs: 0,
        slowAnswers: 0,
        waits: [],
        abandoned: 0,
        abandonedWaits: [],
        waiting: 0,
        waitingWaits: [],
        waitingBefore: 0,
        waitingBeforeMaxMs: 0,
        waitingUnacked: 0,
        connections: 0,
        held: 0,
        heldMs: 0,
        heldMaxMs: 0,
      };
      this.rows.set(id, r);
    }
    return r;
  }

  /** A slow answer, or one given up, from the ring. */
  addRecord(e: AnswerRecord): void {
    const r = this.row(e.key, e.comm, e.cgroupId);
    if (e.abandoned) {
      r.abandoned++;
      keepLongest(r.abandonedWaits, this.span(e.endNs, e.waitNs));
    } else {
      r.slowAnswers++;
      keepLongest(r.waits, this.span(e.endNs, e.waitNs));
      if (e.key.role === 'server') addThreadTime((r.threads ??= []), e.tid, e.waitNs / 1e6);
    }
  }

  /** A side's histogram from the kernel. */
  addStats(key: SideKey, s: SideStats): void {
    const r = this.row(key, s.comm, s.cgroupId);
    r.histogram = r.histogram ? mergeHistograms('usecs', [r.histogram, s.histogram]) : s.histogram;
    r.answers = r.histogram.count;
    r.waitedMs = Math.round(r.histogram.sum / 10) / 100;
    r.p50Ms = r.histogram.p50 / 1000;
    r.p99Ms = r.histogram.p99 / 1000;
    r.maxMs = Math.max(r.maxMs, ms(s.maxNs));
    r.held += s.held;
    r.heldMs = Math.round((r.heldMs + s.heldNs / 1e6) * 100) / 100;
    r.heldMaxMs = Math.max(r.heldMaxMs, ms(s.heldMaxNs));
  }

  /** A connection at the end: still waiting for (client) or to give (server) an answer? */
  addConnection(c: ConnState, endNs: bigint): void {
    const r = this.row(c.key, c.comm, c.cgroupId);
    r.connections++;
    // A client waits after its send, unless nothing ever comes back on it (a one-way stream, logs);
    // a server after a request.
    const since = c.key.role === 'client' ? (c.last === 'sent' && c.answered ? c.lastSendNs : 0n) : c.last === 'received' && c.lastRecvNs ? c.lastRecvNs : 0n;
    if (since && endNs - since >= this.recordNs) {
      r.waiting++;
      keepLongest(r.waitingWaits, this.span(endNs, endNs - since));
    }
  }

  /** A connection waiting since before the window (unanswered.ts): its wait fills the window, `ageMs` in all. */
  addUnanswered(key: SideKey, comm: string, ageMs: number, unacked: boolean, endNs: bigint): void {
    const r = this.row(key, comm, 0n);
    r.connections++;
    r.waiting++;
    r.waitingBefore++;
    if (unacked) r.waitingUnacked++;
    r.waitingBeforeMaxMs = Math.max(r.waitingBeforeMaxMs, ageMs);
    keepLongest(r.waitingWaits, this.span(endNs, endNs - this.startNs));
  }

  /** The rows with something timed or awaited, most time spent waiting first. */
  finish(): SideRow[] {
    const rows = [...this.rows.values()].filter((r) => r.answers || r.abandoned || r.waiting || r.held);
    const stuck = (r: SideRow) => total(r.waits) + total(r.abandonedWaits) + total(r.waitingWaits);
    return rows.sort((a, b) => stuck(b) - stuck(a) || b.waitedMs - a.waitedMs);
  }
}

const total = (spans: Span[]) => spans.reduce((a, [, ms]) => a + ms, 0);

/** Adds ms to tid's time in a [tid, ms] list of at most MAX_THREADS threads. */
function addThreadTime(threads: [number, number][], tid: number, ms: number): void {
  const t = threads.find(([id]) => id === tid);
  if (t) t[1] = Math.round((t[1] + ms) * 100) / 100;
  else if (threads.length < MAX_THREADS) threads.push([tid, Math.round(ms * 100) / 100]);
}

/** Inserts into a list kept sorted longest first, at most MAX_WAITS long. */
function keepLongest(list: Span[], span: Span): void {
  if (list.length >= MAX_WAITS && span[1] <= list[list.length - 1]![1]) return;
  let i = list.length;
  while (i > 0 && list[i - 1]![1] < span[1]) i--;
  list.splice(i, 0, span);
  if (list.length > MAX_WAITS) list.pop();
}
