// tcpretrans's checks: Retransmit hot spots per flow; and an MTU black hole:
// connections whose every retransmit was a full-size segment timed out again
// and again, while their handshake's small packets got through.
import {
  addTo,
  isLoopback,
  makeFinding,
  num,
  objs,
  str,
  timeImpact,
  whoOf,
  type CaptureAnalysis,
  type AnalysisContext,
  type Obj,
} from '../../analysis/common.js';
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
    const synShare = (g.states.get('SYN_SENT') ?? 0) / Math.max(1, g.retransmits);
    const blackHole = g.synack || synShare >= 0.5 ? undefined : blackHoleOf(g.rows, ctx.windowSeconds);
    if ((g.retransmits < threshold && !blackHole) || g.retransmits <= 0) continue;
    const states = [...g.states].sort((a, b) => b[1] - a[1]);
    // Loopback has no wire to lose a segment: its receiver, on this host, acknowledged after the timer fired.
    const local = !g.synack && synShare < 0.5 && isLoopback(g.endpoint);
    const why = g.synack
      ? 'handshakes with it lose packets, or clients went away'
      : synShare >= 0.5
        ? 'mostly SYNs: connects to it lose packets'
        : local
          ? 'data segments over loopback, where no wire loses them: the receiving process on this host took the retransmit timeout (200 ms or more) to acknowledge, its thread or the softirq that would ACK held off a CPU, or a firewall rule on lo dropped them'
          : 'data segments: the path to it loses packets or the peer is slow to acknowledge';
    const next = local
      ? `the receiving side's waits for a CPU (runqlat) and drops on lo (tcpdrop)`
      : `drops on the path to ${g.endpoint} (its interface counters, a firewall, a full queue)`;
    const who = whoOf(g.rows, ctx.targetLabel, (r) => num(r.retransmits));
    const title = blackHole
      ? blackHoleTitle(g.endpoint, who, g.retransmits, g.flows.size, blackHole, ctx.windowSeconds)
      : g.synack
        ? `The listener on ${g.endpoint} retransmitted ${plural(g.retransmits, 'SYN-ACK')} to ${plural(g.flows.size, 'client')} in ${fmtSeconds(ctx.windowSeconds)} (threshold ${threshold}): ${why}.`
        : `TCP from ${who} to ${g.endpoint} was retransmitted ${plural(g.retransmits, 'time')} over ${plural(g.flows.size, 'connection')} in ${fmtSeconds(ctx.windowSeconds)} (threshold ${threshold}): ${why}; next: ${next}.`;
    const port = g.endpoint.split(':').pop() ?? '?';
    const explains = g.synack ? [`syn-loss-port:${port}`] : synShare >= 0.5 ? [`syn-loss:${g.endpoint}`] : [];
    const tagged = (f: Finding): Finding => ({
      ...f,
      // A black hole is the path's: every connection to that address is one cause, whatever its port.
      cause: {
        key: blackHole
          ? `full-size segments lost to ${g.endpoint.replace(/:\d+$/, '')}`
          : `${g.synack ? 'SYN-ACK' : synShare >= 0.5 ? 'SYN' : 'data'} retransmits ${g.synack ? 'from' : 'to'} port ${port}`,
        subject: g.endpoint,
      },
      // Lost segments to the endpoint: a drop seen on this host (tcpdrop) explains them, or a full accept queue at its port.
      links: { ...(explains.length ? { explains } : {}), ...(g.synack ? {} : { shows: [`loss:${g.endpoint}`, `retrans-port:${port}`] }) },
    });
    findings.push(
      tagged(
        makeFinding(
          ctx,
          `${g.synack ? 'synack' : 'remote'}:${g.endpoint}`,
          // A black hole hangs its connections: ranking caps it by the time they stalled.
          // Loopback's, a symptom of something else on this host: a drop there (tcpdrop) explains it.
          blackHole || (!local && g.retransmits >= threshold * 10) ? 'critical' : local ? 'info' : 'warning',
          title,
          {
            endpoint: g.endpoint,
            type: g.synack ? 'synack' : 'segment',
            retransmits: g.retransmits,
            flows: g.flows.size,
            maxPerFlow: Math.max(...g.rows.map((r) => num(r.retransmits))),
            states: Object.fromEntries(states),
            threshold,
            ...(blackHole ? { blackHole } : {}),
            rows: [...g.rows].sort((a, b) => num(b.retransmits) - num(a.retransmits)).slice(0, 10),
          },
          g.retransmits / Math.max(1, threshold),
          blackHole
            ? timeImpact(
                blackHole.stalledS,
                ctx.windowSeconds,
                `${plural(blackHole.flows, 'connection')} stalled ${fmtSeconds(blackHole.stalledS)} in all (their timeouts, 200 ms doubling)`,
                ['latency'],
              )
            : retransmitImpact(g.retransmits, g.states.get('SYN_SENT') ?? 0, g.synack, ctx.windowSeconds),
        ),
      ),
    );
  }
  return { findings, checked: `retransmits (${fmtCount(total)} on ${plural(rows.length, 'flow')})` };
}

export const tcpretransAnalysis = { checks: 'retransmits', analyze: analyzeTcpretrans };

/** One segment timed out this many times in a row: stalled 1.4 s or more, no loss a retransmit repairs. */
const BLACK_HOLE_TIMEOUTS = 3;

interface BlackHole {
  /** Connections stalled so. */
  flows: number;
  mss: number;
  pmtu: number;
  maxTimeouts: number;
  ipv6: boolean;
  /** Their stalls, summed: each connection's timeouts (200 ms doubling), at most the window; none for a connection its program had closed. */
  stalledS: number;
  /** Every stalled connection's program had closed it: no one waits on them (the peer misses the end of what was sent). */
  orphans: boolean;
}

/**
 * Connections to one endpoint that lost only full-size segments, one of them
 * timing out BLACK_HOLE_TIMEOUTS times or more in a row (no ACK between: no
 * loss that retransmits repair), or undefined. Loss on a congested path hits
 * small segments too and times out rarely; a peer that died is the other
 * reading, which the finding says.
 */
function blackHoleOf(rows: Obj[], windowSeconds: number): BlackHole | undefined {
  const segments = rows.filter((r) => r.type === 'segment' && num(r.retransmits) > 0);
  if (!segments.length || segments.some((r) => num(r.fullSize) < num(r.retransmits))) return undefined;
  const stalled = segments.filter((r) => num(r.maxTimeouts) >= BLACK_HOLE_TIMEOUTS);
  if (!stalled.length) return undefined;
  const worst = stalled.reduce((a, b) => (num(b.maxTimeouts) > num(a.maxTimeouts) ? b : a));
  return {
    flows: stalled.length,
    mss: num(worst.mss),
    pmtu: num(worst.pmtu),
    maxTimeouts: num(worst.maxTimeouts),
    ipv6: worst.family === 'ipv6',
    stalledS: stalled.filter((r) => !orphan(r)).reduce((sum, r) => sum + Math.min(windowSeconds, MIN_RTO_S * (2 ** num(r.maxTimeouts) - 1)), 0),
    orphans: stalled.every(orphan),
  };
}

/** Every retransmit on a socket its program had closed. */
const orphan = (r: Obj) => num(r.orphaned) >= num(r.retransmits);

function blackHoleTitle(endpoint: string, who: string, retransmits: number, flows: number, hole: BlackHole, windowSeconds: number): string {
  const address = endpoint.replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1');
  const ping = `ping${hole.ipv6 ? ' -6' : ''} -M do -s ${hole.pmtu - (hole.ipv6 ? 48 : 28)} ${address}`;
  return (
    `TCP from ${who} to ${endpoint} stalled on full-size segments: ${retransmits === 1 ? 'its one retransmit' : `all ${retransmits} retransmits`} over ${plural(flows, 'connection')} in ${fmtSeconds(windowSeconds)} ` +
    `${retransmits === 1 ? 'was a full' : 'were full'} ${hole.mss}-byte segment${retransmits === 1 ? '' : 's'} (one segment timed out ${hole.maxTimeouts} times in a row), after ${flows === 1 ? 'a handshake' : 'handshakes'} that got through` +
    (hole.orphans ? ' (on connections their program had already closed: the peer misses the end of what was sent, no one here waits)' : '') +
    ': ' +
    `packets as large as ${hole.pmtu} bytes are dropped on the path while small ones pass (an MTU black hole: a tunnel, VPN or overlay with a smaller MTU, ` +
    `and the ICMP "fragmentation needed" that would tell this host filtered), or the peer stopped answering; ` +
    `next: find the path's MTU (tracepath ${address}; ${ping}), then lower the route's MTU or clamp the MSS (ip route ... mtu, TCPMSS --clamp-mss-to-pmtu), or set net.ipv4.tcp_mtu_probing=1.`
  );
}

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
