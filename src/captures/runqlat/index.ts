// runqlat: how long runnable tasks waited for a CPU (wakeup or preemption →
// on CPU), as log2 histograms in µs: one overall, and one per process
// (tgid + thread name) or per cgroup. See bpf/runqlat/runqlat.bpf.c for how
// the woken task is found and filtered.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { cgroup2Mount } from '../../cgroups/mount.js';
import { cString, recordLayout } from '../records.js';
import type { CaptureDefinition, Column, LabeledHistogram } from '../capture.js';
import { decodeHistogram, histLayout, mergeHistograms, renderHistogram, type Log2Histogram } from '../histogram.js';
import { runqlatAnalysis } from './analyze.js';
import { allowedCpusOf, behindKeyLayout, behindLayout, decodeBehind, markApart, type BehindRow } from './behind.js';
import { idleBetween, readCpuTicks, type CpuIdle } from './cpu-idle.js';
import { cpusetOf } from './cpuset.js';
import { formatCpuList } from '../../util/cpu-list.js';
import { plural } from '../../format/index.js';
import { runqlatBaseline } from './baseline.js';
import { runqlatSetup } from './setup.js';

export type RunqlatParams = typeof runqlatSetup.defaults;

export interface RunqlatData {
  /** The overall histogram first ({ scope: 'all' }), then one per group, most waits first. */
  histograms: LabeledHistogram[];
  /** How histograms are grouped besides the overall one. */
  groupBy: 'process' | 'cgroup' | 'none';
  top: number;
  /** Slow waits (behindMinUs or longer) by waiter and what held the CPU as each ended, most time first. */
  behind: BehindRow[];
  behindMinUs: number;
  /** Each online CPU's idle share over the window. */
  cpuIdle: CpuIdle[];
  /** Waiters (not kernel threads) allowed fewer CPUs than are online: their CPUs, by pid, read at the window's end. */
  affinity: Record<string, number[]>;
  /** Of those, the ones whose cgroup's cpuset allows exactly those CPUs: its path, by pid (the others narrowed their own affinity). */
  cpusets: Record<string, string>;
}

/** struct runqlat_key. */
export const keyLayout = recordLayout('runqlat_key', 32, { cgroup_id: 0, tgid: 8, comm: 16 }, { comm: 16 });
const UNIT = 'usecs';
/** Waiter-and-holder rows kept (the most time first): the analysis reads those of the processes it names. */
const MAX_BEHIND_ROWS = 2000;

export const runqlat: CaptureDefinition<RunqlatParams, RunqlatData> = {
  ...runqlatSetup,
  summary: 'run-queue latency: wakeup or preemption to on-CPU, histograms overall and per process',
  kind: 'histogram',
  analysis: runqlatAnalysis,
  baseline: runqlatBaseline,

  records: [keyLayout, histLayout, behindKeyLayout, behindLayout],

  collect({ object, params }) {
    const groupBy = params.perCgroup ? 'cgroup' : params.perProcess ? 'process' : 'none';
    const ticksAtStart = readCpuTicks();
    let cpuIdle: CpuIdle[] = [];
    return {
      windowEnded: () => {
        cpuIdle = idleBetween(ticksAtStart, readCpuTicks());
      },
      finish: () => {
        const overallMap = object.map('overall');
        const zero = Buffer.alloc(4);
        const overallValue = overallMap.lookup(zero);
        const overall = overallValue ? decodeHistogram(UNIT, ...overallMap.perCpuValues(overallValue)) : decodeHistogram(UNIT);
        const hists = object.map('hists');
        const groups: LabeledHistogram[] = [];
        const cgroupPaths = groupBy === 'cgroup' ? cgroupPathsById() : new Map<bigint, string>();
        for (const [key, value] of hists.entries()) {
          const histogram = decodeHistogram(UNIT, ...hists.perCpuValues(value));
          if (!histogram.count) continue;
          if (groupBy === 'cgroup') {
            const id = key.readBigUInt64LE(keyLayout.offsets.cgroup_id);
            groups.push({ labels: { cgroup: cgroupPaths.get(id) ?? `id ${id}`, cgroupId: id.toString() }, histogram });
          } else {
            groups.push({
              labels: { pid: key.readUInt32LE(keyLayout.offsets.tgid), comm: cString(key, keyLayout.offsets.comm, keyLayout.lengths.comm) },
              histogram,
            });
          }
        }
        groups.sort((a, b) => b.histogram.count - a.histogram.count);
        const behind = markApart(decodeBehind(object.map('behind')).slice(0, MAX_BEHIND_ROWS));
        if (!cpuIdle.length) cpuIdle = idleBetween(ticksAtStart, readCpuTicks()); // a window that ended without windowEnded
        const affinity = affinityOf(behind, cpuIdle.length);
        return {
          histograms: [{ labels: { scope: 'all' }, histogram: overall }, ...groups],
          groupBy,
          top: params.top,
          behind,
          behindMinUs: params.behindMinUs,
          cpuIdle,
          affinity,
          cpusets: Object.fromEntries(
            Object.entries(affinity).flatMap(([pid, cpus]) => {
              const path = cpusetOf(Number(pid), cpus);
              return path ? [[pid, path]] : [];
            }),
          ),
        };
      },
    };
  },

  table: (data) => ({ columns: tableColumns(data.groupBy), rows: data.histograms }),
  text: runqlatText,
  count: (data) => data.histograms.length,
};

const labelOf = (h: LabeledHistogram): string =>
  h.labels.scope === 'all' ? 'all tasks' : h.labels.cgroup !== undefined ? `cgroup ${h.labels.cgroup}` : `pid ${h.labels.pid} (${h.labels.comm})`;

const avg = (h: Log2Histogram) => (h.count ? (h.sum / h.count).toFixed(1) : '-');

function tableColumns(groupBy: RunqlatData['groupBy']): Column<LabeledHistogram>[] {
  const group: Column<LabeledHistogram>[] =
    groupBy === 'cgroup'
      ? [{ header: 'CGROUP', value: (h) => String(h.labels.cgroup ?? 'all') }]
      : [
          { header: 'PID', value: (h) => (h.labels.pid === undefined ? 'all' : String(h.labels.pid)), numeric: true },
          { header: 'COMM', value: (h) => String(h.labels.comm ?? '-') },
        ];
  return [
    ...group,
    { header: 'WAITS', value: (h) => String(h.histogram.count), numeric: true },
    { header: 'AVG µs', value: (h) => avg(h.histogram), numeric: true },
    { header: 'P50 µs', value: (h) => `<${h.histogram.p50}`, numeric: true },
    { header: 'P90 µs', value: (h) => `<${h.histogram.p90}`, numeric: true },
    { header: 'P99 µs', value: (h) => `<${h.histogram.p99}`, numeric: true },
    { header: 'TOTAL ms', value: (h) => (h.histogram.sum / 1000).toFixed(1), numeric: true },
  ];
}

/** The overall histogram, then the groups with the most waits, bcc-style. */
export function runqlatText(data: RunqlatData): string {
  const [overall, ...groups] = data.histograms;
  const part = (h: LabeledHistogram) =>
    `${labelOf(h)}: ${h.histogram.count} waits, avg ${avg(h.histogram)} µs, p99 < ${h.histogram.p99} µs\n${renderHistogram(h.histogram)}`;
  const parts = overall ? [part(overall)] : [];
  for (const g of groups.slice(0, data.top)) parts.push(part(g));
  if (groups.length > data.top) parts.push(`(${groups.length - data.top} more ${data.groupBy === 'cgroup' ? 'cgroups' : 'processes'} in the table and JSON)`);
  if (data.behind?.length) parts.push(behindLines(data));
  return parts.join('\n\n');
}

/** The longest waits of 1 ms or more by whom they were behind, as runqslower would list them. */
function behindLines(data: RunqlatData): string {
  // A pid's name: that of its group with the most waits (groups come most first; a fork waited under its parent's).
  const comms = new Map<unknown, unknown>();
  for (const h of data.histograms.slice(1)) if (!comms.has(h.labels.pid)) comms.set(h.labels.pid, h.labels.comm);
  const holder = (r: BehindRow) =>
    r.behindPid === 0 ? `an idle CPU (${r.behindComm})` : r.behindPid < 0 ? "Sherlock's own processes" : `${r.behindComm} (pid ${r.behindPid})`;
  const lines = data.behind
    .slice(0, data.top)
    .map(
      (r) =>
        `  ${comms.get(r.pid) ?? '?'} (pid ${r.pid}) behind ${holder(r)}: ${plural(r.waits, 'wait')}, ${r.waitedMs.toFixed(1)} ms, CPUs ${formatCpuList(r.cpus)}`,
    );
  return `waits of ${data.behindMinUs} µs or more, by the task that left the CPU as each ended:\n${lines.join('\n')}`;
}

/** The sum of some groups (e.g. every thread name of one pid). */
export function mergedFor(data: RunqlatData, match: (labels: LabeledHistogram['labels']) => boolean): Log2Histogram {
  return mergeHistograms(
    UNIT,
    data.histograms
      .slice(1)
      .filter((h) => match(h.labels))
      .map((h) => h.histogram),
  );
}

/**
 * The CPUs of each waiter (not a kernel thread) allowed fewer than `online`: read from /proc while it
 * lives, else the CPUs its slow waits ended on when there were as many as it was allowed (then they are its
 * set): all its rows' together, or those every row lists (a wait that ended before its affinity moved it
 * adds the CPU it began on to one row).
 */
export function affinityOf(behind: BehindRow[], online: number): Record<string, number[]> {
  const seen = new Map<number, { allowed: number; rows: Set<number>[] }>();
  for (const row of behind) {
    if (!row.pid || row.kthread || !row.allowed || row.allowed >= online) continue;
    const s = seen.get(row.pid) ?? { allowed: row.allowed, rows: [] };
    s.rows.push(new Set(row.cpus));
    seen.set(row.pid, s);
  }
  const affinity: Record<string, number[]> = {};
  for (const [pid, s] of seen) {
    const union = new Set(s.rows.flatMap((r) => [...r]));
    const everyRow = [...union].filter((cpu) => s.rows.every((r) => r.has(cpu)));
    const ended = union.size === s.allowed ? [...union] : everyRow.length === s.allowed ? everyRow : undefined;
    const cpus = allowedCpusOf(pid) ?? (ended && online <= 64 ? ended.sort((a, b) => a - b) : undefined);
    if (cpus) affinity[pid] = cpus;
  }
  return affinity;
}

/** cgroup v2 id (the directory's inode) → path under the mount, for labels. Bounded walk. */
function cgroupPathsById(maxDirs = 20_000): Map<bigint, string> {
  const paths = new Map<bigint, string>();
  const root = cgroup2Mount();
  if (!root) return paths;
  const queue: string[] = [''];
  while (queue.length && paths.size < maxDirs) {
    const rel = queue.shift()!;
    const dir = join(root, rel);
    try {
      paths.set(statSync(dir, { bigint: true }).ino, rel ? `/${rel}` : '/');
      for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) queue.push(rel ? `${rel}/${e.name}` : e.name);
    } catch {
      // gone, or not a cgroup2 tree
    }
  }
  return paths;
}
