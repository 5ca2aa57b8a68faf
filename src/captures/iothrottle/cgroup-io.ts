// Reads block I/O limits and counters from cgroup files, both versions, per
// disk ("major:minor"):
// - limits: v1 blkio.throttle.{read,write}_{bps,iops}_device ("254:0 4194304"),
//   v2 io.max ("254:0 rbps=4194304 wbps=max riops=max wiops=max");
// - what went through them: v1 blkio.throttle.io_service_bytes and
//   io_serviced ("254:0 Read 123"), v2 io.stat ("254:0 rbytes=.. wbytes=.. rios=.. wios=..").
// v1 throttling is flat (a cgroup's limits hold its own I/O), v2's hierarchical
// (a parent's limit holds its subtree, and io.stat counts the subtree).
import { join } from 'node:path';
import { type CgroupHierarchy, type Controller } from '../../cgroups/hierarchy.js';
import { readText } from '../../util/read-text.js';

export const IO: Controller = { v1: 'blkio', v2: 'io' };

/** What a limit bounds, and what a counter counts: bytes or operations, each way. */
export const IO_KINDS = ['readBytes', 'writeBytes', 'reads', 'writes'] as const;
export type IoKind = (typeof IO_KINDS)[number];
export type IoValues = Partial<Record<IoKind, number>>;

const V1_LIMIT_FILES: Record<IoKind, string> = {
  readBytes: 'blkio.throttle.read_bps_device',
  writeBytes: 'blkio.throttle.write_bps_device',
  reads: 'blkio.throttle.read_iops_device',
  writes: 'blkio.throttle.write_iops_device',
};
const V2_LIMIT_KEYS: Record<string, IoKind> = { rbps: 'readBytes', wbps: 'writeBytes', riops: 'reads', wiops: 'writes' };
const V2_STAT_KEYS: Record<string, IoKind> = { rbytes: 'readBytes', wbytes: 'writeBytes', rios: 'reads', wios: 'writes' };

/** The file (v1) or io.max key (v2) a limit is set in, for the sentence that names it. */
export const limitSetting = (h: CgroupHierarchy, kind: IoKind): string =>
  h.version === 1 ? V1_LIMIT_FILES[kind] : `io.max ${Object.keys(V2_LIMIT_KEYS).find((k) => V2_LIMIT_KEYS[k] === kind)}`;

/** The limits set on the cgroup at `dir`, per disk; empty when none (or no controller there). */
export function readIoLimits(h: CgroupHierarchy, dir: string): Map<string, IoValues> {
  const limits = new Map<string, IoValues>();
  const set = (device: string, kind: IoKind, value: number) => limits.set(device, { ...limits.get(device), [kind]: value });
  if (h.version === 1) {
    for (const kind of IO_KINDS) {
      for (const line of (readText(join(dir, V1_LIMIT_FILES[kind])) ?? '').split('\n')) {
        const [device, value] = line.trim().split(/\s+/);
        if (device && /^\d+:\d+$/.test(device) && Number(value) > 0) set(device, kind, Number(value));
      }
    }
    return limits;
  }
  for (const [device, kind, value] of devicePairs(readText(join(dir, 'io.max')), V2_LIMIT_KEYS))
    if (value !== 'max' && Number(value) > 0) set(device, kind, Number(value));
  return limits;
}

/** Whether the cgroup at `dir` has any I/O limit: the cheap test a walk chooses cgroups by. */
export const hasIoLimit = (h: CgroupHierarchy, dir: string): boolean => readIoLimits(h, dir).size > 0;

/** What the cgroup has read and written, per disk, since it was made (counters). */
export function readIoCounts(h: CgroupHierarchy, dir: string): Map<string, IoValues> {
  const counts = new Map<string, IoValues>();
  const add = (device: string, kind: IoKind, value: number) => counts.set(device, { ...counts.get(device), [kind]: value });
  if (h.version === 1) {
    for (const [file, read, write] of [
      ['blkio.throttle.io_service_bytes', 'readBytes', 'writeBytes'],
      ['blkio.throttle.io_serviced', 'reads', 'writes'],
    ] as const) {
      for (const line of (readText(join(dir, file)) ?? '').split('\n')) {
        const [device, op, value] = line.trim().split(/\s+/);
        if (!device || !/^\d+:\d+$/.test(device)) continue;
        if (op === 'Read') add(device, read, Number(value));
        if (op === 'Write') add(device, write, Number(value));
      }
    }
    return counts;
  }
  for (const [device, kind, value] of devicePairs(readText(join(dir, 'io.stat')), V2_STAT_KEYS)) add(device, kind, Number(value));
  return counts;
}

/** v2's "254:0 key=value key=value" lines: each known key's [device, kind, value]. */
function devicePairs(text: string | undefined, keys: Record<string, IoKind>): [string, IoKind, string][] {
  return (text ?? '').split('\n').flatMap((line) => {
    const [device, ...pairs] = line.trim().split(/\s+/);
    if (!device || !/^\d+:\d+$/.test(device)) return [];
    return pairs.flatMap((pair): [string, IoKind, string][] => {
      const [key, value = ''] = pair.split('=');
      const kind = keys[key ?? ''];
      return kind ? [[device, kind, value]] : [];
    });
  });
}

/** A disk's name ("vda") from sysfs, or its numbers when sysfs does not say. */
export function diskName(device: string): string {
  return /^DEVNAME=(.+)$/m.exec(readText(`/sys/dev/block/${device}/uevent`) ?? '')?.[1] ?? device;
}
