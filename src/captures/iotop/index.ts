// iotop: who made the disks work, host-wide, whatever the run's target: each
// process's bytes read from and written to storage over the window
// (/proc/PID/io at both ends, proc-io.ts), each disk's throughput, request
// time and busy share (/proc/diskstats, diskstats.ts), and the host's dirty
// page cache against its limit (/proc/vmstat, dirty-pages.ts). A process
// waiting on a busy disk is rarely the one keeping it busy: this names the
// one that is. No BPF object (CaptureDefinition.sample).
import { commOf } from '../../cgroups/hierarchy.js';
import { processCgroup2Id } from '../../cgroups/process-cgroup.js';
import { fmtBytes, fmtPct } from '../../format/index.js';
import type { CaptureDefinition, Column } from '../capture.js';
import { analyzeIotop } from './analyze.js';
import { dirtyTracker, type DirtyWindow } from './dirty-pages.js';
import { diskActivity, readDiskstats, type DiskActivity } from './diskstats.js';
import { ioCensus, type IoCensus } from './proc-io.js';
import { targetPids, targetSelects } from '../target-processes.js';
import { disksOfOpenFiles } from './open-files.js';
import { iotopSetup } from './setup.js';

/** The heaviest users whose open files are looked up (the analysis names at most three of them). */
const DISKS_LOOKED_UP = 8;

export type IotopParams = typeof iotopSetup.defaults;

/** One process's storage I/O in the window. */
export interface DiskUser {
  pid: number;
  comm: string;
  /** Bytes fetched from storage (page cache misses, direct reads). */
  readBytes: number;
  /** Bytes it dirtied or wrote directly, less those truncated before writeback (cancelled). */
  writeBytes: number;
  /** Not there at the window's start: its whole life's figures. */
  startedInWindow?: boolean;
  /** Sherlock: the process running this capture, or one in its cgroup (its embedded Redis, its symbolizers). */
  self?: boolean;
  /** One of the run's target (the others are listed too: who else uses the disk is the point). */
  targeted?: boolean;
  /** The disks it had regular files open on at the end (the first rows only): which disk its bytes went to. */
  disks?: string[];
}

export interface IotopData {
  /** Most bytes (read and written) first, at most maxRows. */
  rows: DiskUser[];
  /** Processes that read or wrote storage in the window. */
  processCount: number;
  /** Over every process read. */
  readBytes: number;
  writeBytes: number;
  /** Disks that did any I/O, busiest first. */
  disks: DiskActivity[];
  dirty?: DirtyWindow;
  windowUs: number;
  /** More processes than maxProcesses: some were not read. */
  truncated: boolean;
  top: number;
}

/** What a process did between the two censuses, before it is named and marked. */
type Counted = Pick<DiskUser, 'pid' | 'readBytes' | 'writeBytes' | 'startedInWindow'>;

function usersBetween(start: IoCensus, end: IoCensus): Counted[] {
  const users: Counted[] = [];
  for (const [pid, after] of end.byPid) {
    const before = start.byPid.get(pid);
    const read = after.readBytes - (before?.readBytes ?? 0);
    const written = after.writeBytes - after.cancelledWriteBytes - ((before?.writeBytes ?? 0) - (before?.cancelledWriteBytes ?? 0));
    if (read <= 0 && written <= 0) continue;
    users.push({ pid, readBytes: Math.max(0, read), writeBytes: Math.max(0, written), ...(before ? {} : { startedInWindow: true }) });
  }
  return users.sort((a, b) => b.readBytes + b.writeBytes - (a.readBytes + a.writeBytes));
}

export const iotop: CaptureDefinition<IotopParams, IotopData> = {
  ...iotopSetup,
  summary:
    "storage I/O per process, host-wide whatever the target (bytes read from and written to disk, /proc/PID/io), each disk's throughput and busy time, and dirty pages against their limit",
  kind: 'counters',
  analysis: { checks: 'disk users', analyze: analyzeIotop },

  sample({ params, target, excludeCgroupId }) {
    const disksBefore = readDiskstats();
    const disksAt = performance.now();
    const dirty = dirtyTracker();
    const before = ioCensus(params.maxProcesses);
    return {
      poll: () => dirty.poll(),
      async finish() {
        const disksAfter = readDiskstats();
        const windowMs = performance.now() - disksAt;
        const dirtyWindow = dirty.end();
        const [start, end] = [await before, await ioCensus(params.maxProcesses)];
        const users = usersBetween(start, end);
        const targeted = targetSelects(target) ? new Set(targetPids(target)) : undefined;
        const self = (pid: number) => pid === process.pid || (excludeCgroupId !== undefined && processCgroup2Id(pid) === excludeCgroupId);
        return {
          rows: users.slice(0, params.maxRows).map((u, i) => ({
            ...u,
            comm: commOf(u.pid),
            ...(self(u.pid) ? { self: true } : {}),
            ...(targeted?.has(u.pid) ? { targeted: true } : {}),
            ...(i < DISKS_LOOKED_UP ? { disks: disksOfOpenFiles(u.pid) } : {}),
          })),
          processCount: users.length,
          readBytes: users.reduce((n, u) => n + u.readBytes, 0),
          writeBytes: users.reduce((n, u) => n + u.writeBytes, 0),
          disks: diskActivity(disksBefore, disksAfter, windowMs),
          ...(dirtyWindow ? { dirty: dirtyWindow } : {}),
          windowUs: Math.round(windowMs * 1000),
          truncated: start.truncated || end.truncated,
          top: params.top,
        };
      },
    };
  },

  table: (data) => ({ columns, rows: data.rows }),
  text: iotopText,
  count: (data) => data.rows.length,
};

const columns: Column<DiskUser>[] = [
  { header: 'PID', value: (u) => String(u.pid), numeric: true },
  { header: 'COMM', value: (u) => `${u.comm}${u.self ? ' (sherlock)' : u.targeted ? ' (target)' : ''}` },
  { header: 'READ', value: (u) => fmtBytes(u.readBytes), numeric: true },
  { header: 'WRITTEN', value: (u) => fmtBytes(u.writeBytes), numeric: true },
];

export function iotopText(data: IotopData): string {
  const seconds = Math.max(0.001, data.windowUs / 1e6);
  const lines = data.disks.map(
    (d) =>
      `${d.disk}${d.volume ? ` (${d.volume})` : ''}: busy ${fmtPct(d.busyShare)}, read ${fmtBytes(d.readBytes / seconds)}/s, wrote ${fmtBytes(d.writeBytes / seconds)}/s, ` +
      `${Math.round((d.reads + d.writes) / seconds)} requests/s taking ${d.awaitMs} ms on average`,
  );
  if (data.dirty)
    lines.push(
      `dirty pages: at most ${fmtBytes(data.dirty.maxDirtyBytes)} of a ${fmtBytes(data.dirty.limitBytes)} limit (${data.dirty.setting}), ` +
        `${fmtBytes(data.dirty.dirtiedBytes)} dirtied and ${fmtBytes(data.dirty.writtenBytes)} written back in the window`,
    );
  if (!data.rows.length) lines.push('no process read or wrote storage');
  for (const u of data.rows.slice(0, data.top))
    lines.push(
      `pid ${u.pid} (${u.comm})${u.self ? ' [sherlock]' : u.targeted ? ' [target]' : ''}: read ${fmtBytes(u.readBytes)}, wrote ${fmtBytes(u.writeBytes)}${u.startedInWindow ? ' (started in the window)' : ''}`,
    );
  if (data.processCount > data.top)
    lines.push(
      `(${data.processCount - Math.min(data.top, data.rows.length)} more processes with storage I/O${data.truncated ? '; not every process was read' : ''})`,
    );
  return lines.join('\n');
}
