// Decodes struct oomkill_event of bpf/oomkill/oomkill.h. Offsets follow the C
// struct; test/captures/oomkill.test.ts checks them against the header
// compiled with cc.
import { cString, recordLayout } from '../records.js';

export const OOMKILL_MAX_LEVELS = 6;

export const oomkillLayout = {
  tsNs: 0,
  victimPid: 8,
  victimTid: 12,
  triggerPid: 16,
  triggerTid: 20,
  victimUid: 24,
  oomScoreAdj: 28,
  levels: 30,
  hasTask: 31,
  totalVmPages: 32,
  anonPages: 40,
  filePages: 48,
  shmemPages: 56,
  swapPages: 64,
  pgtablesBytes: 72,
  victimCgroupId: 80,
  triggerMemcgId: 88,
  memcg: 96,
  memcgSize: 24,
  victimComm: 240,
  triggerComm: 256,
  size: 272,
} as const;

export interface MemcgLevel {
  cgroupId: bigint;
  maxPages: bigint;
  usagePages: bigint;
}

export interface OomkillRecord {
  tsNs: bigint;
  victimPid: number;
  victimTid: number;
  triggerPid: number;
  triggerTid: number;
  victimUid: number;
  oomScoreAdj: number;
  /** false: this kernel's tracepoint gave the pid only. */
  hasTask: boolean;
  totalVmPages: bigint;
  anonPages: bigint;
  filePages: bigint;
  shmemPages: bigint;
  swapPages: bigint;
  pgtablesBytes: bigint;
  victimCgroupId: bigint;
  triggerMemcgId: bigint;
  /** The victim's memory cgroup, then its ancestors. */
  memcgs: MemcgLevel[];
  victimComm: string;
  triggerComm: string;
}

export function decodeOomkill(data: Buffer): OomkillRecord | undefined {
  const L = oomkillLayout;
  if (data.length < L.size) return undefined;
  const levels = Math.min(data.readUInt8(L.levels), OOMKILL_MAX_LEVELS);
  const memcgs: MemcgLevel[] = [];
  for (let i = 0; i < levels; i++) {
    const at = L.memcg + i * L.memcgSize;
    memcgs.push({ cgroupId: data.readBigUInt64LE(at), maxPages: data.readBigUInt64LE(at + 8), usagePages: data.readBigUInt64LE(at + 16) });
  }
  return {
    tsNs: data.readBigUInt64LE(L.tsNs),
    victimPid: data.readUInt32LE(L.victimPid),
    victimTid: data.readUInt32LE(L.victimTid),
    triggerPid: data.readUInt32LE(L.triggerPid),
    triggerTid: data.readUInt32LE(L.triggerTid),
    victimUid: data.readUInt32LE(L.victimUid),
    oomScoreAdj: data.readInt16LE(L.oomScoreAdj),
    hasTask: data.readUInt8(L.hasTask) === 1,
    totalVmPages: data.readBigUInt64LE(L.totalVmPages),
    anonPages: data.readBigUInt64LE(L.anonPages),
    filePages: data.readBigUInt64LE(L.filePages),
    shmemPages: data.readBigUInt64LE(L.shmemPages),
    swapPages: data.readBigUInt64LE(L.swapPages),
    pgtablesBytes: data.readBigUInt64LE(L.pgtablesBytes),
    victimCgroupId: data.readBigUInt64LE(L.victimCgroupId),
    triggerMemcgId: data.readBigUInt64LE(L.triggerMemcgId),
    memcgs,
    victimComm: cString(data, L.victimComm, 16),
    triggerComm: cString(data, L.triggerComm, 16),
  };
}

/** The same offsets under the C member names, checked against the object's BTF (test/architecture/record-layouts.test.ts). */
export const memcgRecord = recordLayout('oomkill_memcg', oomkillLayout.memcgSize, { cgroup_id: 0, max_pages: 8, usage_pages: 16 });
export const eventRecord = recordLayout(
  'oomkill_event',
  oomkillLayout.size,
  {
    ts_ns: oomkillLayout.tsNs,
    victim_pid: oomkillLayout.victimPid,
    victim_tid: oomkillLayout.victimTid,
    trigger_pid: oomkillLayout.triggerPid,
    trigger_tid: oomkillLayout.triggerTid,
    victim_uid: oomkillLayout.victimUid,
    oom_score_adj: oomkillLayout.oomScoreAdj,
    levels: oomkillLayout.levels,
    has_task: oomkillLayout.hasTask,
    total_vm_pages: oomkillLayout.totalVmPages,
    anon_pages: oomkillLayout.anonPages,
    file_pages: oomkillLayout.filePages,
    shmem_pages: oomkillLayout.shmemPages,
    swap_pages: oomkillLayout.swapPages,
    pgtables_bytes: oomkillLayout.pgtablesBytes,
    victim_cgroup_id: oomkillLayout.victimCgroupId,
    trigger_memcg_id: oomkillLayout.triggerMemcgId,
    memcg: oomkillLayout.memcg,
    victim_comm: oomkillLayout.victimComm,
    trigger_comm: oomkillLayout.triggerComm,
  },
  { memcg: OOMKILL_MAX_LEVELS, victim_comm: 16, trigger_comm: 16 },
);
