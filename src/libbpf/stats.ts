// The kernel's own accounting of BPF run time (kernel.bpf_stats_enabled),
// which Sherlock reports as each capture's CPU cost.
import { BpfError } from './errors.js';
import { errnoOf, lib } from './native.js';

const BPF_STATS_RUN_TIME = 0;
const PROG_INFO_SIZE = 232; // struct bpf_prog_info on 6.x; the kernel fills what it has
const OFFSET_ID = 4;
const OFFSET_RUN_TIME_NS = 192;
const OFFSET_RUN_CNT = 200;
const OFFSET_RECURSION_MISSES = 208;

export interface ProgramStats {
  id: number;
  runTimeNs: bigint;
  runCount: bigint;
  /** Runs the kernel skipped: another BPF program was running on that CPU (5.12+; 0 before). */
  recursionMisses: bigint;
}

/** Turns run-time stats on until the returned fd is closed (refcounted by the kernel). */
export function enableRunTimeStats(): number {
  const fd = lib().bpf_enable_stats(BPF_STATS_RUN_TIME);
  if (fd < 0) throw new BpfError('bpf_enable_stats', errnoOf(fd));
  return fd;
}

/**
 * The same on one of koffi's threads: switching the stats patches every BPF
 * dispatch site in the kernel (~50 ms of waiting on a busy VM).
 */
export function enableRunTimeStatsAsync(): Promise<number> {
  return new Promise((resolve, reject) => {
    lib().bpf_enable_stats.async(BPF_STATS_RUN_TIME, (err: unknown, fd: number) => {
      if (err) reject(err as Error);
      else if (fd < 0) reject(new BpfError('bpf_enable_stats', errnoOf(fd)));
      else resolve(fd);
    });
  });
}

/** Closes a stats fd (switching the stats off if it was the last) off the event loop. */
export function closeStatsFdAsync(fd: number): Promise<void> {
  if (fd < 0) return Promise.resolve();
  return new Promise((resolve) => lib().close.async(fd, () => resolve()));
}

export function programStats(progFd: number): ProgramStats {
  const info = Buffer.alloc(PROG_INFO_SIZE);
  const len = [PROG_INFO_SIZE];
  const ret = lib().bpf_obj_get_info_by_fd(progFd, info, len);
  if (ret !== 0) throw new BpfError('bpf_obj_get_info_by_fd', errnoOf(ret));
  return {
    id: info.readUInt32LE(OFFSET_ID),
    runTimeNs: info.readBigUInt64LE(OFFSET_RUN_TIME_NS),
    runCount: info.readBigUInt64LE(OFFSET_RUN_CNT),
    recursionMisses: info.readBigUInt64LE(OFFSET_RECURSION_MISSES),
  };
}
