// reclaim's check: a process that spent a noticeable share of the window
// stalled reclaiming memory in its own allocations. At a cgroup limit that is
// the container running out of room (its page cache and anonymous memory
// fighting for the limit) well before any OOM kill; without one, the host is
// short of free memory. Either way each allocation that stalls is latency.
import { makeFinding, num, objs, str, timeImpact, type AnalysisContext, type CaptureAnalysis, type Obj } from '../../analysis/common.js';
import type { Finding } from '../../analysis/types.js';
import { fmtBytes, fmtMs, plural, processLabel } from '../../format/index.js';

/** Stalled this share of the window or more: a finding; ten times as much: critical. */
const MIN_STALLED_SHARE = 0.01;
const CRITICAL_SHARE = 0.1;
/** Fewer stalls than this are a blip, whatever their length. */
const MIN_STALLS = 3;

function analyzeReclaim(data: Obj, ctx: AnalysisContext): CaptureAnalysis {
  const groups = objs(data.groups);
  // A process's thread names and kinds together: what it lost in all.
  const byProcess = new Map<number, Obj[]>();
  for (const g of groups) {
    const rows = byProcess.get(num(g.pid));
    if (rows) rows.push(g);
    else byProcess.set(num(g.pid), [g]);
  }
  const findings: Finding[] = [];
  for (const [pid, rows] of byProcess) {
    const stalledMs = rows.reduce((a, r) => a + num(r.stalledMs), 0);
    const stalls = rows.reduce((a, r) => a + num(r.stalls), 0);
    const share = stalledMs / 1000 / Math.max(0.001, ctx.windowSeconds);
    if (stalls < MIN_STALLS || share < MIN_STALLED_SHARE) continue;
    const main = [...rows].sort((a, b) => num(b.stalledMs) - num(a.stalledMs))[0]!;
    const longestMs = Math.max(...rows.map((r) => num(r.longestMs)));
    const atLimit = main.kind === 'cgroup';
    const limit =
      atLimit && main.limitBytes !== undefined
        ? ` at its memory cgroup's limit (${fmtBytes(num(main.limitBytes))} on ${str(main.limitedAt)}${main.peakBytes !== undefined ? `, peak ${fmtBytes(num(main.peakBytes))}` : ''})`
        : atLimit
          ? ' at its memory cgroup limit'
          : ' with the host short of free memory';
    const next = atLimit
      ? "next: what fills the cgroup (its processes' memory, page cache of files it reads or writes), or raise its limit"
      : "next: what holds the host's memory (the largest processes, page cache), swap and kswapd activity";
    findings.push({
      ...makeFinding(
        ctx,
        `pid:${pid}`,
        share >= CRITICAL_SHARE ? 'critical' : 'warning',
        `${processLabel(main.comm, pid)} stalled ${fmtMs(stalledMs)} reclaiming memory${limit}: ${plural(stalls, 'stall')} over ${ctx.windowSeconds.toFixed(1)} s, the longest ${fmtMs(longestMs)}; ${next}.`,
        {
          pid,
          comm: str(main.comm),
          kind: str(main.kind),
          stalls,
          stalledMs: Math.round(stalledMs * 1000) / 1000,
          longestMs,
          reclaimedBytes: rows.reduce((a, r) => a + num(r.reclaimedBytes), 0),
          ...(main.cgroup !== undefined ? { memoryCgroup: str(main.cgroup) } : {}),
          ...(main.limitBytes !== undefined ? { limitBytes: num(main.limitBytes), limitedAt: str(main.limitedAt) } : {}),
          ...(main.usageBytes !== undefined ? { usageBytes: num(main.usageBytes) } : {}),
          ...(main.peakBytes !== undefined ? { peakBytes: num(main.peakBytes) } : {}),
        },
        share / MIN_STALLED_SHARE,
        timeImpact(stalledMs / 1000, ctx.windowSeconds, `${plural(stalls, 'reclaim stall')}, ${fmtMs(stalledMs)} in all`, ['latency', 'health']),
      ),
      // The process's off-CPU waits inside reclaim (offcputime) are these stalls seen from the scheduler.
      links: { explains: [`reclaim-pid:${pid}`] },
    });
  }
  findings.sort((a, b) => b.score - a.score);
  const total = groups.reduce((a, g) => a + num(g.stalls), 0);
  return { findings: findings.slice(0, 5), checked: `memory reclaim stalls (${plural(total, 'stall')})` };
}

export const reclaimAnalysis = { checks: 'memory reclaim stalls', analyze: analyzeReclaim };
