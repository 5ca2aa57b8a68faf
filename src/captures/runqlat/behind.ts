// Behind whom tasks waited: the BPF map "behind" (a slow wait, by waiter and
// the task that left the CPU at its end), decoded, and the waiters' CPU
// affinity read from /proc while they live.
import type { BpfMap } from '../../libbpf/index.js';
import { parseCpuList } from '../../util/cpu-list.js';
import { readText } from '../../util/read-text.js';
import { cString, recordLayout } from '../records.js';

/** prev_tgid of a task in Sherlock's own cgroup (bpf/runqlat/runqlat.h). */
const RUNQLAT_SHERLOCK = 0xffffffff;

/** struct runqlat_behind_key. */
export const behindKeyLayout = recordLayout('runqlat_behind_key', 24, { tgid: 0, prev_tgid: 4, prev_comm: 8 }, { prev_comm: 16 });
/** struct runqlat_behind. */
export const behindLayout = recordLayout('runqlat_behind', 32, { waits: 0, waited_us: 8, cpus: 16, allowed: 24, kthread: 28 });

export interface BehindRow {
  /** The waiter (0: its task was not found). */
  pid: number;
  /** What left the CPU as its wait ended: 0 the CPU was idle, -1 a process of Sherlock's own (behindComm "sherlock"). */
  behindPid: number;
  behindComm: string;
  waits: number;
  waitedMs: number;
  /** The CPUs those waits ended on (up to CPU 63; higher ones fold onto cpu % 64). */
  cpus: number[];
  /** How many CPUs the waiter may run on. */
  allowed: number;
  kthread: boolean;
}

export function decodeBehind(map: BpfMap): BehindRow[] {
  const rows: BehindRow[] = [];
  for (const [key, value] of map.entries()) {
    const mask = value.readBigUInt64LE(behindLayout.offsets.cpus);
    const prev = key.readUInt32LE(behindKeyLayout.offsets.prev_tgid);
    const sherlock = prev === RUNQLAT_SHERLOCK;
    rows.push({
      pid: key.readUInt32LE(behindKeyLayout.offsets.tgid),
      behindPid: sherlock ? -1 : prev,
      behindComm: sherlock ? 'sherlock' : cString(key, behindKeyLayout.offsets.prev_comm, behindKeyLayout.lengths.prev_comm),
      waits: Number(value.readBigUInt64LE(behindLayout.offsets.waits)),
      waitedMs: Math.round(Number(value.readBigUInt64LE(behindLayout.offsets.waited_us))) / 1000,
      cpus: Array.from({ length: 64 }, (_, cpu) => cpu).filter((cpu) => (mask >> BigInt(cpu)) & 1n),
      allowed: value.readUInt32LE(behindLayout.offsets.allowed),
      kthread: value.readUInt32LE(behindLayout.offsets.kthread) !== 0,
    });
  }
  return rows.sort((a, b) => b.waitedMs - a.waitedMs);
}

/** The CPUs a live process may run on (its main thread's Cpus_allowed_list), or undefined. */
export function allowedCpusOf(pid: number): number[] | undefined {
  const list = /^Cpus_allowed_list:\s*(\S+)/m.exec(readText(`/proc/${pid}/status`) ?? '')?.[1];
  const cpus = list ? parseCpuList(list) : [];
  return cpus.length ? cpus : undefined;
}
