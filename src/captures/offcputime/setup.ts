// offcputime's setup: the task states and block times it counts, table sizes and user-stack snapshots.
// What the warm pool needs to keep its object loaded (index.ts adds the rest).
import { type BpfObject, hasTracepoint } from '../../libbpf/index.js';
import type { CaptureSetup } from '../capture.js';
import { boolean, integer, pattern, settingsDefaults } from '../settings.js';
import { stackTableSettings, unwindSettings } from '../stack-family/params.js';
import { configureStackTables, configureUnwinding } from '../stack-family/configure.js';

/** Task states as sched_switch reports them (prev_state), and the bit each has in the BPF filter. */
const STATE_BITS: Record<string, number> = {
  R: 0x100, // runnable: preempted or yielding
  S: 0x1, // interruptible sleep
  D: 0x2, // uninterruptible sleep (disk, locks)
  T: 0x4, // stopped
  t: 0x8, // traced
  X: 0x10, // dead
  Z: 0x20, // zombie
  P: 0x40, // parked
  I: 0x80, // idle kernel thread
};

export function stateMask(states: string): number {
  return [...new Set(states)].reduce((mask, letter) => mask | (STATE_BITS[letter] ?? 0), 0);
}

const settings = {
  states: pattern(
    /^[RSDTtXZPI]+$/,
    'states are letters of R S D T t X Z P I',
    'SDTt',
    'task states counted as off-CPU, as letters: S sleeping, D uninterruptible, T stopped (SIGSTOP, job control), t stopped by a tracer, R preempted, I idle kernel threads',
  ),
  idleSyscalls: boolean(
    false,
    "also count sleeps in syscalls that only wait for work (epoll_wait, accept, a socket's recv calls, wait4, pause, sigsuspend, timed sleeps under minSleepUs): left out by default, at half the cost per switch for an event loop (two stack walks saved), as the analysis leaves them out",
  ),
  kernelThreads: boolean(
    false,
    "also count kernel threads' own sleeps (a kworker's, ksoftirqd's): left out by default before their stack walks, as the analysis leaves them out",
  ),
  minSleepUs: integer(
    0,
    Number.MAX_SAFE_INTEGER,
    10_000,
    'timed sleeps (nanosleep, clock_nanosleep: time.sleep, usleep) asked for this long or more are counted, with the threads that slept, though idle syscalls are left out: a sleep inside a request holds its answer up (0: none)',
  ),
  minPollWaitUs: integer(
    0,
    Number.MAX_SAFE_INTEGER,
    20_000,
    "epoll waits this long or more are counted, with the threads that waited and their user stacks, though idle syscalls are left out: a program that waits for a lock or an answer through its own event loop (PostgreSQL's row locks) waits there, and only its stack tells it from an idle loop's (0: none)",
  ),
  snapshotRepeatUs: integer(
    0,
    1_000_000,
    10_000,
    "a block at the place of its thread's last user stack snapshot (the same registers, kernel stack and innermost Python frame), taken less than this long ago, reuses it: no copy sent, for threads that switch thousands of times a second (0: a snapshot per block)",
  ),
  minBlockUs: integer(0, Number.MAX_SAFE_INTEGER, 1, 'shortest block counted, in µs'),
  maxBlockUs: integer(0, Number.MAX_SAFE_INTEGER, 0, 'longest block counted, in µs (0: no limit)'),
  ...stackTableSettings('{process, thread name, stacks}', 'blocks'),
  maxThreads: integer(1024, 1_048_576, 16_384, 'threads off the CPU at once that can be timed; past it blocks are dropped (map_full)'),
  maxProcesses: integer(256, 1_048_576, 8192, 'processes announced for symbolization while alive; later ones are read at the end'),
  top: integer(1, 10_000, 20, 'stacks in the table and the text; the data keeps every stack'),
  ...unwindSettings({ userStackBytes: 8 * 1024, snapshotBufferBytes: 8 * 1024 * 1024 }),
};
const defaults = settingsDefaults(settings);

export const offcputimeSetup = {
  name: 'offcputime',
  settings,
  bpfObject: true,
  defaults,
  configure(object: BpfObject, params: typeof defaults) {
    // Long epoll waits timed at their exits: off when asked (every epoll call would still pay a lookup) or when
    // idle syscalls are counted at the switch anyway; then no start is noted either.
    const pollExits = params.minPollWaitUs > 0 && !params.idleSyscalls;
    object.setRodata({
      min_block_us: params.minBlockUs,
      max_block_us: params.maxBlockUs,
      state_mask: stateMask(params.states),
      skip_idle_syscalls: !params.idleSyscalls,
      skip_kernel_threads: !params.kernelThreads,
      min_sleep_us: params.minSleepUs,
      min_poll_wait_us: pollExits ? params.minPollWaitUs : 0,
      snapshot_repeat_ns: BigInt(params.snapshotRepeatUs) * 1000n,
    });
    configureStackTables(object, 'counts', params);
    object.setMaxEntries('starts', params.maxThreads);
    // epoll_wait is x86's alone (arm64 has epoll_pwait); epoll_pwait2 came in 5.11.
    for (const call of ['epoll_wait', 'epoll_pwait', 'epoll_pwait2'])
      if (!pollExits || !hasTracepoint('syscalls', `sys_exit_${call}`)) object.setAutoload(`tp_exit_${call}`, false);
    object.setMaxEntries('seen_tgids', params.maxProcesses);
    configureUnwinding(object, params);
  },
} satisfies CaptureSetup<typeof defaults>;
