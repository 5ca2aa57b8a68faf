// offcputime's checks: Where threads block off the CPU outside ordinary idle waits.
import { makeFinding, num, objs, str, timeImpact, isObj, topKeys, type CaptureAnalysis, type AnalysisContext, type Obj } from '../../analysis/common.js';
import { fmtPct, fmtSeconds, fmtUs, listText, plural, processLabel, round, shortFunction } from '../../format/index.js';
import { framesOf, processNameOf, stackText, type FrameLike } from '../../analysis/stack-frames.js';
import type { Finding } from '../../analysis/types.js';
import { JIT_CODE } from '../../symbolize/index.js';
import { waitName } from './scheduler.js';
import { COMPACTION_FUNCTIONS, RECLAIM_FUNCTIONS } from '../memory-frames.js';
import { sleepFindings } from './sleeps.js';
import { parkFindings } from './parks.js';
import { databaseWaitFindings, databaseWaitOf, type DatabaseWait } from './database-waits.js';
import { gcWaitClassifier, isCollectorThread, type GcRuntime } from '../gc-frames.js';
import { gilTakeFrame } from '../gil-frames.js';
import {
  FILE_LOCK_WAIT,
  FROZEN_WAIT,
  FUTEX,
  IDLE_WAITS,
  JVM_MONITOR_ENTER,
  LOCK_CALLERS,
  LOCK_OVER_PARK,
  PARK_CALLERS,
  PARK_OVER_LOCK,
  PIPE_WRITE,
  STOPPED_WAIT,
  TRACED_WAIT,
} from './waits.js';
import {
  blockerPids,
  frozenBy,
  frozenText,
  lockHolderText,
  lockLabel,
  locksOf,
  mutexesOf,
  mutexOwnerText,
  pipeLabel,
  pipeReadersText,
  pipesOf,
  sendLabel,
  sendPeerText,
  sendsOf,
  stoppedText,
  tracerOf,
  tracerText,
} from './blocker-text.js';

/** A futex wait this long on average is a parked thread (a pool's condition variable), not contention. */
const PARKED_FUTEX_US = 100_000;
type FutexCaller = 'lock' | 'park' | 'unknown';

/** A lock built over a park anywhere on the stack (or a park over a lock), else the innermost user frame that names a lock or a park, leaf first. */
function futexCallerOf(frames: unknown[]): FutexCaller {
  const anywhere = (re: RegExp) => frames.some((f) => isObj(f) && f.kind !== 'kernel' && re.test(str(f.name)));
  if (anywhere(LOCK_OVER_PARK)) return 'lock';
  if (anywhere(PARK_OVER_LOCK)) return 'park';
  for (let i = frames.length - 1; i >= 0; i--) {
    const f = frames[i];
    if (!isObj(f) || f.kind === 'kernel') continue;
    const name = str(f.name);
    if (LOCK_CALLERS.test(name)) return 'lock';
    if (PARK_CALLERS.test(name)) return 'park';
  }
  return 'unknown';
}
const KERNEL_THREAD = /^(kworker|ksoftirqd|rcu_|migration|cpuhp|idle_inject|irq\/|kthreadd|watchdog|khugepaged|kcompactd|kswapd|jbd2|scsi_|card\d|ext4-)/;

/** Started by kthread() with no user frame: a kernel thread's own sleep (a driver's, hwrng's), whatever its name; those it holds up wait where they are. */
const isKernelThread = (frames: unknown[]): boolean =>
  frames.some((f) => isObj(f) && f.kind === 'kernel' && f.name === 'kthread') && !frames.some((f) => isObj(f) && f.kind !== 'kernel');

/** The Java method entering the monitor (a JIT frame a perf map named), else the JVM's own entry. */
function monitorCallerOf(frames: unknown[]): string {
  const java = frames.findLast(
    (f) => isObj(f) && f.kind === 'jit' && str(f.name) !== JIT_CODE && !/^(_complete_monitor_locking_Java|StubRoutines)/.test(str(f.name)),
  );
  return isObj(java) ? str(java.name) : 'ObjectMonitor::enter';
}

function userLeafOf(frames: unknown[]): string | undefined {
  for (let i = frames.length - 1; i >= 0; i--) {
    const f = frames[i];
    if (isObj(f) && (f.kind === 'user' || f.kind === 'jit' || f.kind === 'unknown')) return str(f.name) || '?';
  }
  return undefined;
}

const MUTEX = 'waiting for a lock (futex)';
/** A JVM monitor's waiters park one by one; jstack names its holder ("- locked <0x...>") and its waiters ("- waiting to lock"). */
const JVM_MONITOR = 'waiting to enter a Java monitor (a synchronized method or block: one thread in it at a time)';
const FUTEX_UNKNOWN = 'waiting on a futex (a lock or a condition variable: no user frame says which)';
const RECLAIMING = 'reclaiming memory (an allocation found no free page)';
const DISK_IO = 'waiting for disk I/O';
/** A page fault reading the process's own memory back from swap. */
const SWAP_FRAMES =
  /\b(do_swap_page|swapin_readahead|swap_cluster_readahead|swap_vma_readahead|swap_read_folio\w*|swap_readpage|__read_swap_cache_async|read_swap_cache_async)\b/;
const SWAPPING_IN = 'waiting for its memory to come back from swap (its pages were swapped out: the host or its memory cgroup is short of memory)';
/** balance_dirty_pages: the writer is paused until writeback catches up. */
const DIRTY_THROTTLED =
  'paused for writing faster than the disk takes it (the page cache held more dirty data than its limit, vm.dirty_ratio or vm.dirty_bytes, allows)';
const DNS_ANSWER = 'waiting for a DNS answer';
/** A blocking resolver's frames: glibc's (and its NSS modules, systemd-resolved's among them), musl's. */
const RESOLVER_FRAMES =
  /\b(send_dg|send_vc|__res_context_send|__libc_res_nsend|__res_nsend|__res_msend_rc|__res_msend|name_from_dns|_nss_dns_gethostbyname\w*|_nss_resolve_gethostbyname\w*)\b/;
/** The kernel's reclaim, entered from an allocation: direct reclaim, a memory cgroup's, or throttled in it. */
const RECLAIM_FRAMES = new RegExp(String.raw`\b(${RECLAIM_FUNCTIONS}|reclaim_throttle|mem_cgroup_handle_over_high)\b`);

/** Compaction, entered from an allocation of contiguous pages (a huge page) or a write to compact_memory. */
const COMPACTION_FRAMES = new RegExp(String.raw`\b(${COMPACTION_FUNCTIONS})\b`);
const COMPACTING = 'compacting memory (an allocation of contiguous pages, a huge page most often, found none free)';

/** A process's address-space lock (mmap_lock), taken to read by a page fault and to write by mmap, munmap, mprotect, madvise and brk. */
const MMAP_LOCK_FRAMES =
  /\b(lock_mm_and_find_vma|mmap_read_lock\w*|mmap_write_lock\w*|vm_mmap_pgoff|__vm_munmap|do_vmi_munmap|do_mprotect_pkey|do_madvise|__do_sys_brk)\b/;
const MMAP_LOCK =
  'waiting for its address-space lock (mmap_lock: another of its threads maps, unmaps or changes memory, with mmap, munmap, mprotect, madvise or brk)';

/** A program's thread waiting for its runtime's collector: an allocation that found no room, a thread stopped while it collects. */
const GC_WAIT = 'waiting for its garbage collector';
/** A Python thread taking its GIL back after I/O or a sleep: lockwait's GIL finding tells these waits, over the whole window. */
const GIL_WAIT = "waiting for Python's GIL";

const FROZEN = 'frozen';
const STOPPED = 'stopped by a signal (SIGSTOP or SIGTSTP: kill -STOP, job control)';
const TRACED = 'stopped for its tracer (ptrace: a debugger, strace or another tracer attached to it)';
const PIPE_FULL = 'blocked writing into a full pipe';
const FILE_LOCK = 'waiting for a file lock';
const SEND_BUFFER = 'waiting for room in its TCP send buffer';
/** A unix socket's sender waits for its peer to read (a stream's buffer, or a datagram receiver's queue like /dev/log's). */
const UNIX_PEER = "waiting for its unix socket's peer to read (the socket's buffer is full)";
/** A blocking connect to a unix socket whose listener's accept queue is full (a local server by its socket file). */
const UNIX_ACCEPT = "waiting for a unix socket's listener to accept its connection (the listener's accept queue is full)";

/** Waits on a socket's other end: a finding names it (the peer that does not read, the listener that does not accept). */
const SOCKET_KINDS = new Set([SEND_BUFFER, UNIX_PEER, UNIX_ACCEPT]);

function waitKind(frames: FrameLike[], futexCaller: FutexCaller): string {
  const wait = waitName(frames) ?? '';
  if (FROZEN_WAIT.test(wait)) return FROZEN;
  if (STOPPED_WAIT.test(wait)) return STOPPED;
  if (TRACED_WAIT.test(wait)) return TRACED;
  const names = frames.map((f) => f.name).join(' ');
  // First: reclaim waits on writeback and disk too, and its cause is the memory limit, not the disk.
  if (RECLAIM_FRAMES.test(names)) return RECLAIMING;
  if (COMPACTION_FRAMES.test(names)) return COMPACTING;
  if (RESOLVER_FRAMES.test(names)) return DNS_ANSWER;
  // Before disk: a network filesystem's reads wait on its pages as a disk's do.
  if (/\b(rpc_wait_bit_killable|__rpc_execute|nfs_\w+)\b/.test(names)) return 'waiting on a network filesystem (NFS: its server answers slowly or not at all)';
  if (/\bfuse_\w+\b/.test(names)) return 'waiting on a FUSE filesystem (its user-space daemon answers slowly)';
  if (SWAP_FRAMES.test(names)) return SWAPPING_IN;
  if (/\bbalance_dirty_pages\b/.test(names)) return DIRTY_THROTTLED;
  if (
    /\b(io_schedule|blk_mq|bio_|folio_wait|wait_on_page|__lock_page|bit_wait_io|submit_bio|filemap_fault|jbd2|__iomap_dio_rw|iomap_dio_rw|__blockdev_direct_IO|blkdev_direct_IO)/.test(
      names,
    )
  )
    return DISK_IO;
  if (/\bfutex/.test(names)) return futexCaller !== 'lock' ? FUTEX_UNKNOWN : frames.some((f) => JVM_MONITOR_ENTER.test(f.name)) ? JVM_MONITOR : MUTEX;
  if (/\b(rwsem|down_read|down_write)/.test(names) && MMAP_LOCK_FRAMES.test(names)) return MMAP_LOCK;
  if (/\b(mutex_lock|rwsem|down_read|down_write|__down)/.test(names)) return 'waiting for a kernel lock';
  if (frames.some((f) => PIPE_WRITE.test(f.name))) return PIPE_FULL;
  if (frames.some((f) => FILE_LOCK_WAIT.test(f.name))) return FILE_LOCK;
  if (/\bunix_stream_connect\b/.test(names)) return UNIX_ACCEPT;
  if (/\b(unix_wait_for_peer|unix_stream_sendmsg|unix_dgram_sendmsg)\b/.test(names)) return UNIX_PEER;
  if (/\b(sk_stream_wait_memory|tcp_sendmsg)/.test(names)) return SEND_BUFFER;
  if (/\b(handle_mm_fault|do_page_fault|exc_page_fault|swap)/.test(names)) return 'waiting on memory (page faults)';
  return 'blocked';
}

const MIN_OFFCPU_WINDOW_SHARE = 0.1;
/** Blocked this share of the window (summed over threads) or more: a finding, whatever its share of all waits. */
const MOSTLY_BLOCKED = 0.5;
const MAX_FINDINGS = 5;
/** A process held still from outside (frozen, stopped, traced): never normal, a finding whatever its share of all waits. */
const HELD_KINDS = new Set([FROZEN, STOPPED, TRACED]);
/** Kinds that say no more than their frame: their waits group by frame, not by kind. */
const UNNAMED_KINDS = new Set(['blocked', 'waiting for a kernel lock']);

function analyzeOffcputime(data: Obj, ctx: AnalysisContext): CaptureAnalysis {
  const findings: Finding[] = [];
  const stacks = objs(data.stacks);
  const totalUs = num(data.total) || stacks.reduce((n, s) => n + num(s.value), 0);
  const blocks = num(data.blocks) || stacks.reduce((n, s) => n + num(s.blocks), 0);
  const checked = `off-CPU time (${fmtUs(totalUs)} in ${plural(blocks, 'wait')})`;
  const windowUs = Math.max(1, ctx.windowSeconds * 1e6);

  // Work waits, grouped by process, what they waited for (the wait frames of one reason add up:
  // an fsync waits in a cache flush, on writeback and on a buffer, all of them the disk) and the
  // user frame that called; a group is named by its largest wait frame.
  const groups = new Map<
    string,
    {
      pid: number;
      comm: string;
      kind: string;
      wait: string;
      waits: Map<string, number>;
      user?: string;
      futexCaller: FutexCaller;
      /** Waits for a garbage collector: its runtime, and the frames that said so with their time. */
      gc?: { runtime: GcRuntime; frames: Map<string, number> };
      us: number;
      blocks: number;
      stacks: Obj[];
    }
  >();
  let workUs = 0;
  const gcWaitOf = gcWaitClassifier();
  const parked: Obj[] = [];
  const databaseWaits: { stack: Obj; kind: DatabaseWait }[] = [];
  for (const s of stacks) {
    const us = num(s.value);
    const n = Math.max(1, num(s.blocks));
    if (us <= 0) continue;
    const comm = str(s.comm);
    const frames = Array.isArray(s.frames) ? s.frames : [];
    if (KERNEL_THREAD.test(comm) || isKernelThread(frames)) continue;
    const wait = waitName(frames) ?? '?';
    // A database's own waits for another transaction sleep where it idles: told by their stacks alone.
    const database = IDLE_WAITS.test(wait) ? databaseWaitOf(framesOf(s)) : undefined;
    if (database) {
      databaseWaits.push({ stack: s, kind: database });
      continue;
    }
    // Idle, unless the poll is a resolver's: waiting for a DNS answer is work.
    const frozen = s.frozen === true; // frozen where it slept: its idle wait is no longer idle
    if (!frozen && IDLE_WAITS.test(wait) && !RESOLVER_FRAMES.test(frames.map((f) => (isObj(f) ? str(f.name) : '')).join(' '))) continue;
    // A wait read from /proc whose futex is a mutex another thread holds (mutex-owners.ts) is a lock wait, whatever its frames.
    const futexCaller = FUTEX.test(wait) ? (typeof s.mutex === 'string' ? 'lock' : futexCallerOf(frames)) : undefined;
    // A collector's own thread waits for the next collection.
    if (futexCaller && !frozen && isCollectorThread(comm)) continue;
    // Waiting for its garbage collector, a thread parks or takes a lock the collection holds: the collector's wait, however long.
    const named = framesOf(s);
    const gc =
      futexCaller && !frozen
        ? gcWaitOf(
            named.map((f) => f.name),
            comm,
          )
        : undefined;
    const gil = Boolean(futexCaller && !frozen && !gc && gilTakeFrame(named));
    if (!frozen && !gc && !gil && (futexCaller === 'park' || (futexCaller && futexCaller !== 'lock' && us / n >= PARKED_FUTEX_US))) {
      parked.push(s); // idle, unless its threads are the ones that answered slowly (parks.ts)
      continue;
    }
    const kind = frozen ? FROZEN : gc ? GC_WAIT : gil ? GIL_WAIT : waitKind(named, futexCaller ?? 'unknown');
    // A process held still from outside waits the same wherever its code was; one waiting for its collector or its GIL, wherever it allocated or called.
    const user = HELD_KINDS.has(kind) || gc || gil ? undefined : kind === JVM_MONITOR ? monitorCallerOf(frames) : userLeafOf(frames);
    const reason = UNNAMED_KINDS.has(kind) ? `${kind}\0${wait}` : kind;
    const key = `${num(s.pid)}\0${reason}\0${user ?? ''}`;
    let g = groups.get(key);
    if (!g)
      groups.set(
        key,
        (g = {
          pid: num(s.pid),
          comm,
          kind,
          wait,
          waits: new Map(),
          ...(user ? { user } : {}),
          futexCaller: futexCaller ?? 'unknown',
          ...(gc ? { gc: { runtime: gc.runtime, frames: new Map() } } : {}),
          us: 0,
          blocks: 0,
          stacks: [],
        }),
      );
    g.us += us;
    g.blocks += n;
    g.waits.set(wait, (g.waits.get(wait) ?? 0) + us);
    if (gc) g.gc?.frames.set(gc.frame, (g.gc.frames.get(gc.frame) ?? 0) + us);
    g.stacks.push(s);
    if (g.stacks.length > 3) g.stacks.sort((a, b) => num(b.value) - num(a.value)).pop();
    workUs += us;
  }
  for (const g of groups.values()) g.wait = [...g.waits].sort((a, b) => b[1] - a[1])[0]![0];
  const threshold = ctx.thresholds.offcpuHotStackPct;
  const ranked = [...groups.values()].sort((a, b) => b.us - a.us);
  for (const g of ranked.slice(0, MAX_FINDINGS)) {
    const share = workUs ? g.us / workUs : 0;
    const windowShare = g.us / windowUs;
    // A large share of the waits, or blocked most of the window whatever else waits (host-wide, several processes blocked at once each hold a small share).
    if ((share * 100 < threshold && windowShare < MOSTLY_BLOCKED && !HELD_KINDS.has(g.kind)) || windowShare < MIN_OFFCPU_WINDOW_SHARE) continue;
    const who = processLabel(processNameOf(data, g.pid) ?? g.comm, g.pid);
    const kind = g.kind;
    // A full pipe's cause is its reader, a file lock's its holder, a send's its peer: named in the sentence, their own waits linked below.
    const pipes = kind === PIPE_FULL ? pipesOf(data, g.pid) : [];
    const locks = kind === FILE_LOCK ? locksOf(data, g.pid) : [];
    // A connect's wait names its listener, a send's its peer.
    const sends = SOCKET_KINDS.has(kind) ? sendsOf(data, g.pid).filter((c) => !!c.accept === (kind === UNIX_ACCEPT)) : [];
    const froze = kind === FROZEN ? frozenBy(data, g.pid) : undefined;
    const mutexes = kind === MUTEX ? mutexesOf(data, g.pid) : [];
    const tracer = kind === TRACED ? tracerOf(data, g.pid) : undefined;
    const deadlock = mutexes.some((m) => m.deadlock);
    const spent = `${who} spent ${fmtUs(g.us)} (${fmtPct(windowShare)} of the ${fmtSeconds(ctx.windowSeconds)} window, summed over threads) ${kind}`;
    const where = ` in ${g.wait}` + (g.user ? ` called from ${shortFunction(g.user)}` : '');
    const average = `${plural(g.blocks, 'wait')} of ${fmtUs(g.us / Math.max(1, g.blocks))} on average`;
    const title =
      kind === FROZEN
        ? `${spent}${where}: ${frozenText(froze)}.`
        : kind === STOPPED
          ? `${spent}${where}: ${stoppedText(g.pid)}.`
          : kind === TRACED
            ? `${spent}${where}, ${average}: ${tracerText(tracer, g.pid)}.`
            : kind === PIPE_FULL
              ? `${spent}${pipeLabel(pipes)}${where}: ${pipeReadersText(pipes, g.pid)}; ${average}.`
              : kind === FILE_LOCK
                ? `${spent}${lockLabel(locks)}${where}: ${lockHolderText(locks)}; ${average}.`
                : SOCKET_KINDS.has(kind)
                  ? `${spent}${sendLabel(sends)}${where}: ${sendPeerText(sends)}; ${average}.`
                  : g.gc
                    ? `${spent} (${g.gc.runtime.runtime}) in ${listText(topKeys(g.gc.frames, Infinity).map((f) => shortFunction(f)))}, ${average}: while it collects, allocations that find no room and threads stopped for it wait; next: ${g.gc.runtime.next}.`
                    : kind === JVM_MONITOR
                      ? `${spent}${where}, ${average}: its requests take turns in one synchronized section; next: jstack ${g.pid} names the thread holding the monitor ("- locked <0x…>") and what it does inside, and the threads waiting ("- waiting to lock"): keep the section short (no I/O or long work inside it) or split its lock.`
                      : mutexes.length
                        ? `${spent}${where}, ${average}: ${mutexOwnerText(mutexes)}.`
                        : `${spent}${where}: ${share * 100 >= threshold ? `${fmtPct(share)} of the non-idle off-CPU time seen (threshold ${threshold}%), ` : ''}${average}.`;
    const blockers = blockerPids(pipes, locks, sends, g.pid);
    const shows = [
      // Swapping in, the memory shortage its reclaim stalls name explains it too.
      ...(kind === RECLAIMING || kind === SWAPPING_IN || kind === COMPACTING ? [`reclaim-pid:${g.pid}`] : []),
      // And the disk it waited on was busy with someone's I/O (iotop names whose).
      ...(kind === DISK_IO || kind === DIRTY_THROTTLED ? [`disk-wait-pid:${g.pid}`, 'disk-busy'] : []),
      ...(kind === DNS_ANSWER ? [`dns-wait-pid:${g.pid}`] : []),
      // The collector's CPU (profile) explains it.
      ...(g.gc ? [`gc-of:${g.pid}`] : []),
      // Who sent the stop, when it was sent in the window (signals).
      ...(kind === STOPPED || kind === TRACED ? [`stopped-pid:${g.pid}`] : []),
      // What held its connection's sending (tcpflow: the path's capacity, the peer's receive window, its own buffer).
      ...(sends[0] && !sends[0].remote.startsWith('unix:') ? [`send-wait:${g.pid}:${sends[0].remote}`] : []),
      // What keeps its pipe's reader or its peer from reading, or its lock's holder from letting go: their blocked threads, upstreams, CPU quota, reclaim.
      ...blockers.flatMap((p) => [`blocked-pid:${p}`, `service-pid:${p}`, `runq-pid:${p}`, `reclaim-pid:${p}`]),
    ];
    findings.push({
      ...makeFinding(
        ctx,
        `wait:${g.pid}:${g.wait}:${g.user ?? ''}`,
        // An unnamed futex wait is as often a sleeping pool as a lock: lockwait tells contention apart.
        kind === FUTEX_UNKNOWN ? 'info' : kind === FROZEN || kind === STOPPED || deadlock ? 'critical' : 'warning',
        title,
        {
          pid: g.pid,
          comm: g.comm,
          waitingIn: g.wait,
          ...(g.user ? { userFrame: g.user } : {}),
          kind,
          offCpuMs: round(g.us / 1000),
          blocks: g.blocks,
          avgMs: round(g.us / Math.max(1, g.blocks) / 1000),
          ...(pipes[0] ? { pipe: pipes[0] } : {}),
          ...(locks[0] ? { lock: locks[0] } : {}),
          ...(sends[0] ? { connection: sends[0] } : {}),
          ...(froze ? { frozenBy: froze } : {}),
          ...(tracer ? { tracer } : {}),
          ...(mutexes[0] ? { mutex: mutexes.find((m) => m.deadlock) ?? mutexes[0] } : {}),
          shareOfWork: round(share),
          shareOfWindow: round(windowShare),
          thresholdPct: threshold,
          stacks: g.stacks.map((s) => ({ offCpuMs: round(num(s.value) / 1000), blocks: num(s.blocks), frames: stackText(framesOf(s)) })),
        },
        share / Math.max(0.01, threshold / 100),
        timeImpact(
          g.us / 1e6,
          ctx.windowSeconds,
          `${plural(g.blocks, 'wait')} summed over its threads: ${fmtUs(g.us)} over ${fmtSeconds(ctx.windowSeconds)}`,
          kind === DISK_IO || kind === DIRTY_THROTTLED || kind === SWAPPING_IN ? ['latency', 'disk'] : ['latency'],
        ),
      ),
      cause: { key: `${g.comm} ${kind} in ${g.wait}${g.user ? ` from ${g.user}` : ''}`, subject: `pid ${g.pid}` },
      // Its stalls reclaiming memory (reclaim) say which limit ran out: that finding leads, this wait is its effect.
      // Its disk waits are the cost of its memory thrashing (a cgroup's limit, or the host's), when reclaim found that.
      // Its DNS waits are the slow lookups dnslat names (server, names, how many lost): that finding leads.
      // Threads blocked at work answer late: any of these explains the process's slow answers (tcpresponse), after its upstreams.
      // Its waits for its collector are lockwait's too, told there (per wait, over the whole window).
      // Its GIL's waits are lockwait's alone (its thresholds): told there, or not at all.
      links:
        kind === GIL_WAIT
          ? { repeats: [`gil-wait:${g.pid}`], onlyAsCause: true }
          : {
              explains: [`blocked-pid:${g.pid}`],
              ...(shows.length ? { shows } : {}),
              ...(g.gc ? { repeats: [`gc-wait:${g.pid}`] } : {}),
            },
    });
  }
  return {
    findings: [...findings, ...databaseWaitFindings(databaseWaits, data, ctx), ...sleepFindings(data, ctx), ...parkFindings(parked, data, ctx)],
    checked,
  };
}

export const offcputimeAnalysis = { checks: 'off-CPU time', analyze: analyzeOffcputime };
