// tcpreset's checks: Reset hot spots per remote.
import {
  addTo,
  addressOf,
  isObj,
  makeFinding,
  num,
  objs,
  str,
  timeImpact,
  topKeys,
  whoOf,
  type CaptureAnalysis,
  type AnalysisContext,
  type Obj,
} from '../../analysis/common.js';
import { fmtCount, fmtSeconds, plural, capitalize, endpointLabel } from '../../format/index.js';
import type { Finding } from '../../analysis/types.js';

const RESET_REASON_MEANING: Record<string, string> = {
  NO_SOCKET: 'nothing listens on that port here',
  TCP_ABORT_ON_CLOSE: 'closed with unread data',
  TCP_ABORT_ON_LINGER: 'closed with SO_LINGER 0',
  TCP_ABORT_ON_MEMORY: 'out of socket memory',
  TCP_ABORT_ON_DATA: 'data after close',
  TCP_TIMEWAIT_SOCKET: 'data for a connection it had closed',
  TCP_KEEPALIVE_TIMEOUT: 'keepalive probes unanswered',
};

/**
 * What a group of resets means, from its direction and the socket's state:
 * - refused: taken in SYN_SENT (nothing listens, or a firewall rejects);
 * - reused: taken in CLOSE_WAIT: the peer had closed (its FIN came first) and
 *   this side wrote on the connection anyway, so what it sent failed: a
 *   keep-alive pool reusing a connection the server closed for idling;
 * - closedHere: sent from a timewait sock: data came for a connection this
 *   side had closed: the same, seen from the server;
 * - abortedHere: sent by a close that aborts (unread data, SO_LINGER 0): a
 *   server answering before it read the whole request, whose client (aborted,
 *   when it is here) takes the reset;
 * - aborted, sent: the rest.
 */
type ResetKind = 'refused' | 'reused' | 'closedHere' | 'abortedHere' | 'aborted' | 'sent';

/** Reasons of resets a close sends instead of a FIN. */
const ABORTIVE_CLOSE = new Set(['TCP_ABORT_ON_CLOSE', 'TCP_ABORT_ON_LINGER', 'TCP_ABORT_ON_DATA']);

interface Group {
  kind: ResetKind;
  local: string;
  remote: string;
  rows: Obj[];
  count: number;
  states: Map<string, number>;
  reasons: Map<string, number>;
}

function kindOf(r: Obj): ResetKind {
  if (r.direction === 'sent') return r.socket === 'timewait' ? 'closedHere' : ABORTIVE_CLOSE.has(str(r.reason)) ? 'abortedHere' : 'sent';
  return r.state === 'SYN_SENT' ? 'refused' : r.state === 'CLOSE_WAIT' ? 'reused' : 'aborted';
}

/** A request that failed on a connection its server had closed costs no measured time, but it failed: scored as 10 ms each. */
const FAILED_WRITE_SCORE_S = 0.01;

function analyzeTcpreset(data: Obj, ctx: AnalysisContext): CaptureAnalysis {
  const findings: Finding[] = [];
  const threshold = ctx.thresholds.resetsPerFlow;
  // Received: per peer (its port is the service's). Sent: per local end and peer address (its port is ephemeral).
  const groups = new Map<string, Group>();
  const servers = isObj(data.servers) ? data.servers : {};
  for (const r of objs(data.rows)) {
    const kind = kindOf(r);
    const sent = r.direction === 'sent';
    const local = str(r.local) || '?';
    const remote = sent ? addressOf(str(r.remote) || '?') : str(r.remote) || '?';
    const key = `${kind}:${sent ? `${local}>` : ''}${remote}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { kind, local, remote, rows: [], count: 0, states: new Map(), reasons: new Map() }));
    const n = num(r.count);
    g.rows.push(r);
    g.count += n;
    addTo(g.states, str(r.state) || '?', n);
    if (str(r.reason)) addTo(g.reasons, str(r.reason), n);
  }
  for (const [key, g] of groups) {
    if (g.count < threshold || g.count <= 0) continue;
    const failedWrites = g.kind === 'reused' || g.kind === 'closedHere';
    const serverEnd = g.kind === 'reused' ? g.remote : g.local;
    const server = failedWrites && isObj(servers[serverEnd]) ? (servers[serverEnd] as Obj) : undefined;
    const evidence = {
      ...(server ? { server: { pid: num(server.pid), comm: str(server.comm) } } : {}),
      direction: g.kind === 'sent' || g.kind === 'closedHere' || g.kind === 'abortedHere' ? 'sent' : 'received',
      local: g.local,
      remote: g.remote,
      resets: g.count,
      states: Object.fromEntries(g.states),
      ...(g.reasons.size ? { reasons: Object.fromEntries(g.reasons) } : {}),
      threshold,
      rows: [...g.rows].sort((a, b) => num(b.count) - num(a.count)).slice(0, 10),
    };
    const finding = makeFinding(
      ctx,
      key,
      g.count >= threshold * 10 ? 'critical' : 'warning',
      titleOf(g, ctx, threshold, server),
      evidence,
      failedWrites ? (g.count * FAILED_WRITE_SCORE_S) / Math.max(0.001, ctx.windowSeconds) : g.count / Math.max(1, threshold),
      // Writes that failed on a closed connection are errors, not time: a time impact would cap them to information.
      failedWrites
        ? undefined
        : timeImpact(
            Math.min(g.count * 0.01, ctx.windowSeconds),
            ctx.windowSeconds,
            `${plural(g.count, 'reset')}, each an aborted connection and a retry (10 ms each)`,
            ['latency', 'health'],
          ),
    );
    findings.push({ ...finding, ...linksOf(g) });
  }
  return { findings, checked: `resets (${fmtCount(num(data.sent))} sent, ${fmtCount(num(data.received))} received)` };
}

function titleOf(g: Group, ctx: AnalysisContext, threshold: number, server?: Obj): string {
  const resets = plural(g.count, 'TCP reset');
  const within = `in ${fmtSeconds(ctx.windowSeconds)} (threshold ${threshold})`;
  const reasons = topKeys(g.reasons, 2).map((r) => (RESET_REASON_MEANING[r] ? `${r}: ${RESET_REASON_MEANING[r]}` : r));
  // Process names keep their case (a comm is case-sensitive); only the fallback is capitalized.
  const whoRaw = whoOf(g.rows, ctx.targetLabel, (r) => num(r.count));
  const who = whoRaw === 'this host' ? capitalize(whoRaw) : whoRaw;
  const keepAliveNext =
    'next: close pooled connections before the server does (a client idle timeout under the keep-alive timeout of the server or load balancer in front), ' +
    "or retry a request that fails on a reused connection; or raise the server's keep-alive timeout";
  switch (g.kind) {
    case 'reused':
      return (
        `${who} got ${resets} from ${endpointLabel(g.remote, server)} ${within}, each on a connection ${g.remote} had already closed (its FIN came first: CLOSE_WAIT) and that it wrote on anyway, ` +
        `so what it sent there failed: a keep-alive pool reusing connections after the server closed them for idling; ${keepAliveNext}.`
      );
    case 'closedHere':
      return (
        `This host sent ${resets} from ${endpointLabel(g.local, server)} to ${g.remote} ${within}, answering data that came for connections it had already closed (TIME_WAIT${reasons.length ? `, ${reasons.join('; ')}` : ''}): ` +
        `its clients wrote on connections it closed (as a keep-alive pool does when the server closes idle connections first), and those requests failed; ${keepAliveNext}.`
      );
    case 'refused':
      return `${who} got ${resets} from ${g.remote} ${within}, in ${topKeys(g.states, 2).join(' and ')}: the peer refuses the connects.`;
    case 'aborted':
      return `${who} got ${resets} from ${g.remote} ${within}, in ${topKeys(g.states, 2).join(' and ')}: the peer aborted the connections.`;
    case 'abortedHere':
      return g.reasons.has('TCP_ABORT_ON_CLOSE')
        ? `${who} reset ${plural(g.count, 'connection')} from ${g.local} to ${g.remote} ${within} by closing them with data it had not read (TCP_ABORT_ON_CLOSE): ` +
            'the kernel resets such a connection instead of closing it, and its peer may lose the answer sent just before: a server answering before it has read the whole request ' +
            '(a rejected upload, an early error); next: read the rest of the request (or stop writing and drain it) before closing.'
        : `${who} reset ${plural(g.count, 'connection')} from ${g.local} to ${g.remote} ${within} by closing them abortively (${reasons.join('; ')}).`;
    case 'sent':
      return `This host sent ${resets} from ${g.local} to ${g.remote} ${within}${reasons.length ? `, ${reasons.join('; ')}` : ''}.`;
  }
}

function linksOf(g: Group): Pick<Finding, 'links'> | Record<string, never> {
  switch (g.kind) {
    // Refused connects: tcpconnlat's failed connects to that peer show them.
    case 'refused':
      return { links: { explains: [`refused-rst:${g.remote}`] } };
    // Both ends on this host: the client that wrote on closed connections leads what its server sent back.
    case 'reused':
      return { links: { explains: [`closed-reuse:${g.remote}`], leads: true } };
    case 'closedHere':
      return { links: { shows: [`closed-reuse:${g.local}`] } };
    // A server here closing abortively explains the resets its clients here took while connected.
    case 'abortedHere':
      return { links: { explains: [`aborted-from:${g.local}`] } };
    case 'aborted':
      return { links: { shows: [`aborted-from:${g.remote}`] } };
    // Resets answering SYNs to a port nothing listens on (no socket): a refused connect's other end, when its client is here.
    case 'sent':
      return g.rows.some((r) => r.socket === 'none') ? { links: { explains: [`refused-sent:${g.local}`] } } : {};
  }
}

export const tcpresetAnalysis = { checks: 'resets', analyze: analyzeTcpreset };
