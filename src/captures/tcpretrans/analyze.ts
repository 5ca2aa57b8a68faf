// tcpretrans's checks: Retransmit hot spots per flow.
import { addTo, makeFinding, num, objs, str, whoOf, type CaptureAnalysis, type AnalysisContext, type Obj } from '../../analysis/common.js';
import { fmtCount, fmtSeconds, plural } from '../../format/index.js';
import type { Finding } from '../../analysis/types.js';

function analyzeTcpretrans(data: Obj, ctx: AnalysisContext): CaptureAnalysis {
  const findings: Finding[] = [];
  const threshold = ctx.thresholds.retransmitsPerFlow;
  const rows = objs(data.rows);
  // Short connections are a flow each: group by the far end (the listener's end for SYN-ACKs).
  const groups = new Map<string, { synack: boolean; endpoint: string; rows: Obj[]; retransmits: number; flows: Set<string>; states: Map<string, number> }>();
  let total = 0;
  for (const r of rows) {
    const synack = r.type === 'synack';
    const endpoint = str(synack ? r.local : r.remote) || '?';
    const key = `${synack ? 'synack' : 'segment'}:${endpoint}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { synack, endpoint, rows: [], retransmits: 0, flows: new Set(), states: new Map() }));
    const n = num(r.retransmits);
    total += n;
    g.rows.push(r);
    g.retransmits += n;
    g.flows.add(`${str(r.local)}>${str(r.remote)}`);
    addTo(g.states, str(r.state) || '?', n);
  }
  for (const g of groups.values()) {
    if (g.retransmits < threshold || g.retransmits <= 0) continue;
    const states = [...g.states].sort((a, b) => b[1] - a[1]);
    const synShare = (g.states.get('SYN_SENT') ?? 0) / g.retransmits;
    const why = g.synack
      ? 'handshakes with it lose packets, or clients went away'
      : synShare >= 0.5
        ? 'mostly SYNs: connects to it lose packets'
        : 'data segments: the path to it loses packets or the peer is slow to acknowledge';
    const who = whoOf(g.rows, ctx.targetLabel, (r) => num(r.retransmits));
    const title = g.synack
      ? `The listener on ${g.endpoint} retransmitted ${plural(g.retransmits, 'SYN-ACK')} to ${plural(g.flows.size, 'client')} in ${fmtSeconds(ctx.windowSeconds)} (threshold ${threshold}): ${why}.`
      : `TCP from ${who} to ${g.endpoint} was retransmitted ${plural(g.retransmits, 'time')} over ${plural(g.flows.size, 'connection')} in ${fmtSeconds(ctx.windowSeconds)} (threshold ${threshold}): ${why}.`;
    findings.push(
      makeFinding(ctx, `${g.synack ? 'synack' : 'remote'}:${g.endpoint}`, g.retransmits >= threshold * 10 ? 'critical' : 'warning', title, {
        endpoint: g.endpoint,
        type: g.synack ? 'synack' : 'segment',
        retransmits: g.retransmits,
        flows: g.flows.size,
        maxPerFlow: Math.max(...g.rows.map((r) => num(r.retransmits))),
        states: Object.fromEntries(states),
        threshold,
        rows: [...g.rows].sort((a, b) => num(b.retransmits) - num(a.retransmits)).slice(0, 10),
      }, g.retransmits / Math.max(1, threshold)),
    );
  }
  return { findings, checked: `retransmits (${fmtCount(total)} on ${plural(rows.length, 'flow')})` };
}

export const tcpretransAnalysis = { checks: 'retransmits', analyze: analyzeTcpretrans };
