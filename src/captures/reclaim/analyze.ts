// reclaim's check: a process that spent a noticeable share of the window
// stalled reclaiming memory in its own allocations. At a cgroup limit that is
// the container running out of room (its page cache and anonymous memory
// fighting for the limit) well before any OOM kill; without one, the host is
// short of free memory. Either way each allocation that stalls is latency.
// Thrashing is the worse case: under a limit smaller than its working set a
// cgroup keeps reading back the file pages it has just evicted (refaults), so
// its reads wait on the disk, however short each reclaim stall is; those disk
// waits (offcputime) are then the thrash's own cost. Compaction stalls are
// the same in kind: an allocation of contiguous pages (a transparent huge
// page) found none free and the thread moved pages to make some.
import { makeFinding, num, objs, str, timeImpact, type AnalysisContext, type CaptureAnalysis, type Obj } from '../../analysis/common.js';
import type { Finding } from '../../analysis/types.js';
import { fmtBytes, fmtMs, plural, processLabel } from '../../format/index.js';

/** Stalled this share of the window or more: a finding; ten times as much: critical. */
const MIN_STALLED_SHARE = 0.01;
const CRITICAL_SHARE = 0.1;
/** Fewer stalls than this are a blip, whatever their length. */
const MIN_STALLS = 3;
/** Evicted file pages read back at least this fast under one limit: thrashing. */
const THRASH_BYTES_PER_S = 1024 * 1024;
/** What a disk wait of a thrashing process may cost per page read back, at most: a slow disk's read. */
const MAX_WAIT_PER_REFAULT_S = 0.01;
/** Pages read back, from their bytes: counted in the smallest pages, the bound above is the most it can be. */
const SMALLEST_PAGE_BYTES = 4096;

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
    const thrash = thrashOf(rows, num(data.hostRefaultedBytes), ctx.windowSeconds);
    if (!thrash && (stalls < MIN_STALLS || share < MIN_STALLED_SHARE)) continue;
    const main = thrash?.row ?? [...rows].sort((a, b) => num(b.stalledMs) - num(a.stalledMs))[0]!;
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
    const who = processLabel(main.comm, pid);
    const stalled = `${plural(stalls, 'stall')} over ${ctx.windowSeconds.toFixed(1)} s, the longest ${fmtMs(longestMs)}`;
    const readBack = thrash && `${fmtBytes(thrash.bytes)} of file pages it had evicted (${fmtBytes(thrash.bytesPerS)}/s`;
    const compactingMs = rows.filter((r) => r.kind === 'compaction').reduce((a, r) => a + num(r.stalledMs), 0);
    const title =
      main.kind === 'compaction'
        ? `${who} stalled ${fmtMs(stalledMs)} compacting memory in its own allocations: moving pages to make a contiguous run where an allocation of one ` +
          `(a transparent huge page, most often; or a write to /proc/sys/vm/compact_memory) found none free (${stalled}); ` +
          'next: let huge pages not wait for compaction (transparent_hugepage/defrag: defer+madvise or never, or PR_SET_THP_DISABLE for this process) and look at fragmentation (/proc/buddyinfo, compact_stall in /proc/vmstat)'
        : !thrash
          ? `${who} stalled ${fmtMs(stalledMs)} reclaiming memory${limit}${compactingMs ? ` (${fmtMs(compactingMs)} of it compacting)` : ''}: ${stalled}; ${next}`
          : thrash.limitBytes !== undefined
            ? `${who} is thrashing${limit}: the cgroup read back ${readBack}, ${fmtTimes(thrash.bytes / Math.max(1, thrash.limitBytes))} the limit), so its reads wait on the disk; it stalled ${fmtMs(stalledMs)} reclaiming (${stalled}); next: raise the limit above its working set, or find what fills it (its processes' memory, the files they reread)`
            : `${who} is thrashing${limit}: the host read back ${readBack}), so reads wait on the disk; it stalled ${fmtMs(stalledMs)} reclaiming (${stalled}); next: what holds the host's memory (the largest processes), or add memory`;
    findings.push({
      ...makeFinding(
        ctx,
        `pid:${pid}`,
        share >= CRITICAL_SHARE || (thrash?.limitBytes !== undefined && thrash.bytes >= thrash.limitBytes) ? 'critical' : 'warning',
        `${title}.`,
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
          ...(thrash ? { refaultedBytes: thrash.bytes, refaultedBytesPerS: Math.round(thrash.bytesPerS) } : {}),
        },
        Math.max(share / MIN_STALLED_SHARE, thrash ? thrash.bytesPerS / THRASH_BYTES_PER_S : 0),
        timeImpact(
          stalledMs / 1000,
          ctx.windowSeconds,
          `${plural(stalls, 'reclaim stall')}, ${fmtMs(stalledMs)} in all`,
          thrash ? ['latency', 'disk', 'health'] : ['latency', 'health'],
        ),
      ),
      // The process's off-CPU waits inside reclaim (offcputime) are these stalls seen from the scheduler;
      // thrashing, its disk waits are re-reads of what the limit evicted (its own cost, bounded by the pages read back),
      // and its fast file reads (filetop) reach the disk because of it.
      links: {
        explains: thrash ? [`reclaim-pid:${pid}`, `file-reads-pid:${pid}`] : [`reclaim-pid:${pid}`],
        // A process whose own memory climbs (memgrowth) is why it keeps reaching the limit.
        shows: [`memory-growth-pid:${pid}`],
        ...(thrash
          ? {
              costs: [`disk-wait-pid:${pid}`],
              costsAtMost: ((thrash.bytes / SMALLEST_PAGE_BYTES) * MAX_WAIT_PER_REFAULT_S) / Math.max(0.001, ctx.windowSeconds),
            }
          : {}),
      },
      ...(thrash
        ? { cause: { key: thrash.limitBytes !== undefined ? `memory cgroup thrashing at ${str(main.limitedAt)}` : 'host thrashing', subject: `pid ${pid}` } }
        : {}),
    });
  }
  findings.sort((a, b) => b.score - a.score);
  const total = groups.reduce((a, g) => a + num(g.stalls), 0);
  return { findings: findings.slice(0, 5), checked: `memory reclaim stalls (${plural(total, 'stall')})` };
}

interface Thrash {
  row: Obj;
  /** Pages read back, in bytes, over the window. */
  bytes: number;
  bytesPerS: number;
  /** The cgroup limit it thrashed under; undefined: the host's memory. */
  limitBytes?: number;
}

/**
 * Thrashing, if it is: the process's row whose memory read back evicted pages fastest (at a cgroup
 * limit, that cgroup's; short of free memory, the host's), with the limit it fought over.
 */
function thrashOf(rows: Obj[], hostBytes: number, windowSeconds: number): Thrash | undefined {
  const candidates = rows.flatMap((row): Omit<Thrash, 'bytesPerS'>[] => {
    if (row.kind === 'cgroup' && row.refaultedBytes !== undefined && row.limitBytes !== undefined)
      return [{ row, bytes: num(row.refaultedBytes), limitBytes: num(row.limitBytes) }];
    if (row.kind === 'direct' && hostBytes > 0) return [{ row, bytes: hostBytes }];
    return [];
  });
  const top = candidates.sort((a, b) => b.bytes - a.bytes)[0];
  if (!top) return undefined;
  const bytesPerS = top.bytes / Math.max(0.001, windowSeconds);
  return bytesPerS >= THRASH_BYTES_PER_S ? { ...top, bytesPerS } : undefined;
}

/** "2.3×", "0.4×". */
const fmtTimes = (x: number) => `${x >= 10 ? Math.round(x) : x.toFixed(1)}×`;

export const reclaimAnalysis = { checks: 'memory reclaim stalls', analyze: analyzeReclaim };
