// tcpresponse's checks, per process:
// - a server's slow answers on its port (responseSlowMs or more, or a request
//   still unanswered at the end): the symptom, seen at the socket; in a run
//   that looks at the whole host, information unless a cause takes it (a
//   queue's server answering a BLPOP at its timeout is slow by design);
// - a client's slow answers from a peer: the cause of the first when they
//   overlap them in time (it waited on the peer while its own callers
//   waited); a cause alone when it gave requests up (a client timeout) or the
//   run looks at that process; otherwise a blocking call by design (a queue's
//   BLPOP, a long poll, a watch), said as information.
// Waits that end at one duration, time after time, are a poll's timeout.
// Writes Nagle's algorithm held back are their own finding (nagle.ts), and so
// is a pool of connections kept busy the whole window (pool.ts).
import {
  addressOf,
  arr,
  isObj,
  latencySeverity,
  makeFinding,
  num,
  objs,
  str,
  timeImpact,
  unionLength,
  type AnalysisContext,
  type CaptureAnalysis,
  type Obj,
} from '../../analysis/common.js';
import type { Finding } from '../../analysis/types.js';
import { fmtCount, fmtMs, fmtPct, fmtSeconds, listText, plural, endpointLabel, processLabel } from '../../format/index.js';
import { FUTEX } from '../offcputime/waits.js';
import { nagleFindings, nagleKey } from './nagle.js';
import { poolFindings, type SlowAnswers } from './pool.js';
import type { Span } from './sides.js';

/** A by-design wait: at least this many slow answers, this share of them within CLUSTER_SPREAD of their median. */
const CLUSTER_MIN = 4;
const CLUSTER_SHARE = 0.75;
const CLUSTER_SPREAD = 0.05;
/** Answers that ended this close together were let go by one event. */
const TOGETHER_MS = 5;
/** A fixed wait is this far over the threshold at least (a poll's timeout is seconds, not the threshold's edge). */
const OVER_THRESHOLD = 1.25;
/** A client's waits explain its process's slow answers when they fill this share of their time. */
const COVER_SHARE = 0.25;
/** Spans are rounded to 10 µs and taken on two CPUs: a call's ends may stick out of its answer by this much. */
const CLOCK_SLACK_MS = 1;

/** A row's spans of one kind, at least `min` ms long. */
function spansOf(r: Obj, field: string, min: number): Span[] {
  return arr(r[field]).flatMap((s): Span[] => {
    const [end, ms] = arr(s).map(num) as [number, number];
    return Array.isArray(s) && ms >= min ? [[end, ms]] : [];
  });
}
/** A server's slow answers: those it gave, and those it still owed at the end. */
const slowSpans = (r: Obj, threshold: number) => [...spansOf(r, 'waits', threshold), ...spansOf(r, 'waitingWaits', threshold)];
const lengths = (spans: Span[]) => spans.map(([, ms]) => ms);
const sumOf = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

/**
 * Waits that end at one duration time after time: a poll's or a blocking read's timeout. Waits that ended
 * together are one time: a stall (a fork, a pause) holds every request in flight as long, and lets them go at once.
 * Waits just over the threshold are the tail of the answers' own spread (a busy server's queue), not a fixed time.
 */
function pollTimeout(spans: Span[], threshold: number): number | undefined {
  const m = median(lengths(spans));
  const near = spans.filter(([, w]) => Math.abs(w - m) <= m * CLUSTER_SPREAD);
  const fixed = spans.length >= CLUSTER_MIN && near.length >= spans.length * CLUSTER_SHARE && endTimes(near) >= CLUSTER_MIN;
  return fixed && m >= threshold * OVER_THRESHOLD ? m : undefined;
}

/** How many separate times the spans ended at (those within TOGETHER_MS of the one before are one). */
function endTimes(spans: Span[]): number {
  let times = 0;
  let last = -Infinity;
  for (const end of spans.map(([e]) => e).sort((a, b) => a - b)) {
    if (end - last > TOGETHER_MS) times++;
    last = end;
  }
  return times;
}

/**
 * How much of `served` (a server's slow answers) the client's waits fill: a
 * wait counts inside an answer it began and ended in (a call made while
 * answering), not one that spans many (a watch held open beside the work).
 * The time filled, and the answers at least half filled.
 */
function overlap(waits: Span[], served: Span[]): { ms: number; answers: number } {
  let total = 0;
  let answers = 0;
  for (const [end, ms] of served) {
    const start = end - ms;
    const inside = waits.filter(([e, w]) => e - w >= start - CLOCK_SLACK_MS && e <= end + CLOCK_SLACK_MS);
    const filled = unionLength(inside.map(([e, w]): [number, number] => [Math.max(e - w, start), Math.min(e, end)]));
    total += filled;
    if (filled >= ms / 2) answers++;
  }
  return { ms: total, answers };
}

function analyzeTcpresponse(data: Obj, ctx: AnalysisContext): CaptureAnalysis {
  const threshold = ctx.thresholds.responseSlowMs;
  const rows = objs(data.rows);
  const servers = rows.filter((x) => x.role === 'server');
  // A server's slow answers, per process: what its own calls may fill.
  const served = new Map<number, SlowAnswers>();
  for (const r of servers) {
    const spans = slowSpans(r, threshold);
    if (!spans.length) continue;
    const s = served.get(num(r.pid)) ?? { places: [], spans: [] };
    s.places.push(placeOf(r));
    s.spans.push(...spans);
    served.set(num(r.pid), s);
  }
  const upstreams = rows.flatMap((r) => (r.role === 'client' ? (slowUpstream(r, served.get(num(r.pid)), threshold, ctx) ?? []) : []));
  // Slow answers its own calls filled are not a poll's timeout, whatever their durations.
  const explained = new Set(upstreams.filter((f) => f.links?.explains?.length).map((f) => num(f.evidence.pid)));
  const waitedOn = new Set(upstreams.filter((f) => f.links?.explains?.length && isObj(f.evidence.server)).map((f) => num((f.evidence.server as Obj).pid)));
  // A process that calls upstreams, none of whose calls recorded (recordMs or longer) fell inside its slow answers: the time went inside it.
  const recordMs = num(data.recordMs);
  const inside = new Set(
    [...served].flatMap(([pid, s]) => {
      const calls = rows.filter((r) => r.role === 'client' && num(r.pid) === pid);
      const recorded = calls.flatMap((r) => [...spansOf(r, 'waits', 0), ...spansOf(r, 'abandonedWaits', 0), ...spansOf(r, 'waitingWaits', 0)]);
      return recordMs && calls.some((r) => num(r.answers) > 0) && overlap(recorded, s.spans).ms === 0 ? [pid] : [];
    }),
  );
  const findings = [
    ...servers.flatMap((r) =>
      slowSpans(r, threshold).length
        ? [slowServer(r, threshold, ctx, explained.has(num(r.pid)), waitedOn.has(num(r.pid)), inside.has(num(r.pid)) ? recordMs : undefined)]
        : [],
    ),
    ...upstreams,
    ...nagleFindings(rows, ctx),
    ...poolFindings(rows, served, ctx),
  ];
  const answers = num(data.answers);
  return { findings, checked: `TCP answer times (${plural(answers, 'answer')}, ${plural(rows.length, 'side')} of a conversation)` };
}

/**
 * A row's requests still unanswered at the end: "1 request unanswered for 6.5 min (since before the window)",
 * "3 requests still unanswered at the end, 2 of them since before the window (the oldest for 80 s)".
 */
function stillWaiting(r: Obj, waiting: number[]): string {
  const before = num(r.waitingBefore);
  const oldest = fmtSeconds(num(r.waitingBeforeMaxMs) / 1000);
  const unacked = num(r.waitingUnacked);
  // A request the peer has not even acknowledged: nothing there takes the packets (a host down, a path cut).
  const gone = unacked
    ? `, ${unacked === waiting.length ? (unacked === 1 ? 'not' : 'none') : `${fmtCount(unacked)} of them not`} even acknowledged: the peer, or the path to it, is gone`
    : '';
  if (!before) return `${plural(waiting.length, 'request')} still unanswered at the end`;
  if (waiting.length === 1) return `1 request unanswered for ${oldest} (since before the window)${gone}`;
  if (before === waiting.length) return `${plural(waiting.length, 'request')} unanswered since before the window (the oldest for ${oldest})${gone}`;
  return `${plural(waiting.length, 'request')} still unanswered at the end, ${fmtCount(before)} of them since before the window (the oldest for ${oldest})${gone}`;
}

/**
 * "; its threads now: 1 asleep on a lock or a condition (futex_do_wait) in serve (db.py:28) ← Thread.run (threading.py:982);
 * 1 in inet_csk_accept in <module> (db.py:33)": a hung server's threads, read at the end (hung-threads.ts). Waits
 * idle elsewhere are not called idle here: a server that owes answers may wait for a lock in its event loop.
 */
function threadsText(r: Obj): string {
  const groups = objs(r.threadsNow);
  if (!groups.length) return '';
  const where = (g: Obj) => {
    const wait = str(g.wait);
    const how = g.idle ? `in ${wait}` : FUTEX.test(wait) ? `asleep on a lock or a condition (${wait})` : `asleep in ${wait || '?'}`;
    return `${fmtCount(num(g.threads))} ${how}${str(g.at) ? ` in ${str(g.at)}` : ''}`;
  };
  return `; its threads now: ${groups.map(where).join('; ')}`;
}

/** Evidence of requests waited on since before the window. */
const sinceBefore = (r: Obj) =>
  num(r.waitingBefore)
    ? {
        unansweredSinceBefore: num(r.waitingBefore),
        oldestWaitMs: num(r.waitingBeforeMaxMs),
        ...(num(r.waitingUnacked) ? { unacknowledged: num(r.waitingUnacked) } : {}),
        ...(objs(r.threadsNow).length ? { threadsNow: objs(r.threadsNow) } : {}),
      }
    : {};

/** Where a server answers: "port 8080", or its unix socket's name. */
const placeOf = (r: Obj) => str(r.path) || `port ${num(r.port)}`;
const who = (r: Obj) => `${str(r.comm) || '?'} (pid ${num(r.pid)}${str(r.cgroup) && str(r.cgroup) !== '/' ? `, cgroup ${str(r.cgroup)}` : ''})`;

/**
 * explained: its own calls' waits fill its slow answers; waitedOn: callers of it that answer slowly themselves
 * waited on it then; fastCallsMs: its calls to upstreams during its slow answers all took less than this (the time went inside it).
 */
function slowServer(r: Obj, threshold: number, ctx: AnalysisContext, explained: boolean, waitedOn: boolean, fastCallsMs?: number): Finding {
  const pid = num(r.pid);
  const answered = spansOf(r, 'waits', threshold);
  const slow = lengths(answered);
  const waiting = lengths(spansOf(r, 'waitingWaits', threshold));
  const typical = median([...slow, ...waiting]);
  const lostMs = sumOf(slow) + sumOf(waiting);
  const timeout = waiting.length || explained ? undefined : pollTimeout(answered, threshold);
  const matters = ctx.targetLabel !== undefined && !timeout;
  const answers = num(r.answers);
  // Nothing answered in the window, a request waiting since before it: hung, when callers that answer slowly wait on it.
  const stuck = !answers && num(r.waitingBefore) > 0 && !explained;
  const title =
    `${who(r)} ` +
    (slow.length
      ? `answered ${fmtCount(slow.length)} of ${plural(answers, 'request')} on ${placeOf(r)} on ${ctx.node} in ${fmtMs(threshold)} or more ` +
        `(~${fmtMs(typical)} each, the longest ${fmtMs(Math.max(...slow, ...waiting))}${waiting.length ? `; ${stillWaiting(r, waiting)}` : ''})`
      : `on ${placeOf(r)} on ${ctx.node}: ${stillWaiting(r, waiting)}` + (answers ? ` (it answered ${plural(answers, 'other')} in the window)` : '')) +
    (timeout
      ? `, nearly all after ~${fmtMs(timeout)}: one duration time after time, as a long poll or a blocking call answered at its timeout would be, or a fixed wait inside each request.`
      : stuck && waitedOn
        ? `; it answered nothing in the window: hung, not slow${threadsText(r)}; next: ` +
          (objs(r.threadsNow).some((g) => !g.idle)
            ? `what its threads wait for there (the lock, condition or call they sleep in, and who should have let them go).`
            : `what its threads wait on now (a thread dump: py-spy dump, jstack, gdb -p ${pid}), and what it waits for (its upstreams, locks, disk).`)
        : stuck
          ? `; it answered nothing in the window: a hang, or a request held open by design (a blocking pop, a long poll)${threadsText(r)}.`
          : fastCallsMs !== undefined
            ? `; none of its calls to its TCP upstreams took ${fmtMs(fastCallsMs)} or more while it answered: the time went inside it; next: its CPU (profile), locks (lockwait), a pool or queue of its own it waits on (offcputime).`
            : `; next: what it waits for while it answers (its upstreams, CPU, locks, disk).`);
  const impact = matters
    ? timeImpact(lostMs / 1000, ctx.windowSeconds, `${fmtCount(slow.length + waiting.length)} answers × ~${fmtMs(typical)} = ${fmtMs(lostMs)}`, ['latency'])
    : undefined;
  return {
    ...makeFinding(
      ctx,
      `served:${pid}:${str(r.path) || num(r.port)}`,
      matters ? latencySeverity(typical, threshold) : 'info',
      title,
      {
        pid,
        comm: str(r.comm),
        port: num(r.port),
        ...(str(r.path) ? { path: str(r.path) } : {}),
        answers,
        slow: slow.length,
        unanswered: waiting.length,
        ...sinceBefore(r),
        typicalMs: typical,
        p99Ms: num(r.p99Ms),
        waitedMs: Math.round(lostMs),
        thresholdMs: threshold,
      },
      matters ? lostMs / 1000 : 0,
      impact,
    ),
    // A program's processes answering on one place are one finding (a process per connection: postgres's backends, a CGI).
    cause: { key: `slow answers of ${str(r.comm)} on ${placeOf(r)}`, subject: `${str(r.comm)} (pid ${pid})` },
    // What holds the process up explains its slow answers (then not by design), in this order: its calls to
    // upstreams (timed, inside them), a CPU quota, reclaim, its own forks' stops, its threads blocked at work (offcputime, lockwait),
    // then its own CPU (profile: a process this busy).
    // They explain its local clients' waits on it: the same answers seen from their side (it leads them, named).
    // So do its answering threads' sleeps and parks (offcputime), when they are these threads: before its threads
    // blocked anywhere, as these name the threads that answered.
    links: {
      shows: [
        `service-pid:${pid}`,
        `runq-pid:${pid}`,
        `reclaim-pid:${pid}`,
        `stalled-pid:${pid}`,
        `waited-in-answers:${pid}`,
        `blocked-pid:${pid}`,
        `busy-pid:${pid}`,
      ],
      explains: [`answers-of:${pid}`],
      ...(Array.isArray(r.threads) && r.threads.length ? { threads: r.threads.map((t) => [num(arr(t)[0]), num(arr(t)[1])] as [number, number]) } : {}),
    },
  };
}

function slowUpstream(r: Obj, served: SlowAnswers | undefined, threshold: number, ctx: AnalysisContext): Finding | undefined {
  const pid = num(r.pid);
  const peer = str(r.peer);
  const waits = spansOf(r, 'waits', threshold);
  const gaveUp = spansOf(r, 'abandonedWaits', threshold);
  const waiting = spansOf(r, 'waitingWaits', threshold);
  const all = [...waits, ...gaveUp, ...waiting];
  if (!all.length) return undefined;
  const lostMs = sumOf(lengths(all));
  const typical = median(lengths(all));
  const server = r.server as Obj | undefined;
  // Calling itself (its own listener) is its answers seen from its own client: no cause of them.
  const itself = server !== undefined && num(server.pid) === pid;
  const cover = served && !itself ? overlap(all, served.spans) : { ms: 0, answers: 0 };
  const servedMs = served ? sumOf(lengths(served.spans)) : 0;
  const during = cover.answers > 0 && cover.ms >= servedMs * COVER_SHARE;
  const timeout = gaveUp.length || waiting.length ? undefined : pollTimeout(waits, threshold);
  const matters = during || gaveUp.length > 0 || (ctx.targetLabel !== undefined && !timeout);

  const peerText = endpointLabel(peer, server);
  const answers = num(r.answers);
  const counts =
    (waits.length || !waiting.length
      ? `${fmtCount(waits.length)} of ${plural(answers, 'answer')} from ${peerText} took ${fmtMs(threshold)} or more (~${fmtMs(typical)} each, the longest ${fmtMs(Math.max(...lengths(all)))})`
      : stillWaiting(r, lengths(waiting))) +
    (gaveUp.length
      ? `; it gave ${plural(gaveUp.length, 'request')} up after ~${fmtMs(median(lengths(gaveUp)))} (closed the connection still waiting: a client timeout)`
      : '') +
    (waiting.length && waits.length ? `; ${stillWaiting(r, lengths(waiting))}` : '');
  const next = server
    ? `what ${str(server.comm) || `pid ${num(server.pid)}`} waits for while it answers on ${str(server.listener)} (its CPU, disk, locks, its own upstreams)`
    : `the service at ${peer} (its load, slow queries, its own upstreams) and the path to it (retransmits, RTT)`;
  const head = during
    ? `${who(r)} waited on ${peerText} during ${fmtCount(cover.answers)} of its ${plural(served!.spans.length, 'slow answer')} on ${listText(served!.places, 3)} on ${ctx.node} (${fmtPct(cover.ms / Math.max(servedMs, 1))} of their time): `
    : `${who(r)} waited ${fmtMs(lostMs)} for answers from ${peerText} on ${ctx.node}: `;
  // A server on this host: the time went in it (its own slow answers say why), not in a call made to wait by design.
  const tail = matters
    ? `; next: ${next}.`
    : timeout
      ? `, nearly all after ~${fmtMs(timeout)}: one duration time after time, as a long poll or a blocking read answered at its timeout (a queue, a watch) would be, or a server that waits a fixed time in each.`
      : server && !itself
        ? `; the time went in ${processLabel(str(server.comm) || 'its server', num(server.pid))}, on this host.`
        : `; none of it while it answered slowly itself: a blocking call or a long poll by design, unless what calls it is slow.`;
  const basis = during
    ? `${fmtMs(cover.ms)} of its slow answers spent waiting on ${peer}`
    : `${fmtCount(all.length)} requests × ~${fmtMs(typical)} = ${fmtMs(lostMs)} waited on ${peer}`;
  const impactMs = during ? cover.ms : lostMs;
  // A peer on this host: what holds it up explains these waits (its own upstream's waits, its CPU quota, its reclaim);
  // a server that forks a process per connection answers in those (postgres's backends): theirs too.
  const local =
    server && !itself
      ? [num(server.pid), ...arr(server.workers).map(num)].flatMap((p) => [`answers-of:${p}`, `service-pid:${p}`, `runq-pid:${p}`, `reclaim-pid:${p}`])
      : [];
  return {
    ...makeFinding(
      ctx,
      `upstream:${pid}:${peer}`,
      matters ? latencySeverity(typical, threshold) : 'info',
      head + counts + tail,
      {
        pid,
        comm: str(r.comm),
        peer,
        ...(server ? { server: { pid: num(server.pid), comm: str(server.comm) } } : {}),
        answers,
        slow: waits.length,
        gaveUp: gaveUp.length,
        unanswered: waiting.length,
        ...sinceBefore(r),
        typicalMs: typical,
        p99Ms: num(r.p99Ms),
        waitedMs: Math.round(lostMs),
        ...(served ? { duringSlowAnswers: cover.answers, coveredMs: Math.round(cover.ms) } : {}),
        thresholdMs: threshold,
      },
      matters ? impactMs / 1000 : 0,
      matters ? timeImpact(impactMs / 1000, ctx.windowSeconds, basis, ['latency']) : undefined,
    ),
    // Every client's waits on one peer are one finding (a short-lived client per query: a psql, a cron job, each its own pid).
    cause: { key: `slow answers from ${peer}`, subject: `${str(r.comm)} (pid ${pid})` },
    // Its own slow answers are this wait seen from its callers' side. Waits on a local server are that
    // server's slow answers seen from here: what explains those takes these along, information or not;
    // so do its requests' writes held by Nagle's algorithm, and a transfer filling the path to it (tcpflow).
    links: { ...(during ? { explains: [`service-pid:${pid}`] } : {}), shows: [nagleKey(pid, peer), `path:${addressOf(peer)}`, ...local] },
  };
}

export const tcpresponseAnalysis = { checks: 'TCP answer times', analyze: analyzeTcpresponse };
