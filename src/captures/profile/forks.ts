// A process that forks while large: fork copies the page tables of all the
// memory it maps (dup_mmap, copy_page_range), on the CPU of the thread that
// forks, which does nothing else until it is done: ~200 ms for 9 GiB here. An
// event loop's only thread (Redis's BGSAVE) stops answering for that long, and
// its other threads wait on its address-space lock meanwhile. The samples
// under the copy time it; the process's memory, read at the window's end,
// says why it is that long.
import type { Finding } from '../../analysis/types.js';
import { isObj, makeFinding, num, timeImpact, type AnalysisContext, type Obj } from '../../analysis/common.js';
import { fmtBytes, fmtMs, fmtSeconds, processLabel } from '../../format/index.js';
import { readText } from '../../util/read-text.js';
import type { StackSample } from '../../stacks/types.js';
import { FORK_COPY, kernelActivity } from './kernel-activity.js';

/** Forks' copies this long in the window, summed: a finding (a stop a request would notice). */
const MIN_FORK_MS = 50;

export interface ForkerMemory {
  residentBytes: number;
  pageTableBytes: number;
}

const kib = (status: string, field: string) => Number(new RegExp(`^${field}:\\s*(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;

/** The memory of the processes sampled copying their page tables in a fork (/proc/PID/status at the window's end), by pid. */
export function forkersMemory(stacks: StackSample[]): { forkers?: Record<string, ForkerMemory> } {
  const forkers: Record<string, ForkerMemory> = {};
  for (const s of stacks) {
    if (forkers[s.pid] || kernelActivity(s.frames)?.key !== FORK_COPY) continue;
    const status = readText(`/proc/${s.pid}/status`) ?? '';
    const [residentBytes, pageTableBytes] = [kib(status, 'VmRSS'), kib(status, 'VmPTE')];
    if (residentBytes >= 0 && pageTableBytes >= 0) forkers[s.pid] = { residentBytes, pageTableBytes };
  }
  return Object.keys(forkers).length ? { forkers } : {};
}

/** pid's forks, `samples` of them under the copy: a finding when they add up to a stop worth naming. */
export function forkStall(pid: number, comm: string, samples: number, data: Obj, ctx: AnalysisContext, frequency: number, window: number): Finding | undefined {
  const forkMs = (samples / frequency) * 1000;
  if (forkMs < MIN_FORK_MS) return undefined;
  const memory = isObj(data.forkers) && isObj(data.forkers[String(pid)]) ? (data.forkers[String(pid)] as Obj) : undefined;
  const size = memory ? ` (it holds ${fmtBytes(num(memory.residentBytes))}, in ${fmtBytes(num(memory.pageTableBytes))} of page tables)` : '';
  const finding = makeFinding(
    ctx,
    `fork-copy:${pid}`,
    'warning',
    `${processLabel(comm, pid)} spent ~${fmtMs(forkMs)} of the ${fmtSeconds(window)} window copying its page tables in fork${size}: ` +
      `a fork copies the tables of all the memory it maps, and the thread that forks does nothing else until it is done (an event loop's only thread: no request is answered), ` +
      `its other threads waiting meanwhile when they touch memory; next: fork less often, or from a smaller process: Redis forks for each BGSAVE and AOF rewrite (save less often, or persist from a replica); ` +
      `a program that starts commands: posix_spawn or vfork copy nothing.`,
    {
      pid,
      comm,
      forkMs: Math.round(forkMs),
      samples,
      frequency,
      ...(memory ? { residentBytes: num(memory.residentBytes), pageTableBytes: num(memory.pageTableBytes) } : {}),
    },
    forkMs / MIN_FORK_MS,
    timeImpact(forkMs / 1000, window, `${samples} samples at ${frequency} Hz in fork's copy of its page tables`, ['latency']),
  );
  // Its answers late while it forked (tcpresponse) are this stop.
  finding.links = { explains: [`stalled-pid:${pid}`] };
  return finding;
}
