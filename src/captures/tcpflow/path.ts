// A path at its capacity: transfers to or from one address held there, and the
// connections beside them that wait in its queue.
import { addressOf, latencySeverity, makeFinding, timeImpact, type AnalysisContext } from '../../analysis/common.js';
import type { Finding } from '../../analysis/types.js';
import { fmtBytes, fmtPct, fmtSeconds, fmtUs, listText, plural } from '../../format/index.js';
import { endsSwapped, flowEvidence, isDownload, MIN_RTT_SAMPLES, rateText, sendWaitKey, who, type Flow } from './flows.js';

/** Round trips this much over the path's floor (and twice it) wait in a queue. */
const QUEUE_US = 10_000;

/** The lowest RTT any connection to the address measured: the path without a queue. */
const floorOf = (flows: Flow[]) => Math.min(...flows.map((f) => f.minRttUs || Infinity));
/** A mover's round trips: a sender's smoothed RTT, a receiver's own estimate. */
const rttOf = (f: Flow) => (isDownload(f) ? { us: f.rcvRttAvgUs, samples: f.rcvRttSamples } : { us: f.srttAvgUs, samples: f.srttSamples });
const queuedUs = (rtt: { us: number; samples: number }, floorUs: number) => (rtt.samples >= MIN_RTT_SAMPLES ? rtt.us - floorUs : 0);
const queues = (rtt: { us: number; samples: number }, floorUs: number) => queuedUs(rtt, floorUs) >= QUEUE_US && rtt.us >= 2 * floorUs;
const srttOf = (f: Flow) => ({ us: f.srttAvgUs, samples: f.srttSamples });

/**
 * Transfers to or from one address, at the path's capacity: uploads held by the network, downloads (their
 * sender elsewhere: what holds it is not seen here). Their round trips far over the path's floor are a queue at
 * its narrowest link; connections beside them to that address waiting in it make the transfers their cause
 * (they lead, naming their processes). An upload alone is information on the path; a download alone, only
 * with its queue measured (else it is just a download).
 */
export function pathFinding(address: string, movers: Flow[], flows: Flow[], ctx: AnalysisContext): Finding | undefined {
  const toAddress = flows.filter((f) => addressOf(f.remote) === address);
  const floorUs = floorOf(toAddress);
  const known = Number.isFinite(floorUs);
  const queueing = known && movers.some((f) => queues(rttOf(f), floorUs));
  // Only a queue the transfers' own round trips show: a slow server's delayed ACKs raise others' RTTs too.
  const victims = queueing ? toAddress.filter((f) => !movers.includes(f) && queues(srttOf(f), floorUs)) : [];
  const [uploads, downloads] = [movers.filter((f) => !isDownload(f)), movers.filter(isDownload)];
  if (!uploads.length && !queueing) return undefined;
  const direction = uploads.length && downloads.length ? 'to and from' : uploads.length ? 'to' : 'from';
  const bytes = (f: Flow) => (isDownload(f) ? f.received : f.sent);
  const moved = movers.reduce((n, f) => n + bytes(f), 0);
  // Side by side, their times overlap: the window bounds the time they shared the path.
  const busyS = movers.reduce((n, f) => n + (isDownload(f) ? f.seconds : f.network), 0);
  const rate = moved / Math.min(ctx.windowSeconds, busyS);
  const lead = [...movers].sort((a, b) => bytes(b) - bytes(a))[0]!;
  const owners = [...new Map(movers.filter((f) => f.pid).map((f) => [f.pid, who(f)])).values()];
  const retransmits = uploads.reduce((n, f) => n + f.retransmits, 0);
  const rttSamples = movers.reduce((n, f) => n + rttOf(f).samples, 0);
  const rtt = movers.reduce((n, f) => n + rttOf(f).us * rttOf(f).samples, 0) / Math.max(1, rttSamples);
  // Leading, the sentence names the processes first: "it sent ..." then.
  const subject = (named: boolean) =>
    named ? (owners.length > 1 ? 'they' : 'it') : movers.length === 1 ? who(lead) : listText(owners.length ? owners : ['connections closed since'], 3);
  const movedText = (named: boolean) =>
    movers.length > 1
      ? `${subject(named)} moved ${fmtBytes(moved)} ${direction} ${address} over ${plural(movers.length, 'connection')} at ${rateText(rate)} together` +
        (uploads.length ? `, the uploads held by the network (their congestion windows full; the receivers' windows never short)` : '')
      : isDownload(lead)
        ? `${subject(named)} received ${fmtBytes(moved)} from ${lead.remote} at ${rateText(rate)} over the ${fmtSeconds(lead.seconds)} it was seen`
        : `${subject(named)} sent ${fmtBytes(moved)} to ${lead.remote} at ${rateText(rate)}, held by the network ${fmtPct(lead.network / Math.max(lead.seconds, 0.001))} of the ${fmtSeconds(lead.seconds)} it was seen (its congestion window full; the receiver's window never short)`;
  const queueText = queueing
    ? `; round trips on it took ~${fmtUs(rtt)}${downloads.length && !uploads.length ? ' (as the receiver measures them)' : ''} against a floor of ${fmtUs(floorUs)}: packets queue at its narrowest link (a shaper or policer, a full link)${retransmits ? `, and ${plural(retransmits, 'packet')} retransmitted (that queue overflowing)` : ''}`
    : retransmits
      ? ` (${plural(retransmits, 'packet')} retransmitted)`
      : '';
  const victimText = victims.length
    ? `; ${listText(
        victims.map((v) => `${who(v)}'s connection to ${v.remote} (round trips ~${fmtUs(v.srttAvgUs)}, ${plural(v.srttSamples, 'sample')})`),
        3,
      )} ${victims.length === 1 ? 'waits' : 'wait'} in that queue too`
    : '';
  const next = victims.length
    ? `cap the transfer below the path’s rate (its own limit, or tc on ${uploads.length ? 'this host' : 'the sending host'}), move it off-peak, or give interactive traffic its own queue (fq_codel, DSCP); and find the narrowest link (interface speeds, tc -s qdisc on each hop, a provider’s cap)`
    : `if it should be faster, find the narrowest link ${direction === 'from' ? 'on the way here' : 'to it'} (interface speeds, tc -s qdisc on each hop, a shaper or policer, a provider’s cap)`;
  const title = victims.length
    ? `${listText(owners.length ? owners : [who(lead)], 3)} ${owners.length > 1 ? 'fill' : 'fills'} the path ${direction} ${address}: ${movedText(true)}${queueText}${victimText}; next: ${next}.`
    : `The path ${direction} ${address} carries ~${rateText(rate)}: ${movedText(false)}${queueText}; next: ${next}.`;
  // Each victim's round trips, over the floor, are the time the queue cost it (at most its own time seen).
  const lostS = victims.reduce((n, v) => n + Math.min(v.seconds, (queuedUs(srttOf(v), floorUs) * v.srttSamples) / 1e6), 0);
  const worstUs = Math.max(0, ...victims.map((v) => queuedUs(srttOf(v), floorUs)));
  return {
    ...makeFinding(
      ctx,
      `path:${address}`,
      victims.length ? latencySeverity(worstUs / 1000, ctx.thresholds.rttP99Ms) : 'info',
      title,
      {
        // The transfers are the cause only of what waits behind them; alone, the path is the cause of their own waits.
        ...(victims.length && lead.pid ? { pid: lead.pid, comm: lead.comm } : {}),
        address,
        transfers: movers.map(flowEvidence),
        rateBytesPerSecond: Math.round(rate),
        ...(known ? { floorUs } : {}),
        ...(victims.length ? { victims: victims.map(flowEvidence) } : {}),
      },
      victims.length ? worstUs / 1000 / ctx.thresholds.rttP99Ms : 0,
      victims.length
        ? timeImpact(
            lostS,
            ctx.windowSeconds,
            `${plural(
              victims.reduce((n, v) => n + v.srttSamples, 0),
              'round trip',
            )} of other connections to ${address} ~${fmtUs(worstUs)} over the floor`,
            ['latency'],
          )
        : undefined,
    ),
    cause: { key: `path ${direction} ${address}`, subject: listText(owners, 3) },
    links: {
      explains: [
        ...new Set([
          // Its uploads' waits for room to send; the slow answers, RTTs and (with a queue) losses of everyone on the path.
          ...uploads.map(sendWaitKey),
          `path:${address}`,
          // With a queue: the losses where it overflows, and the round trips the other ends of these connections
          // (when on this host) measure through it.
          ...(queueing
            ? [...[...movers, ...victims].map((f) => `loss:${f.remote}`), ...peersOf([...movers, ...victims], flows).map((p) => `path:${addressOf(p.remote)}`)]
            : []),
        ]),
      ],
    },
  };
}

/** The connections at the other end of these, on this host (their ends swapped). */
const peersOf = (mine: Flow[], flows: Flow[]) => flows.filter((f) => mine.some((m) => endsSwapped(m, f)));
