// Writes Nagle's algorithm held back: a message written in pieces with
// TCP_NODELAY off sends its first piece, then holds the rest until that piece
// is acknowledged; a peer that delays its ACK (40 ms on Linux, up to 200 ms
// elsewhere) until it has the whole message stalls every exchange that long.
// The kernel times each hold (bpf/tcpresponse: from the write to the ACK that
// lets it go); here a side whose holds add up is a finding of its own: a
// client's requests held (its answer times include the hold, which reads as a
// slow upstream), or a server's answers held (its answer times, to the first
// byte out, look fast while its clients wait for the rest).
import { makeFinding, num, str, timeImpact, type AnalysisContext, type Obj } from '../../analysis/common.js';
import type { Finding } from '../../analysis/types.js';
import { fmtCount, fmtMs, plural, endpointLabel } from '../../format/index.js';

/** Fewest holds, and their shortest mean, that are a finding: shorter holds are an ACK that came at once (Nagle doing its job). */
const MIN_HOLDS = 3;
const MIN_MEAN_MS = 5;
/** A hold this long or longer is a delayed-ACK timer's (Linux's shortest is 40 ms). */
const DELAYED_ACK_MS = 35;

/** The link key of a client's holds toward one peer: its slow answers from that peer show it. */
export const nagleKey = (pid: number, peer: string) => `nagle:${pid}:${peer}`;

const who = (r: Obj) => `${str(r.comm) || '?'} (pid ${num(r.pid)})`;

export function nagleFindings(rows: Obj[], ctx: AnalysisContext): Finding[] {
  return rows.flatMap((r) => {
    const held = num(r.held);
    const heldMs = num(r.heldMs);
    // A one-way stream (nothing ever answered) has no exchange to stall.
    if (held < MIN_HOLDS || heldMs / held < MIN_MEAN_MS || num(r.answers) === 0) return [];
    return [r.role === 'client' ? heldRequests(r, ctx) : heldAnswers(r, ctx)];
  });
}

/** "19 writes held until the peer acknowledged the one before, ~44 ms each (...)", and the mean. */
function holds(r: Obj, peer: string): { text: string; mean: number } {
  const mean = num(r.heldMs) / num(r.held);
  const timer = mean >= DELAYED_ACK_MS ? ', a delayed ACK each time' : '';
  return {
    mean,
    text:
      `${plural(num(r.held), 'write')} held until ${peer} acknowledged the one before, ~${fmtMs(mean)} each${timer} ` +
      `(${fmtMs(num(r.heldMs))} in all, the longest ${fmtMs(num(r.heldMaxMs))}), over ${plural(num(r.answers), 'answer')}`,
  };
}

function severityOf(mean: number) {
  // Ranking caps it by the time it cost over the window.
  return mean >= DELAYED_ACK_MS ? 'critical' : 'warning';
}

function heldRequests(r: Obj, ctx: AnalysisContext): Finding {
  const pid = num(r.pid);
  const peer = str(r.peer);
  const server = r.server as Obj | undefined;
  const peerText = endpointLabel(peer, server);
  const { text, mean } = holds(r, 'the peer');
  const title =
    `${who(r)} waited on Nagle's algorithm in its requests to ${peerText} on ${ctx.node}: ${text}: requests written in pieces with TCP_NODELAY off; ` +
    `next: set TCP_NODELAY on its connections to ${peer} (or write each request in one call)`;
  return {
    ...makeFinding(
      ctx,
      `nagle:${pid}:${peer}`,
      severityOf(mean),
      title,
      { pid, comm: str(r.comm), peer, role: 'client', held: num(r.held), heldMs: num(r.heldMs), meanHeldMs: round(mean), answers: num(r.answers) },
      num(r.heldMs) / 1000,
      timeImpact(num(r.heldMs) / 1000, ctx.windowSeconds, `${fmtCount(num(r.held))} writes × ~${fmtMs(mean)} held`, ['latency']),
    ),
    // Its slow answers from that peer are these holds; so are its own slow answers while it called it.
    links: { explains: [nagleKey(pid, peer), `service-pid:${pid}`] },
  };
}

function heldAnswers(r: Obj, ctx: AnalysisContext): Finding {
  const pid = num(r.pid);
  const place = str(r.path) || `port ${num(r.port)}`;
  const { text, mean } = holds(r, 'the client');
  const title =
    `${who(r)} held back its answers on ${place} on ${ctx.node} with Nagle's algorithm: ${text}: answers written in pieces with TCP_NODELAY off; ` +
    `its clients get the rest of each answer that late, which its answer times (to the first byte out) do not show; ` +
    `next: set TCP_NODELAY on its accepted connections (or write each answer in one call)` +
    // The JDK's own HTTP server writes headers and body apart, with Nagle on unless told.
    (str(r.comm) === 'java' ? `; the JDK's HttpServer (com.sun.net.httpserver) sets it with -Dsun.net.httpserver.nodelay=true` : '');
  return {
    ...makeFinding(
      ctx,
      `nagle:${pid}:${str(r.path) || num(r.port)}`,
      severityOf(mean),
      title,
      {
        pid,
        comm: str(r.comm),
        port: num(r.port),
        ...(str(r.path) ? { path: str(r.path) } : {}),
        role: 'server',
        held: num(r.held),
        heldMs: num(r.heldMs),
        meanHeldMs: round(mean),
        answers: num(r.answers),
      },
      num(r.heldMs) / 1000,
      timeImpact(num(r.heldMs) / 1000, ctx.windowSeconds, `${fmtCount(num(r.held))} writes × ~${fmtMs(mean)} held`, ['latency']),
    ),
    // A local client's waits on it are these holds seen from the other side.
    links: { explains: [`answers-of:${pid}`] },
  };
}

const round = (ms: number) => Math.round(ms * 100) / 100;
