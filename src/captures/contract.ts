// The user-space half of bpf/common/sherlock.{h,bpf.h}: the names every
// capture's object shares, so filters and drop counts need no per-capture code.
import type { BpfObject } from '../libbpf/index.js';
import type { ResolvedTarget } from './target.js';

export const TGID_MAP = 'sherlock_tgids';
export const DROPS_MAP = 'sherlock_drops';
export const MAX_TGIDS = 4096; // SHERLOCK_MAX_TGIDS

/** enum sherlock_drop_reason, by index. */
export const DROP_REASONS = ['ringbuf_full', 'map_full', 'read_failed', 'tgids_full'] as const;
export type DropReason = (typeof DROP_REASONS)[number] | 'event_cap';
export type DropCounts = Partial<Record<DropReason, number>>;

/** Rodata for the standard filters; set before load. */
export function applyFilterSettings(object: BpfObject, target: ResolvedTarget, followForks: boolean): void {
  object.setRodata({
    filter_by_tgid: target.tgids !== undefined,
    follow_forks: followForks,
    filter_cgroup_id: target.cgroupId ?? 0n,
    filter_uid: target.uid ?? 0xffffffff,
    filter_comm: target.comm ?? '',
  });
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

/** Sums the per-CPU drop counters by reason; zero reasons are left out. */
export function readDropCounts(object: BpfObject): DropCounts {
  const map = object.map(DROPS_MAP);
  const counts: DropCounts = {};
  DROP_REASONS.forEach((reason, index) => {
    const key = Buffer.alloc(4);
    key.writeUInt32LE(index);
    const value = map.lookup(key);
    const total = value ? map.perCpuValues(value).reduce((sum, v) => sum + Number(v.readBigUInt64LE(0)), 0) : 0;
    if (total) counts[reason] = total;
  });
  return counts;
}
