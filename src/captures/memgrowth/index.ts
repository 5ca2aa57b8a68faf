// memgrowth: processes whose own memory grows through the window, read from
// /proc (samples.ts), with the room they have left: the memory cgroup limit
// over each (limits.ts), and the host's available memory. (A tmpfs filling
// the host's memory is fsfill's.)
// A leak climbs sample after sample toward an OOM kill long before anything
// stalls; a heap that grows and is collected goes up and down. No BPF object.
// Cost: every process is read once a second (~10 µs each: 20 ms a second on a
// host of 2,000), only those holding WATCH_BYTES or more every intervalMs.
import { monoNow } from '../../util/clock.js';
import type { CaptureDefinition, Column } from '../capture.js';
import { fmtBytes } from '../../format/index.js';
import { allPids, targetPids, targetSelects } from '../target-processes.js';
import { readText } from '../../util/read-text.js';
import { processCgroup2Id } from '../../cgroups/process-cgroup.js';
import { analyzeMemgrowth } from './analyze.js';
import { hostAvailableBytes } from '../../util/meminfo.js';
import { memoryLimitOf, type MemoryLimit } from './limits.js';
import { anonymousBytes } from './samples.js';
import { memgrowthSetup } from './setup.js';
import { newTrack, step, trackRow, type Track } from '../growth-track.js';

export type MemgrowthParams = typeof memgrowthSetup.defaults;

export interface GrowthRow {
  pid: number;
  comm: string;
  /** Anonymous resident bytes when first and last read, and the most read. */
  firstBytes: number;
  lastBytes: number;
  peakBytes: number;
  growthBytes: number;
  /** Over the time between its first and last reading. */
  seconds: number;
  /** Readings, and of the steps between them how many went up and how many down. */
  samples: number;
  rises: number;
  falls: number;
  /** The nearest memory cgroup limit over it, when one is set. */
  limit?: MemoryLimit;
}

export interface MemgrowthData {
  /** Processes that grew minGrowthMiB or more, the most first (at most `top`). */
  rows: GrowthRow[];
  /** Processes read, and how often. */
  processes: number;
  intervalMs: number;
  hostAvailableBytes?: number;
}

/** Every process is read this often; in between, only those this large (a leak of minGrowthMiB reaches it). */
const FULL_SCAN_MS = 1000;
const WATCH_BYTES = 8 * 1024 * 1024;

export const memgrowth: CaptureDefinition<MemgrowthParams, MemgrowthData> = {
  ...memgrowthSetup,
  summary: "processes whose own (anonymous) memory grows through the window, with the room left under their memory cgroup's limit and the host's",
  kind: 'counters',
  analysis: { checks: 'memory growth', analyze: analyzeMemgrowth },

  sample({ params, target, excludeCgroupId }) {
    const tracks = new Map<number, Track>();
    // Sherlock's own processes (this one, and its cgroup's): a run's own memory is no finding.
    const own = new Map<number, boolean>([[process.pid, true]]);
    const isOwn = (pid: number) => {
      let mine = own.get(pid);
      if (mine === undefined) own.set(pid, (mine = excludeCgroupId !== undefined && processCgroup2Id(pid) === excludeCgroupId));
      return mine;
    };
    const pidsNow = () => (targetSelects(target) ? targetPids(target) : allPids()).filter((pid) => !isOwn(pid));
    let lastNs = 0n;
    let lastFullNs = 0n;
    const read = (all: boolean) => {
      const now = monoNow();
      lastNs = now;
      if (all) lastFullNs = now;
      const pids = all ? pidsNow() : [...tracks].filter(([, t]) => t.last >= WATCH_BYTES).map(([pid]) => pid);
      for (const [pid, bytes] of anonymousBytes(pids)) {
        const t = tracks.get(pid);
        if (t) step(t, bytes, now);
        else tracks.set(pid, newTrack(bytes, now));
      }
    };
    read(true);
    return {
      poll: () => {
        const now = monoNow();
        if (now - lastFullNs >= BigInt(FULL_SCAN_MS) * 1_000_000n) read(true);
        else if (now - lastNs >= BigInt(params.intervalMs) * 1_000_000n) read(false);
      },
      windowEnded: () => read(true),
      finish() {
        const minGrowth = params.minGrowthMiB * 1024 * 1024;
        const rows = [...tracks]
          .filter(([, t]) => t.last - t.first >= minGrowth)
          .sort((a, b) => b[1].last - b[1].first - (a[1].last - a[1].first))
          .slice(0, params.top)
          .map(([pid, t]): GrowthRow => {
            const limit = memoryLimitOf(pid);
            return { pid, comm: readText(`/proc/${pid}/comm`)?.trim() ?? '', ...trackRow(t), ...(limit ? { limit } : {}) };
          });
        const available = hostAvailableBytes();
        return {
          rows,
          processes: tracks.size,
          intervalMs: params.intervalMs,
          ...(available !== undefined ? { hostAvailableBytes: available } : {}),
        };
      },
    };
  },

  table: ({ rows }) => ({ columns, rows }),
  count: ({ rows }) => rows.length,
};

const columns: Column<GrowthRow>[] = [
  { header: 'PID', value: (r) => String(r.pid), numeric: true },
  { header: 'COMM', value: (r) => r.comm || '-' },
  { header: 'FROM', value: (r) => fmtBytes(r.firstBytes), numeric: true },
  { header: 'TO', value: (r) => fmtBytes(r.lastBytes), numeric: true },
  { header: 'PER S', value: (r) => fmtBytes(r.growthBytes / Math.max(0.001, r.seconds)), numeric: true },
  { header: 'UP/DOWN', value: (r) => `${r.rises}/${r.falls}` },
  { header: 'LIMIT', value: (r) => (r.limit ? `${fmtBytes(r.limit.limitBytes)} ${r.limit.cgroup}` : '-') },
];
