// The user-space half of bpf/common/sherlock.{h,bpf.h}: the names every
// capture's object shares, so filters and drop counts need no per-capture code.
import type { BpfObject } from '../libbpf/index.js';
import type { ResolvedTarget } from './target.js';

export const TGID_MAP = 'sherlock_tgids';
export const COUNTERS_MAP = 'sherlock_counters';
export { MAX_TGIDS } from '../model/limits.js'; // SHERLOCK_MAX_TGIDS

/** enum sherlock_counter, by index: what each slot counts. */
const COUNTERS = ['ringbuf_full', 'map_full', 'partial_read', 'tgids_full'] as const;
export type DropReason = 'ringbuf_full' | 'map_full' | 'tgids_full' | 'event_cap' | 'spool_budget' | 'memory_budget';
export type DropCounts = Partial<Record<DropReason, number>>;

export interface KernelCounters {
  /** Events lost, by reason. */
  drops: DropCounts;
  /** Records sent with a field the kernel could not read (marked in the record). */
  partialReads: number;
}

/**
 * Rodata for the standard filters; set before load. `excludeCgroupId` (Sherlock's
 * own cgroup) is left out of captures that do not select processes by pid or
 * cgroup: host-wide, by comm or by uid.
 */
export function applyFilterSettings(object: BpfObject, target: ResolvedTarget, followForks: boolean, excludeCgroupId?: bigint): void {
  object.setRodata(filterSettings(target, followForks, excludeCgroupId));
}

/** The standard filters' rodata values for a target (the tgids themselves go in a map after load). */
export function filterSettings(target: ResolvedTarget, followForks: boolean, excludeCgroupId?: bigint) {
  const selectsProcesses = target.tgids !== undefined || target.cgroupId !== undefined;
  return {
    exclude_cgroup_id: selectsProcesses ? 0n : (excludeCgroupId ?? 0n),
    filter_by_tgid: target.tgids !== undefined,
    follow_forks: followForks,
    filter_cgroup_id: target.cgroupId ?? 0n,
    filter_uid: target.uid ?? 0xffffffff,
    filter_comm: target.comm ?? '',
  };
}

/** Fills the tgid set; after load, before attach. */
export function fillTgidFilter(object: BpfObject, target: ResolvedTarget): void {
  if (!target.tgids) return;
  const map = object.map(TGID_MAP);
  const one = Buffer.from([1]);
  for (const tgid of target.tgids) {
    const key = Buffer.alloc(4);
    key.writeUInt32LE(tgid);
    map.update(key, one);
  }
}

/** Sums the per-CPU counters; zero drop reasons are left out. */
export function readKernelCounters(object: BpfObject): KernelCounters {
  const map = object.map(COUNTERS_MAP);
  const counters: KernelCounters = { drops: {}, partialReads: 0 };
  COUNTERS.forEach((name, index) => {
    const key = Buffer.alloc(4);
    key.writeUInt32LE(index);
    const value = map.lookup(key);
    const total = value ? map.perCpuValues(value).reduce((sum, v) => sum + Number(v.readBigUInt64LE(0)), 0) : 0;
    if (name === 'partial_read') counters.partialReads = total;
    else if (total) counters.drops[name] = total;
  });
  return counters;
}
