// tcpretrans's checks: Retransmit hot spots per flow.
import { addTo, makeFinding, num, objs, str, timeImpact, whoOf, type CaptureAnalysis, type AnalysisContext, type Obj } from '../../analysis/common.js';
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
      : `TCP from ${who} to ${g.endpoint} was retransmitted ${plural(g.retransmits, 'time')} over ${plural(g.flows.size, 'connection')} in ${fmtSeconds(ctx.windowSeconds)} (threshold ${threshold}): ${why}; next: drops on the path to ${g.endpoint} (its interface counters, a firewall, a full queue).`;
    const port = g.endpoint.split(':').pop() ?? '?';
    const explains = g.synack ? [`syn-loss-port:${port}`] : synShare >= 0.5 ? [`syn-loss:${g.endpoint}`] : [];
    const tagged = (f: Finding): Finding => ({
      ...f,
      cause: { key: `${g.synack ? 'SYN-ACK' : synShare >= 0.5 ? 'SYN' : 'data'} retransmits ${g.synack ? 'from' : 'to'} port ${port}`, subject: g.endpoint },
      // Lost segments to the endpoint: a drop seen on this host (tcpdrop) explains them, or a full accept queue at its port.
      links: { ...(explains.length ? { explains } : {}), ...(g.synack ? {} : { shows: [`loss:${g.endpoint}`, `retrans-port:${port}`] }) },
    });
    findings.push(
      tagged(
        makeFinding(
          ctx,
          `${g.synack ? 'synack' : 'remote'}:${g.endpoint}`,
          g.retransmits >= threshold * 10 ? 'critical' : 'warning',
          title,
          {
            endpoint: g.endpoint,
            type: g.synack ? 'synack' : 'segment',
            retransmits: g.retransmits,
            flows: g.flows.size,
            maxPerFlow: Math.max(...g.rows.map((r) => num(r.retransmits))),
            states: Object.fromEntries(states),
            threshold,
            rows: [...g.rows].sort((a, b) => num(b.retransmits) - num(a.retransmits)).slice(0, 10),
          },
          g.retransmits / Math.max(1, threshold),
          retransmitImpact(g.retransmits, g.states.get('SYN_SENT') ?? 0, g.synack, ctx.windowSeconds),
        ),
      ),
    );
  }
  return { findings, checked: `retransmits (${fmtCount(total)} on ${plural(rows.length, 'flow')})` };
}

export const tcpretransAnalysis = { checks: 'retransmits', analyze: analyzeTcpretrans };

/** A retransmitted SYN or SYN-ACK costs its 1 s timeout; a data segment at least the 200 ms minimum RTO (less with fast retransmit). */
const SYN_RTO_S = 1;
const MIN_RTO_S = 0.2;

function retransmitImpact(retransmits: number, syns: number, synack: boolean, windowSeconds: number) {
  const handshake = synack ? retransmits : syns;
  const data = retransmits - handshake;
  const seconds = handshake * SYN_RTO_S + data * MIN_RTO_S;
  const parts = [handshake ? `${handshake} SYN${synack ? '-ACK' : ''}s × 1 s` : '', data ? `${data} segments × 200 ms (the minimum RTO)` : ''].filter(Boolean);
  return timeImpact(seconds, windowSeconds, `${parts.join(' + ')} = ${seconds.toFixed(1)} s of stalls at most`, ['latency']);
}
