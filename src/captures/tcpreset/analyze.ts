// tcpreset's checks: Reset hot spots per remote.
import {
  addTo,
  addressOf,
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
import { fmtCount, fmtSeconds, plural, capitalize } from '../../format/index.js';
import type { Finding } from '../../analysis/types.js';

const RESET_REASON_MEANING: Record<string, string> = {
  NO_SOCKET: 'nothing listens on that port here',
  TCP_ABORT_ON_CLOSE: 'closed with unread data',
  TCP_ABORT_ON_LINGER: 'closed with SO_LINGER 0',
  TCP_ABORT_ON_MEMORY: 'out of socket memory',
  TCP_ABORT_ON_DATA: 'data after close',
};

function analyzeTcpreset(data: Obj, ctx: AnalysisContext): CaptureAnalysis {
  const findings: Finding[] = [];
  const threshold = ctx.thresholds.resetsPerFlow;
  const rows = objs(data.rows);
  // Received: per peer (its port is the service's). Sent: per local end and peer address (its port is ephemeral).
  const groups = new Map<
    string,
    { sent: boolean; local: string; remote: string; rows: Obj[]; count: number; states: Map<string, number>; reasons: Map<string, number> }
  >();
  for (const r of rows) {
    const sent = r.direction === 'sent';
    const local = str(r.local) || '?';
    const remote = sent ? addressOf(str(r.remote) || '?') : str(r.remote) || '?';
    const key = sent ? `sent:${local}>${remote}` : `received:${remote}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { sent, local, remote, rows: [], count: 0, states: new Map(), reasons: new Map() }));
    const n = num(r.count);
    g.rows.push(r);
    g.count += n;
    addTo(g.states, str(r.state) || '?', n);
    if (str(r.reason)) addTo(g.reasons, str(r.reason), n);
  }
  for (const [key, g] of groups) {
    if (g.count < threshold || g.count <= 0) continue;
    const states = topKeys(g.states, 2);
    const reasons = topKeys(g.reasons, 2);
    // Process names keep their case (a comm is case-sensitive); only the fallback is capitalized.
    const who = whoOf(g.rows, ctx.targetLabel, (r) => num(r.count));
    const title = g.sent
      ? `This host sent ${plural(g.count, 'TCP reset')} from ${g.local} to ${g.remote} in ${fmtSeconds(ctx.windowSeconds)} (threshold ${threshold})` +
        (reasons.length ? `, ${reasons.map((r) => (RESET_REASON_MEANING[r] ? `${r}: ${RESET_REASON_MEANING[r]}` : r)).join('; ')}` : '') +
        '.'
      : `${who === 'this host' ? capitalize(who) : who} got ${plural(g.count, 'TCP reset')} from ${g.remote} in ${fmtSeconds(ctx.windowSeconds)} (threshold ${threshold}), in ${states.join(' and ')}: ` +
        (states[0] === 'SYN_SENT' ? 'the peer refuses the connects.' : 'the peer aborted the connections.');
    // Resets received in SYN_SENT are refused connects: tcpconnlat's failed connects to that peer show them.
    const refusal = !g.sent && states[0] === 'SYN_SENT' ? { links: { explains: [`refused-rst:${g.remote}`] } } : {};
    findings.push({
      ...makeFinding(
        ctx,
        key,
        g.count >= threshold * 10 ? 'critical' : 'warning',
        title,
        {
          direction: g.sent ? 'sent' : 'received',
          local: g.local,
          remote: g.remote,
          resets: g.count,
          states: Object.fromEntries(g.states),
          ...(g.reasons.size ? { reasons: Object.fromEntries(g.reasons) } : {}),
          threshold,
          rows: [...g.rows].sort((a, b) => num(b.count) - num(a.count)).slice(0, 10),
        },
        g.count / Math.max(1, threshold),
        timeImpact(
          Math.min(g.count * 0.01, ctx.windowSeconds),
          ctx.windowSeconds,
          `${plural(g.count, 'reset')}, each an aborted connection and a retry (10 ms each)`,
          ['latency', 'health'],
        ),
      ),
      ...refusal,
    });
  }
  return { findings, checked: `resets (${fmtCount(num(data.sent))} sent, ${fmtCount(num(data.received))} received)` };
}

export const tcpresetAnalysis = { checks: 'resets', analyze: analyzeTcpreset };
