// reclaim: time processes stalled reclaiming memory in their own allocations
// (direct reclaim: the host ran low; cgroup reclaim: their memory cgroup hit
// its limit), per process, thread name and memory cgroup, with the cgroup's
// limit, peak and usage at the end; and one histogram of every stall (µs).
// See bpf/reclaim/reclaim.bpf.c.
import { cString, recordLayout } from '../records.js';
import type { CaptureDefinition, Column } from '../capture.js';
import { decodeHistogram, histLayout, renderHistogram, type Log2Histogram } from '../histogram.js';
import { fmtBytes } from '../../format/index.js';
import { pageSize } from '../../util/page-size.js';
import { reclaimAnalysis } from './analyze.js';
import { reclaimBaseline } from './baseline.js';
import { controllerHierarchy, type CgroupHierarchy } from '../cgroup-dirs.js';
import { memcgLimits, type MemcgLimit } from './memcg-limit.js';
import { hostRefaults, limitedCgroupRefaults, refaultsAt } from './refaults.js';
import { reclaimSetup } from './setup.js';

export type ReclaimParams = typeof reclaimSetup.defaults;

/** One process's (thread name's, memory cgroup's) stalls of one kind. */
export interface ReclaimGroup extends Partial<MemcgLimit> {
  pid: number;
  comm: string;
  /**
   * cgroup: its memory cgroup (or one above) reached a limit; direct: the host ran low on free memory;
   * compaction: it moved pages to make a contiguous run (an allocation of a huge page found none free).
   */
  kind: 'cgroup' | 'direct' | 'compaction';
  stalls: number;
  stalledMs: number;
  longestMs: number;
  reclaimedBytes: number;
  /**
   * File pages the cgroup with the limit (limitedAt, its whole subtree) read back in after evicting
   * them, during the window, in bytes: thrashing when it is large beside the limit. Absent when the
   * limit was not there at the start or the kernel does not count them.
   */
  refaultedBytes?: number;
}

export interface ReclaimData {
  /** Most stalled time first. */
  groups: ReclaimGroup[];
  /** Every stall, µs. */
  histogram: Log2Histogram;
  top: number;
  /** File pages the whole host read back after evicting them during the window, bytes: for the `direct` stalls. */
  hostRefaultedBytes?: number;
}

/** struct reclaim_key and struct reclaim_stats. */
export const keyLayout = recordLayout('reclaim_key', 32, { memcg_id: 0, tgid: 8, kind: 12, comm: 16 }, { comm: 16 });
export const statsLayout = recordLayout('reclaim_stats', 32, { stalls: 0, total_ns: 8, max_ns: 16, pages: 24 });
const KINDS = ['direct', 'cgroup', 'compaction'] as const;

const ms = (ns: bigint) => Math.round(Number(ns) / 1e3) / 1e3;

export const reclaim: CaptureDefinition<ReclaimParams, ReclaimData> = {
  ...reclaimSetup,
  summary:
    'memory reclaim and compaction stalls: time processes waited reclaiming memory at a cgroup limit or with the host low on memory, or compacting it for a huge page',
  kind: 'counters',
  analysis: reclaimAnalysis,
  baseline: reclaimBaseline,

  records: [keyLayout, statsLayout, histLayout],

  collect({ object, params }) {
    // Refault counts of every limited cgroup now, read while the window runs; the end's only where processes stalled.
    const memory = controllerHierarchy('memory');
    const refaultsBefore = memory ? limitedCgroupRefaults(memory).catch(() => new Map<string, number>()) : Promise.resolve(new Map<string, number>());
    const hostBefore = hostRefaults();
    return {
      finish: async () => {
        const overallMap = object.map('overall');
        const value = overallMap.lookup(Buffer.alloc(4));
        const histogram = value ? decodeHistogram('usecs', ...overallMap.perCpuValues(value)) : decodeHistogram('usecs');
        const page = pageSize();
        const rows: (Omit<ReclaimGroup, keyof MemcgLimit> & { memcgId: bigint })[] = [];
        for (const [key, stats] of object.map('stalls').entries()) {
          rows.push({
            pid: key.readUInt32LE(keyLayout.offsets.tgid),
            comm: cString(key, keyLayout.offsets.comm, keyLayout.lengths.comm),
            kind: KINDS[key.readUInt32LE(keyLayout.offsets.kind)] ?? 'direct',
            memcgId: key.readBigUInt64LE(keyLayout.offsets.memcg_id),
            stalls: Number(stats.readBigUInt64LE(statsLayout.offsets.stalls)),
            stalledMs: ms(stats.readBigUInt64LE(statsLayout.offsets.total_ns)),
            longestMs: ms(stats.readBigUInt64LE(statsLayout.offsets.max_ns)),
            reclaimedBytes: Number(stats.readBigUInt64LE(statsLayout.offsets.pages)) * page,
          });
        }
        const limits = memcgLimits(new Set(rows.map((r) => r.memcgId).filter((id) => id > 0n)));
        const refaulted = refaultsOver(memory, await refaultsBefore, [...limits.values()], page);
        const groups = rows
          .map(({ memcgId, ...row }): ReclaimGroup => {
            const limit = limits.get(memcgId);
            const bytes = limit?.limitedAt !== undefined ? refaulted.get(limit.limitedAt) : undefined;
            return { ...row, ...limit, ...(bytes !== undefined ? { refaultedBytes: bytes } : {}) };
          })
          .sort((a, b) => b.stalledMs - a.stalledMs);
        const hostAfter = hostBefore === undefined ? undefined : hostRefaults();
        const hostRefaulted = hostBefore !== undefined && hostAfter !== undefined && hostAfter >= hostBefore ? (hostAfter - hostBefore) * page : undefined;
        return { groups, histogram, top: params.top, ...(hostRefaulted !== undefined ? { hostRefaultedBytes: hostRefaulted } : {}) };
      },
    };
  },

  table: (data) => ({ columns, rows: data.groups }),
  text: reclaimText,
  count: (data) => data.groups.length,
};

/** limitedAt → bytes refaulted there since `before`, for the limits the stalled processes are under. */
function refaultsOver(memory: CgroupHierarchy | undefined, before: Map<string, number>, limits: MemcgLimit[], page: number): Map<string, number> {
  const bytes = new Map<string, number>();
  for (const at of new Set(limits.flatMap((l) => (l.limitedAt === undefined ? [] : [l.limitedAt])))) {
    const start = before.get(at);
    const end = memory && start !== undefined ? refaultsAt(memory, at) : undefined;
    if (start !== undefined && end !== undefined && end >= start) bytes.set(at, (end - start) * page);
  }
  return bytes;
}

/** "peak 16 MiB of 16 MiB, 14.8 MiB now", and where the limit is when it is set above the process's own cgroup. */
const limitOf = (g: ReclaimGroup) =>
  g.limitBytes === undefined
    ? '-'
    : `${g.peakBytes !== undefined ? `peak ${fmtBytes(g.peakBytes)} of ${fmtBytes(g.limitBytes)}` : `${fmtBytes(g.limitBytes)} limit`}` +
      `${g.usageBytes !== undefined ? `, ${fmtBytes(g.usageBytes)} now` : ''}${g.limitedAt !== g.cgroup ? ` (set on ${g.limitedAt})` : ''}`;

const columns: Column<ReclaimGroup>[] = [
  { header: 'PID', value: (g) => String(g.pid), numeric: true },
  { header: 'COMM', value: (g) => g.comm },
  { header: 'KIND', value: (g) => g.kind },
  { header: 'STALLS', value: (g) => String(g.stalls), numeric: true },
  { header: 'STALLED ms', value: (g) => g.stalledMs.toFixed(1), numeric: true },
  { header: 'LONGEST ms', value: (g) => g.longestMs.toFixed(1), numeric: true },
  { header: 'RECLAIMED', value: (g) => fmtBytes(g.reclaimedBytes), numeric: true },
  { header: 'MEMORY CGROUP', value: (g) => g.cgroup ?? '-' },
  { header: 'USAGE OF LIMIT', value: limitOf },
  { header: 'REFAULTED', value: (g) => (g.refaultedBytes === undefined ? '-' : fmtBytes(g.refaultedBytes)), numeric: true },
];

export function reclaimText(data: ReclaimData): string {
  if (!data.histogram.count) return 'no process stalled reclaiming memory';
  const host = data.hostRefaultedBytes ? `; the host read back ${fmtBytes(data.hostRefaultedBytes)} of evicted file pages` : '';
  const lines = [`${data.histogram.count} reclaim stalls, ${(data.histogram.sum / 1000).toFixed(1)} ms in all${host}\n${renderHistogram(data.histogram)}`];
  for (const g of data.groups.slice(0, data.top)) {
    lines.push(
      `pid ${g.pid} (${g.comm}): ${g.stalls} ${g.kind === 'cgroup' ? 'cgroup-limit' : g.kind} stalls, ${g.stalledMs.toFixed(1)} ms (longest ${g.longestMs.toFixed(1)} ms), ` +
        `${fmtBytes(g.reclaimedBytes)} reclaimed${g.cgroup ? `; memory cgroup ${g.cgroup}` : ''}${g.limitBytes !== undefined ? `, ${limitOf(g)}` : ''}` +
        `${g.refaultedBytes ? `; ${fmtBytes(g.refaultedBytes)} of evicted file pages read back under the limit` : ''}`,
    );
  }
  if (data.groups.length > data.top) lines.push(`(${data.groups.length - data.top} more in the table and JSON)`);
  return lines.join('\n');
}
