// Behind whom tasks waited: the BPF map "behind" (a slow wait, by waiter and
// the task that left the CPU at its end), decoded, and the waiters' CPU
// affinity read from /proc while they live.
import { readlinkSync } from 'node:fs';
import { basename } from 'node:path';
import { processCgroupPath } from '../../cgroups/process-cgroup.js';
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
  /** The holder is another program than the waiter, though it may have the waiter's name (two java services in their own units or containers). */
  apart?: boolean;
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

/** Executables that run a program named in their arguments: two python3 processes are two programs when their scripts differ. */
const INTERPRETERS = /^(python[\d.]*|node(js)?|ruby[\d.]*|perl[\d.]*|php[\d.]*|java|bash|sh|dash)$/;

/** A process's program as /proc tells it: its cgroup, its executable and (an interpreter's) its script; undefined once it is gone. */
function programOf(pid: number): string | undefined {
  const cgroup = processCgroupPath(pid);
  let exe: string;
  try {
    exe = readlinkSync(`/proc/${pid}/exe`);
  } catch {
    return undefined; // gone, or a kernel thread
  }
  if (cgroup === undefined) return undefined;
  return `${cgroup}\0${exe}${INTERPRETERS.test(basename(exe)) ? `\0${scriptOf(pid)}` : ''}`;
}

/** An interpreter's script: its first argument that is no option ("app.py" of python3 -u app.py, the module of -m, the code of -c). */
const scriptOf = (pid: number) =>
  (readText(`/proc/${pid}/cmdline`) ?? '')
    .split('\0')
    .slice(1)
    .find((a) => a && !a.startsWith('-')) ?? '';

/**
 * Marks the rows whose holder is another program than the waiter's (`apart`): another cgroup, another executable,
 * or for an interpreter (python3, node, java, ...) another script.
 * Processes of one name are one program otherwise (a service's workers), and when either is gone.
 */
export function markApart(rows: BehindRow[]): BehindRow[] {
  const programs = new Map<number, string | undefined>();
  const of = (pid: number) => {
    if (!programs.has(pid)) programs.set(pid, programOf(pid));
    return programs.get(pid);
  };
  for (const r of rows) {
    if (r.behindPid <= 0 || r.behindPid === r.pid) continue;
    const [waiter, holder] = [of(r.pid), of(r.behindPid)];
    if (waiter !== undefined && holder !== undefined && waiter !== holder) r.apart = true;
  }
  return rows;
}
