// iothrottle: block I/O limits per cgroup (service, container): each disk's
// read and write limits (bytes and operations per second) beside what the
// cgroup did through them in the window, read from the cgroup files at the
// window's start and end (v1 blkio.throttle.*, v2 io.max and io.stat), with
// its processes. A cgroup at its limit waits in the kernel's throttle, where a
// disk capture sees a fast disk. No BPF object (CaptureDefinition.sample).
import { relative } from 'node:path';
import { cgroupsOf, commOf, currentHierarchies, processesIn, processesUnder, walkCgroups, type CgroupHierarchy } from '../../cgroups/hierarchy.js';
import { cgroupService } from '../../cgroups/container.js';
import { NotSupportedError } from '../../libbpf/index.js';
import { fmtBytes, fmtCount } from '../../format/index.js';
import type { CaptureDefinition, Column } from '../capture.js';
import { processesColumn } from '../process-column.js';
import type { ResolvedTarget } from '../target.js';
import { targetPids } from '../target-processes.js';
import { analyzeIothrottle } from './analyze.js';
import { diskName, hasIoLimit, IO, IO_KINDS, limitSetting, readIoCounts, readIoLimits, type IoKind, type IoValues } from './cgroup-io.js';
import { iothrottleSetup } from './setup.js';

export type IothrottleParams = typeof iothrottleSetup.defaults;

export interface IoLimitRow {
  /** Path in its hierarchy, "/" for the root. */
  cgroup: string;
  hierarchy: 'v1' | 'v2';
  /** Who it is, from its path: the systemd unit, else the container or pod, else its last element. */
  service: string;
  containerId?: string;
  podUid?: string;
  /** "254:0" and its name ("vda"). */
  device: string;
  disk: string;
  /** Its limits on that disk, per second. */
  limits: IoValues;
  /** Where each limit is set ("blkio.throttle.read_bps_device", "io.max rbps"). */
  settings: Partial<Record<IoKind, string>>;
  /** Done in the window (end − start). */
  done: IoValues;
  processes: { pid: number; comm: string }[];
  processCount: number;
}

export interface IothrottleData {
  rows: IoLimitRow[];
  /** The target's cgroups and their ancestors, or every cgroup with a limit. */
  scope: 'target' | 'limited';
  /** Window length as sampled (µs between the two reads). */
  windowUs: number;
  truncated: boolean;
}

const hasTarget = (t: ResolvedTarget) => t.tgids !== undefined || t.comm !== undefined || t.uid !== undefined || t.cgroupId !== undefined;

/** The cgroups to read: the target's and their ancestors, or every cgroup with a limit of its own. */
function scopeOf(hierarchies: CgroupHierarchy[], target: ResolvedTarget, max: number): { cgroups: Map<string, CgroupHierarchy>; truncated: boolean } {
  if (hasTarget(target)) return cgroupsOf(targetPids(target), hierarchies, IO, max);
  const cgroups = new Map<string, CgroupHierarchy>();
  let truncated = false;
  for (const h of hierarchies) {
    const walk = walkCgroups(h, max - cgroups.size);
    truncated ||= walk.truncated;
    for (const dir of walk.dirs) if (hasIoLimit(h, dir)) cgroups.set(dir, h);
  }
  return { cgroups, truncated };
}

function snapshot(cgroups: Map<string, CgroupHierarchy>): { at: number; counts: Map<string, Map<string, IoValues>> } {
  const counts = new Map<string, Map<string, IoValues>>();
  for (const [dir, h] of cgroups) counts.set(dir, readIoCounts(h, dir));
  return { at: performance.now(), counts };
}

export const iothrottle: CaptureDefinition<IothrottleParams, IothrottleData> = {
  ...iothrottleSetup,
  summary: 'block I/O limits by cgroup: each disk limit (bytes and operations per second) beside what the cgroup did in the window, its processes',
  kind: 'counters',

  sample({ params, target }) {
    const hierarchies = currentHierarchies(IO);
    if (!hierarchies.length)
      throw new NotSupportedError(
        'the cgroup io controller',
        'is not mounted here (no cgroup v1 "blkio" hierarchy, and cgroup v2 has no io controller): I/O limits cannot be read',
      );
    const first = scopeOf(hierarchies, target, params.maxCgroups);
    const start = snapshot(first.cgroups);
    return {
      finish() {
        // Again at the end: a cgroup limited during the window counts from zero.
        const last = scopeOf(hierarchies, target, params.maxCgroups);
        const scope = new Map([...first.cgroups, ...last.cgroups]);
        const end = snapshot(scope);
        const rows: IoLimitRow[] = [];
        for (const [dir, h] of scope) {
          const limits = readIoLimits(h, dir);
          if (!limits.size) continue;
          const path = `/${relative(h.mount, dir)}`;
          // v1 limits hold the cgroup's own processes; v2's its whole subtree.
          const { pids, count } =
            h.version === 1
              ? { pids: processesIn(dir, params.maxProcesses), count: processesIn(dir, 100_000).length }
              : processesUnder(h, dir, params.maxProcesses);
          for (const [device, limit] of limits) {
            const before = start.counts.get(dir)?.get(device) ?? {};
            const after = end.counts.get(dir)?.get(device) ?? {};
            const done: IoValues = {};
            const settings: Partial<Record<IoKind, string>> = {};
            for (const kind of IO_KINDS) {
              done[kind] = Math.max(0, (after[kind] ?? 0) - (before[kind] ?? 0));
              if (limit[kind] !== undefined) settings[kind] = limitSetting(h, kind);
            }
            rows.push({
              cgroup: path,
              hierarchy: h.version === 1 ? 'v1' : 'v2',
              ...cgroupService(path),
              device,
              disk: diskName(device),
              limits: limit,
              settings,
              done,
              processes: pids.map((pid) => ({ pid, comm: commOf(pid) })),
              processCount: count,
            });
          }
        }
        return {
          rows,
          scope: hasTarget(target) ? 'target' : 'limited',
          windowUs: Math.round((end.at - start.at) * 1000),
          truncated: first.truncated || last.truncated,
        };
      },
    };
  },

  table: (data) => ({ columns, rows: data.rows }),
  count: (data) => data.rows.length,
  analysis: { checks: 'I/O limits', analyze: analyzeIothrottle },
};

const limitText = (r: IoLimitRow) =>
  [
    r.limits.readBytes !== undefined ? `read ${fmtBytes(r.limits.readBytes)}/s` : '',
    r.limits.writeBytes !== undefined ? `write ${fmtBytes(r.limits.writeBytes)}/s` : '',
    r.limits.reads !== undefined ? `${fmtCount(r.limits.reads)} reads/s` : '',
    r.limits.writes !== undefined ? `${fmtCount(r.limits.writes)} writes/s` : '',
  ]
    .filter(Boolean)
    .join(', ');

const columns: Column<IoLimitRow>[] = [
  { header: 'CGROUP', value: (r) => `${r.cgroup} (${r.hierarchy})` },
  { header: 'DISK', value: (r) => r.disk },
  { header: 'LIMITS', value: limitText },
  { header: 'READ', value: (r) => fmtBytes(r.done.readBytes ?? 0), numeric: true },
  { header: 'WRITTEN', value: (r) => fmtBytes(r.done.writeBytes ?? 0), numeric: true },
  processesColumn<IoLimitRow>(),
];
