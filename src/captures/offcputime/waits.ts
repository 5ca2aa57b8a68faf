// The kernel functions threads wait in that are idle (waiting for work), and a futex wait's.
// The analysis leaves idle waits out; a block still open at the window's end is kept only outside them.
/** Where a thread waits for work: time spent here is idle, not a problem. */
export const IDLE_WAITS = new RegExp(
  '^(' +
    [
      'do_epoll_wait',
      'ep_poll',
      'do_sys_poll',
      'do_poll',
      'poll_schedule_timeout', // poll() and select() sleep here
      'do_select',
      'core_sys_select',
      'do_nanosleep',
      'hrtimer_nanosleep',
      'common_nsleep',
      'clock_nanosleep',
      'inet_csk_accept',
      'inet_csk_wait_for_connect',
      'do_wait',
      'kernel_wait4',
      'do_sigtimedwait',
      'sigsuspend',
      'sys_pause',
      '__x64_sys_pause',
      '__arm64_sys_pause',
      'pipe_read',
      'anon_pipe_read', // 6.14+
      'pipe_wait_readable',
      'sk_wait_data',
      'unix_stream_read_generic',
      'unix_stream_data_wait',
      '__skb_wait_for_more_packets',
      'n_tty_read',
      'tty_read',
      'inotify_read',
      'signalfd_dequeue',
      'eventfd_read',
      'io_cqring_wait',
      'kthread',
      'worker_thread',
      'smpboot_thread_fn',
      'rcu_gp_kthread',
      'do_idle',
      'rescuer_thread',
      'kthreadd',
      'ksoftirqd_should_run',
      'rcu_tasks_kthread',
      'watchdog',
      'kcompactd',
      'khugepaged',
      'kswapd',
    ].join('|') +
    ')$',
);
/** A timed sleep (nanosleep, clock_nanosleep): idle among IDLE_WAITS, told apart by sleeps.ts when it was inside slow answers. */
export const TIMED_SLEEP = /^(do_nanosleep|hrtimer_nanosleep|common_nsleep\w*|clock_nanosleep)$/;
/** A futex wait: a lock, a condition variable or a parked thread (only its user caller tells). */
export const FUTEX = /^(futex_wait\w*|__futex_wait\w*|futex_do_wait)$/;
/**
 * What a futex wait is, by the user code that made it. A futex is both the
 * slow path of a lock and how condition variables and idle threads sleep (glibc,
 * C++, Go's runtime, the JVM, libuv): only the caller says which.
 */
export const LOCK_CALLERS =
  /^(__lll_\w*lock\w*|___?pthread_mutex_\w*lock\w*|pthread_mutex_\w*lock\w*|___?pthread_rwlock_\w*lock\w*|pthread_rwlock_\w*lock\w*|std::mutex::lock|std::shared_mutex::\w*lock\w*|_ZNSt5mutex4lockEv|runtime\.lock2?|ObjectMonitor::\w+|\w*LWLockAcquire\w*|\w*[Ss]pin[Ll]ock\w*|parking_lot::raw_(rw)?mutex::\w+|g_mutex_lock\w*|uv_mutex_lock\w*)$/;
/**
 * Locks built over a park (their waiters sleep on a condition variable of their own, which PARK_CALLERS would take for
 * an idle thread): entering a JVM monitor (synchronized), java.util.concurrent's locks, Go's sync.Mutex. Looked for
 * before the innermost lock or park frame.
 */
export const LOCK_OVER_PARK =
  /^(ObjectMonitor::(enter|EnterI|ReenterI)\b.*|ObjectSynchronizer::enter\b.*|.*AbstractQueuedSynchronizer(\.|::)acquire\w*|.*ReentrantLock(\$\w+)?(\.|::)lock\w*|sync\.runtime_SemacquireMutex|sync\.\(\*Mutex\)\.lockSlow|sync\.\(\*RWMutex\)\.R?Lock)$/;
/**
 * Python's waits for another thread to hand something over (threading's Condition, and what waits through it: a
 * queue's get and put, an Event, a Semaphore, a Barrier, a join), built over a lock its waiter blocks on: a park
 * wherever its frame is, looked for before the innermost lock or park frame.
 */
export const PARK_OVER_LOCK = /^(Condition\.wait(_for)?|Event\.wait|(Bounded)?Semaphore\.acquire|Barrier\.wait|Queue\.(get|put)|Thread\.join)$/;
/** Entering a JVM monitor: a synchronized method or block. */
export const JVM_MONITOR_ENTER = /^ObjectMonitor::(enter|EnterI|ReenterI)\b/;
export const PARK_CALLERS =
  /^(___?pthread_cond_\w*wait\w*|pthread_cond_\w*wait\w*|std::condition_variable\w*::\w*wait\w*|std::_V2::condition_variable_any::\w*wait\w*|_ZNSt\w*condition_variable\w*wait\w*|runtime\.(futexsleep|notesleep|notetsleepg?|mPark|stopm|park_m)|Unsafe_Park|Parker::park|\w*LockSupport\.park\w*|uv_cond_\w*wait|g_cond_\w*wait\w*|parking_lot::condvar::\w+|parking_lot_core::\w*park\w*)$/;

/** A writer waiting for room in a pipe (anon_pipe_write since 6.14). */
export const PIPE_WRITE = /^(anon_)?pipe_write$/;
/** Where flock (locks_lock_inode_wait) and fcntl's F_SETLKW (fcntl_setlk) sleep. */
export const FILE_LOCK_WAIT = /^(locks_lock_inode_wait|flock_lock_inode_wait|fcntl_setlk\w*|do_lock_file_wait|posix_lock_inode_wait)$/;
/** A send waiting for its peer: room in a TCP send buffer (the peer has not acknowledged), a unix stream's buffer, a unix datagram receiver's queue. */
export const SOCKET_SEND_WAIT = /^(sk_stream_wait_memory|sock_alloc_send_pskb|sock_wait_for_wmem|unix_wait_for_peer)$/;
/** Stopped by a signal (SIGSTOP, SIGTSTP: job control) until SIGCONT. */
export const STOPPED_WAIT = /^do_signal_stop$/;
/** Stopped for its tracer (ptrace): at each system call or signal it traces, or held at a breakpoint. */
export const TRACED_WAIT = /^(ptrace_stop|do_jobctl_trap)$/;
/** Frozen by its cgroup: v1's freezer (__refrigerator), v2's cgroup.freeze (do_freezer_trap, which get_signal inlines; a stopped task's T state is not counted). */
export const FROZEN_WAIT = /^(__refrigerator|do_freezer_trap|get_signal)$/;
