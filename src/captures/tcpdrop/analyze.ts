// tcpdrop's checks: drops grouped by cause. A listener's drops (its accept
// queue or backlog full) are one cause per listener, named with its port,
// owner and backlog; drops without a socket (a firewall, no listener) are one
// cause per reason and destination. Each finding says what to look at next.
import { addressOf, makeFinding, num, objs, portOf, str, timeImpact, type CaptureAnalysis, type AnalysisContext, type Obj } from '../../analysis/common.js';
import { fmtCount, fmtRate, fmtSeconds, listText, plural } from '../../format/index.js';
import type { Finding, Severity } from '../../analysis/types.js';

/** What a reason means and what to do, for the reasons seen in incidents; others get the kernel's name only. */
const ADVICE: Record<string, string> = {
  TCP_LISTEN_OVERFLOW:
    'its accept queue was full: the process accepts too slowly (see what it does between accepts: offcputime, lockwait; whether accept() fails: syscallerrors) or its backlog is too small (listen() backlog, net.core.somaxconn)',
  SOCKET_BACKLOG: 'the socket backlog was full while the process held the socket: it is too slow to read (offcputime, lockwait)',
  SOCKET_RCVBUFF: 'its receive buffer was full: the process reads too slowly, or the buffer is too small (SO_RCVBUF, net.ipv4.tcp_rmem)',
  PROTO_MEM: 'TCP memory was exhausted (net.ipv4.tcp_mem): see which sockets hold buffered data (ss -tm)',
  NETFILTER_DROP: 'a firewall rule dropped them: check the rules there (nft list ruleset, iptables-save)',
  NO_SOCKET: 'nothing was listening or connected there: a service down, or a client using a closed connection',
  QDISC_DROP: 'the egress queue (qdisc) was full: shaping or a saturated link (tc -s qdisc)',
  QDISC_OVERLIMIT: 'the egress queue (qdisc) was over its limit: shaping or a saturated link (tc -s qdisc)',
  TCP_ZEROWINDOW: 'the receiver advertised a zero window: its reader is too slow',
  CPU_BACKLOG: 'the per-CPU input backlog was full: the host receives faster than it processes (net.core.netdev_max_backlog, softirq load)',
  FULL_RING: 'a device ring was full',
  NOMEM: 'memory allocation failed',
};
/** Listener drops matter from the first; others from this many. */
const MIN_DROPS = 5;
/** Reasons a healthy host sees now and then (late or stray packets): only many of them are a finding. */
const BACKGROUND = new Set([
  'NO_SOCKET',
  'TCP_OLD_DATA',
  'TCP_OLD_SEQUENCE',
  'TCP_INVALID_SEQUENCE',
  'TCP_OLD_ACK',
  'TCP_CLOSE',
  'TCP_RESET',
  'TCP_FLAGS',
  'OTHERHOST',
  'TCP_RFC7323_PAWS',
  'TCP_OFOMERGE',
]);
const MIN_BACKGROUND_DROPS = 20;
/** A socket's own close freeing what it still held (unread or unsent data): its lifecycle, no packet lost on a path. */
const LIFECYCLE = new Set(['QUEUE_PURGE', 'SOCKET_CLOSE', 'SOCKET_DESTROYED']);
const MAX_FINDINGS = 10;
const round = (n: number) => Math.round(n * 1000) / 1000;

interface Group {
  key: string;
  reason: string;
  rows: Obj[];
  drops: number;
  listener: boolean;
}

export function analyzeTcpdrop(data: Obj, ctx: AnalysisContext): CaptureAnalysis {
  const rows = objs(data.rows);
  const seconds = Math.max(0.001, ctx.windowSeconds);
  const groups = new Map<string, Group>();
  for (const r of rows) {
    const reason = str(r.reason) || '?';
    const port = num(r.port);
    const listener = r.backlog !== undefined || str(r.state) === 'LISTEN';
    // A socket's drops: per socket (port, owner) and reason. Without one: per reason and destination.
    const key = port ? `sock:${reason}:${port}:${num(r.pid)}` : `pkt:${reason}:${str(r.protocol)}:${str(r.destination)}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { key, reason, rows: [], drops: 0, listener: false }));
    g.rows.push(r);
    g.drops += num(r.drops);
    g.listener ||= listener;
  }
  // Full connection-tracking tables first: their drops read like a firewall rule's (NETFILTER_DROP in nf_hook_slow).
  const findings: Finding[] = objs(data.conntrack).map((t) => conntrackFinding(t, ctx, seconds));
  // Listeners seen at their limit with overflows in their namespace; packet drops of the same listener join them.
  for (const l of objs(data.listeners)) {
    if (num(l.namespaceOverflows) <= 0 || findings.length >= MAX_FINDINGS) continue;
    const joined = [...groups.values()].filter((g) => g.listener && num(g.rows[0]!.port) === num(l.port) && num(g.rows[0]!.pid) === num(l.pid));
    for (const g of joined) groups.delete(g.key);
    findings.push(sampledListenerFinding(l, joined, ctx, seconds));
  }
  for (const g of [...groups.values()].sort((a, b) => b.drops - a.drops)) {
    if (findings.length >= MAX_FINDINGS) break;
    if (LIFECYCLE.has(g.reason)) continue;
    // A listener's drops matter from the first, but for the background reasons (a segment of a connection just reset, late).
    const min = BACKGROUND.has(g.reason) ? MIN_BACKGROUND_DROPS : g.listener || g.reason === 'TCP_LISTEN_OVERFLOW' ? 1 : MIN_DROPS;
    if (g.drops < min) continue;
    findings.push(g.listener ? listenerFinding(g, ctx, seconds) : packetFinding(g, ctx, seconds));
  }
  const overflows = objs(data.listeners).reduce((n, l) => Math.max(n, num(l.namespaceOverflows)), 0);
  const total = rows.reduce((n, r) => n + num(r.drops), 0) + overflows;
  const reasons = [...new Set(rows.map((r) => str(r.reason)))];
  const checked = `packet drops (${plural(total, 'drop')}${reasons.length ? `: ${listText(reasons, 4)}` : ''})`;
  return { findings, checked };
}

function sampledListenerFinding(l: Obj, joined: Group[], ctx: AnalysisContext, seconds: number): Finding {
  const port = num(l.port);
  const pid = num(l.pid);
  const overflows = num(l.namespaceOverflows);
  const packetDrops = joined.reduce((n, g) => n + g.drops, 0);
  // Both count the same refusals where they overlap (an overflow on the handshake's last ACK is a drop and an overflow).
  // Attempts refused: the kernel's own count when it has one; the packets dropped at the listener (SYN
  // retries, handshake ACKs) are more than the attempts, and said apart.
  const drops = overflows > 0 ? overflows : packetDrops;
  const owner = pid ? `${str(l.comm) || '?'} (pid ${pid})` : 'an owner Sherlock could not find';
  const rate = drops / seconds;
  const shared = num(l.sharedWith);
  const sources = [...new Set(joined.flatMap((g) => g.rows.map((r) => addressOf(str(r.source)))).filter(Boolean))];
  const what = port
    ? `The listener on port ${port} of ${owner} on ${ctx.node} refused ${plural(drops, 'connection attempt')} (accept queue full: ${num(l.maxAcceptQueue)} waiting, backlog ${l.backlog !== undefined ? num(l.backlog) : 'unknown'}${packetDrops > drops ? `; ${fmtCount(packetDrops)} packets dropped at it` : ''})`
    : `A listener on ${ctx.node} refused ${plural(drops, 'connection attempt')} (accept queue full; its queue drained between samples, so which one is not known)`;
  const title =
    `${what}, ${fmtRate(rate)} over the ${fmtSeconds(seconds)} window${sources.length ? ` from ${listText(sources, 3)}` : ''}` +
    `${shared ? ` (its network namespace's count, shared with ${plural(shared, 'other listener')} at their limit)` : ''}: ${ADVICE.TCP_LISTEN_OVERFLOW}.`;
  return listenerLinks(
    port,
    makeFinding(
      ctx,
      `listener:${port}:${pid}:overflow`,
      severityOf(drops, 10),
      title,
      {
        port,
        pid,
        comm: str(l.comm),
        reason: 'TCP_LISTEN_OVERFLOW',
        drops,
        ...(l.backlog !== undefined ? { backlog: num(l.backlog) } : {}),
        acceptQueue: num(l.maxAcceptQueue),
        namespaceOverflows: overflows,
        packetDrops,
        sharedWith: shared,
        netns: str(l.netns),
        impact: { dropsPerSecond: round(rate), drops },
      },
      rate * 10,
    ),
    true,
  );
}

/**
 * A listener dropping SYNs on port P explains slow connects to P (tcpconnlat): one finding with it as the cause
 * (src/analysis/causes.ts). A full accept queue also explains the clients' retransmits to P (their SYNs, and data
 * after a handshake whose last ACK it dropped), and is shown, for a cause of its own: accept() failing (syscallerrors).
 */
const listenerLinks = (port: number, f: Finding, acceptQueueFull: boolean): Finding => ({
  ...f,
  links:
    acceptQueueFull && port
      ? { explains: [`syn-loss-port:${port}`, `retrans-port:${port}`], shows: [`accept-queue-port:${port}`] }
      : { explains: [`syn-loss-port:${port}`] },
});

const severityOf = (drops: number, critical: number): Severity => (drops >= critical ? 'critical' : 'warning');

const CONNTRACK_FULL = 'conntrack-full';
const NETFILTER_ITSELF =
  "netfilter itself dropped them, not a rule (a rule's drops are in nft_do_chain or ipt_do_table): as it does when the connection-tracking table is full (nf_conntrack_count against nf_conntrack_max)";
/** A new connection whose packets conntrack could not track: its SYN is lost, retried after the 1 s timeout. */
const DROPPED_SYN_S = 1;

/** A network namespace whose connection-tracking table was full: it leads the drops it caused. */
function conntrackFinding(t: Obj, ctx: AnalysisContext, seconds: number): Finding {
  const drops = num(t.drops);
  const whose = t.host === true ? "this host's network namespace" : `the network namespace of ${str(t.comm) || '?'} (pid ${num(t.pid)})`;
  const max = num(t.max);
  const title =
    `The connection-tracking table of ${whose} on ${ctx.node} is full (${fmtCount(num(t.entries))} entries${max ? ` of nf_conntrack_max ${fmtCount(max)}` : ''}): ` +
    `new connections' packets it could not track were dropped, ${fmtCount(drops)} in the ${fmtSeconds(seconds)} window (NETFILTER_DROP, "nf_conntrack: table full, dropping packet")` +
    `${num(t.earlyDrops) ? `, and evicted ${fmtCount(num(t.earlyDrops))} unanswered ones to make room` : ''}; ` +
    'next: raise net.netfilter.nf_conntrack_max (with nf_conntrack_buckets), shorten how long idle and closed connections stay tracked (nf_conntrack_tcp_timeout_established, nf_conntrack_tcp_timeout_time_wait), or find who holds the entries (conntrack -L).';
  return {
    ...makeFinding(
      ctx,
      `conntrack-full:${str(t.netns)}`,
      severityOf(drops, 10),
      title,
      {
        netns: str(t.netns),
        host: t.host === true,
        ...(t.host === true ? {} : { pid: num(t.pid), comm: str(t.comm) }),
        entries: num(t.entries),
        max,
        drops,
        earlyDrops: num(t.earlyDrops),
      },
      drops / seconds,
      timeImpact(drops * DROPPED_SYN_S, seconds, `${plural(drops, 'packet')} of new connections dropped × ${DROPPED_SYN_S} s (a SYN retried)`, ['latency']),
    ),
    cause: { key: `conntrack table full: ${str(t.netns)}`, subject: whose },
    links: { explains: [CONNTRACK_FULL], leads: true },
  };
}

function listenerFinding(g: Group, ctx: AnalysisContext, seconds: number): Finding {
  const first = g.rows[0]!;
  const port = num(first.port);
  const pid = num(first.pid);
  const owner = pid ? `${str(first.comm) || '?'} (pid ${pid})` : 'an owner Sherlock could not find (its socket is not open in any process now)';
  const withBacklog = g.rows.find((r) => r.backlog !== undefined);
  const backlog = withBacklog ? num(withBacklog.backlog) : undefined;
  const sources = [...new Set(g.rows.map((r) => addressOf(str(r.source))).filter(Boolean))];
  const rate = g.drops / seconds;
  const title =
    `The listener on port ${port} of ${owner} on ${ctx.node} dropped ${plural(g.drops, 'packet')} (${g.reason}${backlog !== undefined ? `, backlog ${backlog}` : ''}), ` +
    `${fmtRate(rate)} over the ${fmtSeconds(seconds)} window${sources.length ? ` from ${listText(sources, 3)}` : ''}: ` +
    `${ADVICE[g.reason] ?? `the kernel's reason is ${g.reason}`}.`;
  return listenerLinks(
    port,
    makeFinding(
      ctx,
      `listener:${port}:${pid}:${g.reason}`,
      severityOf(g.drops, 10),
      title,
      {
        port,
        pid,
        comm: str(first.comm),
        reason: g.reason,
        drops: g.drops,
        ...(backlog !== undefined ? { backlog, acceptQueue: num(withBacklog!.acceptQueue) } : {}),
        location: str(first.location),
        sources: sources.slice(0, 10),
        impact: { dropsPerSecond: round(rate), drops: g.drops },
      },
      rate * 10,
    ),
    g.reason === 'TCP_LISTEN_OVERFLOW',
  );
}

function packetFinding(g: Group, ctx: AnalysisContext, seconds: number): Finding {
  const first = g.rows[0]!;
  const destination = str(first.destination);
  const port = num(first.port);
  const pid = num(first.pid);
  const sources = [...new Set(g.rows.map((r) => str(r.source)).filter(Boolean))];
  const where = destination ? ` to ${destination}` : port ? ` on port ${port}` : '';
  const owner = pid ? ` (socket of ${str(first.comm) || '?'}, pid ${pid})` : '';
  const locations = [...new Set(g.rows.map((r) => str(r.location)).filter(Boolean))];
  const netfilterItself = g.reason === 'NETFILTER_DROP' && locations.length > 0 && locations.every((l) => l === 'nf_hook_slow');
  const rate = g.drops / seconds;
  const udp = str(first.protocol) === 'udp';
  const advice = netfilterItself ? NETFILTER_ITSELF : (udp && UDP_ADVICE[g.reason]) || ADVICE[g.reason] || `the kernel's reason is ${g.reason}`;
  const title =
    `${fmtCount(g.drops)} ${str(first.protocol).toUpperCase()} packets${where}${owner} were dropped on ${ctx.node} (${g.reason}, in ${listText(locations, 2)}), ` +
    `${fmtRate(rate)} over the ${fmtSeconds(seconds)} window${sources.length ? `, from ${listText(sources, 3)}` : ''}: ${advice}.`;
  const destPort = portOf(destination);
  // Lost packets explain retransmits to D; packets to no socket at D explain the connects D refused.
  const explains = destination ? [`loss:${destination}`, ...(g.reason === 'NO_SOCKET' ? [`refused:${destination}`] : [])] : [];
  // Netfilter's own verdict (not a rule's, which drops in nft_do_chain or ipt_do_table): a full connection-tracking table explains it.
  // A full egress queue on the way to D: a transfer filling that path explains it (tcpflow).
  const shows = netfilterItself ? [CONNTRACK_FULL] : g.reason.startsWith('QDISC_') && destination ? [`path:${addressOf(destination)}`] : [];
  const dropped = (f: Finding): Finding =>
    explains.length || shows.length ? { ...f, links: { ...(explains.length ? { explains } : {}), ...(shows.length ? { shows } : {}) } } : f;
  return dropped(
    makeFinding(
      ctx,
      `drop:${g.reason}:${destination || port}`,
      udp ? udpSeverity(g) : severityOf(g.drops, 100),
      title,
      {
        reason: g.reason,
        protocol: str(first.protocol),
        destination,
        ...(destPort !== undefined ? { port: destPort } : {}),
        ...(pid ? { pid, comm: str(first.comm) } : {}),
        drops: g.drops,
        locations,
        sources: sources.slice(0, 10),
        // A lost UDP datagram is data lost (a metric, a log line), not a wait for a resend: no time impact.
        ...(udp ? {} : { impact: { dropsPerSecond: round(rate), drops: g.drops } }),
      },
      rate,
    ),
  );
}

/** UDP: what fits nowhere is lost for good, and nothing resends it. */
const UDP_ADVICE: Record<string, string> = {
  SOCKET_RCVBUFF:
    'its receive buffer was full: the process reads too slowly for what it is sent, or the buffer is too small (SO_RCVBUF, net.core.rmem_default and net.core.rmem_max); UDP does not resend, so what was dropped is lost (metrics, log lines)',
  NO_SOCKET: 'nothing listened on that UDP port (replies arriving after their asker gave up, a collector that is down)',
};

/** UDP drops into a socket are data lost: a warning; to no socket, the background of late replies: information. */
const udpSeverity = (g: Group): Severity => (g.reason === 'NO_SOCKET' ? 'info' : 'warning');
