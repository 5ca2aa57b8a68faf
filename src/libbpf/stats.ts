// The kernel's own accounting of BPF programs: run time (while
// kernel.bpf_stats_enabled is on) and recursion misses. Sherlock's captures
// time themselves (src/captures/run-time-sampler.ts); tests check that against this.
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
