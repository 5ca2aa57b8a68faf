// tcpflow's checks: what held a connection's sending. A bulk upload held by
// the network is a path at its capacity (information), and the cause when its
// queue slows the connections beside it to the same address (their round
// trips far over the path's floor: bufferbloat behind a backup or a sync); a
// download is, when the queue on its way here shows in its own RTT estimate.
// One held by the peer's receive window or its own send buffer says which end
// to fix.
import { addressOf, isLoopback, makeFinding, num, objs, type AnalysisContext, type CaptureAnalysis, type Obj } from '../../analysis/common.js';
import type { Finding } from '../../analysis/types.js';
import { fmtBytes, fmtPct, fmtSeconds, fmtUs, plural } from '../../format/index.js';
import { endsSwapped, flowEvidence, flowOf, held, isDownload, isTransfer, MOSTLY, rateText, sendWaitKey, who, type Flow } from './flows.js';
import { pathFinding } from './path.js';

function analyzeTcpflow(data: Obj, ctx: AnalysisContext): CaptureAnalysis {
  const flows = objs(data.flows).map(flowOf);
  const findings: Finding[] = [];
  // A download whose sender is on this host too is told from the sender's side (what held it is seen there).
  const sentHere = (f: Flow) => flows.some((g) => endsSwapped(g, f) && isTransfer(g));
  const transfers = flows.filter((f) => isTransfer(f) || (isDownload(f) && !sentHere(f)));
  const paths = new Map<string, Flow[]>();
  for (const f of transfers) {
    // Over loopback no path holds anything: a congestion window there is small writes answered at once.
    if (isDownload(f) || f.network >= held(f) * MOSTLY) {
      if (!isLoopback(f.remote)) paths.set(addressOf(f.remote), [...(paths.get(addressOf(f.remote)) ?? []), f]);
    } else if (f.rwnd >= held(f) * MOSTLY) findings.push(receiveWindowFinding(f, ctx));
    else if (f.sndbuf >= held(f) * MOSTLY) findings.push(sendBufferFinding(f, ctx));
  }
  for (const [address, movers] of paths) {
    const finding = pathFinding(address, movers, flows, ctx);
    if (finding) findings.push(finding);
  }
  const total = num(data.totalFlows) || flows.length;
  return { findings, checked: `TCP transfers (${plural(total, 'connection')}, ${plural(transfers.length, 'transfer')})` };
}

/** Held by the peer's receive window: the peer reads slowly, or its buffer is small for the path. */
function receiveWindowFinding(f: Flow, ctx: AnalysisContext): Finding {
  const rate = f.sent / held(f);
  const rtt = f.srttAvgUs || f.minRttUs;
  const windowText = f.peerWindow
    ? `; its window was ${fmtBytes(f.peerWindow)} at the end${rtt ? `, which allows at most ${rateText(f.peerWindow / (rtt / 1e6))} over round trips of ${fmtUs(rtt)}` : ''}`
    : '';
  const title = `${who(f)}'s connection to ${f.remote} was held by the peer's receive window ${fmtPct(f.rwnd / Math.max(f.seconds, 0.001))} of the ${fmtSeconds(f.seconds)} it was seen, sending ${fmtBytes(f.sent)} at ${rateText(rate)}${windowText}: the peer reads slowly, or its receive buffer is small for the path; next: look at what the reader at ${f.remote} waits for, and its receive buffer (net.ipv4.tcp_rmem, SO_RCVBUF).`;
  return {
    ...makeFinding(ctx, `rwnd:${f.pid}:${f.remote}`, 'info', title, { senderPid: f.pid, comm: f.comm, flow: flowEvidence(f) }, 0),
    links: { explains: [sendWaitKey(f)], onlyAsCause: true },
  };
}

/** Held by its own send buffer: too small to keep the path's rate × RTT in flight. */
function sendBufferFinding(f: Flow, ctx: AnalysisContext): Finding {
  const rate = f.sent / held(f);
  const rtt = f.srttAvgUs || f.minRttUs;
  const title = `${who(f)}'s connection to ${f.remote} was held by its own send buffer ${fmtPct(f.sndbuf / Math.max(f.seconds, 0.001))} of the ${fmtSeconds(f.seconds)} it was seen, sending ${fmtBytes(f.sent)} at ${rateText(rate)}${rtt ? ` over round trips of ${fmtUs(rtt)}` : ''}: the buffer holds less than the path could carry in flight; next: raise it (SO_SNDBUF, or net.ipv4.tcp_wmem's maximum for autotuning).`;
  return {
    ...makeFinding(ctx, `sndbuf:${f.pid}:${f.remote}`, 'info', title, { senderPid: f.pid, comm: f.comm, flow: flowEvidence(f) }, 0),
    links: { explains: [sendWaitKey(f)], onlyAsCause: true },
  };
}

export const tcpflowAnalysis = { checks: 'TCP transfers', analyze: analyzeTcpflow };
