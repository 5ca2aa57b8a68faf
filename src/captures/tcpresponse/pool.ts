// A connection pool too small for its load: a process whose own answers were
// slow while every one of its connections to an upstream was busy nearly the
// whole window (requests in flight ≈ connections), each answer on them quick
// or not. Its callers queued inside it for a free connection: the upstream's
// answer times do not show it, and neither do its threads (a pool's queue is
// a parked futex, idle to offcputime).
import { isObj, latencySeverity, makeFinding, num, str, timeImpact, type AnalysisContext, type Obj } from '../../analysis/common.js';
import type { Finding } from '../../analysis/types.js';
import { fmtCount, fmtMs, fmtPct, listText, plural, endpointLabel } from '../../format/index.js';
import type { Span } from './sides.js';

/** Its connections to the peer were busy this share of the window at least, on average. */
const BUSY_SHARE = 0.85;
/** More in flight than this per connection is no fixed pool (connections opened per request, counted at the end). */
const MAX_BUSY = 1.15;
/** Enough answers to be a pool's traffic, not a few long calls. */
const MIN_ANSWERS = 20;

/** A process's own slow answers: where it answers ("port 8080", a unix socket's name) and each one's [end, length] in ms. */
export interface SlowAnswers {
  places: string[];
  spans: Span[];
}

/** Requests in flight on its connections to a peer (their answer times over the window) nearly as many as the connections, or more. */
export const keepsConnectionsBusy = (waitedMs: number, connections: number, windowMs: number): boolean =>
  connections >= 1 && windowMs > 0 && waitedMs >= BUSY_SHARE * windowMs * connections;

export function poolFindings(rows: Obj[], served: Map<number, SlowAnswers>, ctx: AnalysisContext): Finding[] {
  const windowMs = ctx.windowSeconds * 1000;
  return rows.flatMap((r) => {
    const own = served.get(num(r.pid));
    const connections = num(r.connections);
    const answers = num(r.answers);
    // Calling its own listener, its requests are its own answers seen from its client side: no pool of it.
    const itself = isObj(r.server) && num(r.server.pid) === num(r.pid);
    if (r.role !== 'client' || !own || itself || connections < 1 || answers < MIN_ANSWERS || windowMs <= 0) return [];
    const inFlight = num(r.waitedMs) / windowMs;
    const busy = inFlight / connections;
    if (!keepsConnectionsBusy(num(r.waitedMs), connections, windowMs) || busy > MAX_BUSY) return [];
    return [saturated(r, own, { connections, answers, inFlight, busy }, ctx)];
  });
}

function saturated(r: Obj, own: SlowAnswers, n: { connections: number; answers: number; inFlight: number; busy: number }, ctx: AnalysisContext): Finding {
  const pid = num(r.pid);
  const peer = str(r.peer);
  const server = r.server as Obj | undefined;
  const peerText = endpointLabel(peer, server);
  const each = num(r.waitedMs) / n.answers;
  // What its slow answers took beyond one upstream answer each: the time its callers queued for a connection.
  const queuedMs = own.spans.reduce((t, [, ms]) => t + Math.max(0, ms - each), 0);
  const typical = own.spans.map(([, ms]) => ms).sort((a, b) => a - b)[Math.floor(own.spans.length / 2)] ?? 0;
  const title =
    `${str(r.comm) || '?'} (pid ${pid}) kept its ${plural(n.connections, 'connection')} to ${peerText} busy ${fmtPct(Math.min(1, n.busy))} of the window ` +
    `(${n.inFlight.toFixed(1)} requests in flight on average, ${fmtCount(n.answers)} answers of ~${fmtMs(each)}) while ${fmtCount(own.spans.length)} of its own answers on ${listText(own.places, 3)} ` +
    `took ~${fmtMs(typical)}: its requests queue for a free connection (a pool of ${n.connections}, too small for the load, or its queries too slow for it); ` +
    `next: a larger pool, fewer or faster queries to ${peer}, or less load`;
  return {
    ...makeFinding(
      ctx,
      `pool:${pid}:${peer}`,
      latencySeverity(typical, ctx.thresholds.responseSlowMs),
      title,
      {
        pid,
        comm: str(r.comm),
        peer,
        ...(server ? { server: { pid: num(server.pid), comm: str(server.comm) } } : {}),
        connections: n.connections,
        inFlight: Math.round(n.inFlight * 100) / 100,
        busy: Math.round(n.busy * 1000) / 1000,
        answers: n.answers,
        answerMs: Math.round(each * 10) / 10,
        slowAnswers: own.spans.length,
        queuedMs: Math.round(queuedMs),
      },
      queuedMs / 1000,
      timeImpact(queuedMs / 1000, ctx.windowSeconds, `${fmtCount(own.spans.length)} slow answers, less one upstream answer each = ${fmtMs(queuedMs)} queued`, [
        'latency',
      ]),
    ),
    // Its slow answers are the queue seen from its callers (it leads them); without them it is no finding.
    // A peer on this host that is slow itself (its own upstreams, CPU quota, reclaim) explains the queue in turn.
    links: {
      explains: [`service-pid:${pid}`],
      onlyAsCause: true,
      ...(server && num(server.pid) !== pid
        ? { shows: [`answers-of:${num(server.pid)}`, `runq-pid:${num(server.pid)}`, `reclaim-pid:${num(server.pid)}`] }
        : {}),
    },
  };
}
