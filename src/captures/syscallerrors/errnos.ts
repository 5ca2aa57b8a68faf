// errno names, and which failures are the normal behaviour of healthy
// programs (a non-blocking read with nothing to read, a PATH search, a probe
// for an optional file or feature): these are counted and shown apart, never
// a warning.
import { constants } from 'node:os';

const NAMES = new Map<number, string>(Object.entries(constants.errno).map(([name, n]) => [n, name]));
NAMES.set(11, 'EAGAIN'); // EWOULDBLOCK shares it
NAMES.set(95, 'EOPNOTSUPP');
// include/linux/errno.h: never seen by programs, but seen at sys_exit before the kernel restarts the call.
const KERNEL_INTERNAL: Record<number, string> = {
  512: 'ERESTARTSYS',
  513: 'ERESTARTNOINTR',
  514: 'ERESTARTNOHAND',
  515: 'ENOIOCTLCMD',
  516: 'ERESTART_RESTARTBLOCK',
  524: 'ENOTSUPP',
};

export const errnoText = (n: number): string => NAMES.get(n) ?? KERNEL_INTERNAL[n] ?? `errno ${n}`;

/** Errors that say "not now" or "interrupted", on any call. */
const TRANSIENT = new Set([
  'EAGAIN',
  'EINTR',
  'EINPROGRESS',
  'EALREADY',
  'ERESTARTSYS',
  'ERESTARTNOINTR',
  'ERESTARTNOHAND',
  'ERESTART_RESTARTBLOCK',
  'ETIMEDOUT',
  'ECHILD',
]);
/** Calls that look something up, where "not there" is an answer (PATH search, stat before create, access checks). */
const LOOKUPS = new Set([
  'execve',
  'execveat',
  'access',
  'faccessat',
  'faccessat2',
  'stat',
  'lstat',
  'newfstatat',
  'statx',
  'readlink',
  'readlinkat',
  'getxattr',
  'lgetxattr',
  'fgetxattr',
  'listxattr',
  'llistxattr',
]);
const NOT_THERE = new Set(['ENOENT', 'ENOTDIR', 'ENODATA', 'EOPNOTSUPP', 'ENOTSUPP']);
/** Per call: answers that probe a feature or a kind of file descriptor. */
const PROBES: Record<string, Set<string>> = {
  ioctl: new Set(['ENOTTY', 'EINVAL', 'ENOIOCTLCMD', 'EOPNOTSUPP']),
  lseek: new Set(['ESPIPE']),
  futex: new Set(['EAGAIN', 'ETIMEDOUT', 'EINTR']),
  mkdir: new Set(['EEXIST']),
  mkdirat: new Set(['EEXIST']),
  wait4: new Set(['ECHILD']),
  waitid: new Set(['ECHILD']),
  rt_sigreturn: new Set(['EINTR']),
  prctl: new Set(['EINVAL']),
  recvfrom: new Set(['EAGAIN']),
  recvmsg: new Set(['EAGAIN']),
  accept: new Set(['EAGAIN']),
  accept4: new Set(['EAGAIN']),
  connect: new Set(['EINPROGRESS']),
  // Event loops (libuv: every Node process) add an fd first and modify it when it is already there,
  // and remove fds that may already be gone (closed, or never added).
  epoll_ctl: new Set(['EEXIST', 'ENOENT']),
  // fcntl(fd, F_GETFD) is how a program asks whether a descriptor is open: node and libuv at start, closefrom()'s fallbacks.
  fcntl: new Set(['EBADF']),
  // Asking a socket for its peer is how a program (Python's socket repr, a logger) asks whether it is connected.
  getpeername: new Set(['ENOTCONN']),
  readlink: new Set(['EINVAL']), // not a symlink
  readlinkat: new Set(['EINVAL']),
};

/** Paths every program's start probes and misses on a healthy host: the loader's library search, glibc's locale files. */
const PROBED_PATHS: [RegExp, string][] = [
  [/\/(glibc-hwcaps|tls|haswell|x86_64|avx512_1)\/|\.so(\.\d+)*$/, 'the dynamic loader searching its library path'],
  [/^\/usr\/(lib|share)\/locale\/|^\/usr\/lib\/x86_64-linux-gnu\/gconv\//, "glibc probing for a locale's files"],
  // GSSAPI clients (libpq, curl, ssh) ask libkrb5 for credentials at each connect: it looks for a client keytab and a ticket cache.
  [
    /^\/etc\/krb5\/user\/\d+\/client\.keytab$|^\/tmp\/krb5cc_\d+/,
    'Kerberos (libkrb5) looking for a client keytab or ticket cache, as GSSAPI clients do at each connect',
  ],
];

/** Errnos that are about a filesystem's room: their file's filesystem is looked up, and fsfill's finding about it is their cause. */
export const ROOM_ERRNOS = new Set(['ENOSPC', 'EDQUOT']);

/** Calls that make a process or thread: their EAGAIN is a limit reached, not "nothing ready yet". */
const FORKS = new Set(['fork', 'vfork', 'clone', 'clone3']);
export const isProcessLimit = (syscall: string, errno: string) => errno === 'EAGAIN' && FORKS.has(syscall);
/** connect() to a unix socket refused: EAGAIN when its listener's accept queue is full (a blocking connect waits instead), ECONNREFUSED when nothing listens on it. */
export const refusedConnect = (syscall: string, errno: string) => syscall === 'connect' && (errno === 'EAGAIN' || errno === 'ECONNREFUSED');
/** connect() finding no free local port to bind to. */
export const isPortExhaustion = (syscall: string, errno: string) => errno === 'EADDRNOTAVAIL' && syscall === 'connect';

const RAN_OUT: Record<string, string> = {
  EMFILE:
    'the process is out of file descriptors: look for a descriptor leak (ls /proc/PID/fd, sockets in CLOSE_WAIT) or raise its limit (ulimit -n, LimitNOFILE=)',
  ENFILE: 'the host is out of file descriptors: look at fs.file-max and who holds them',
  ENOSPC: 'no space left on the device: look at disk usage and inodes',
  EDQUOT: 'a quota is exhausted',
};

/**
 * When a failure says a resource ran out (descriptors, disk space, processes): what ran out and
 * where to look. Such a failure is never routine, so it is a finding at any rate.
 */
export function exhaustion(syscall: string, errno: string, unixSocket?: string): string | undefined {
  if (unixSocket && syscall === 'connect' && errno === 'EAGAIN')
    return "the listener's accept queue was full: the server does not accept connections as fast as they come (too few workers, or each request too slow), and every connect refused is a request failed (nginx: 502); give it more workers or a longer queue (its listen backlog, capped by net.core.somaxconn)";
  if (isPortExhaustion(syscall, errno))
    return 'no local port was free to connect from (net.ipv4.ip_local_port_range): connections this side closed hold theirs 60 s in TIME_WAIT; reuse connections (keep-alive, a pool) or widen the range';
  if (isProcessLimit(syscall, errno))
    return "the process limit is reached: look at its cgroup's pids.max and pids.current, RLIMIT_NPROC (ulimit -u), and the host's tasks against kernel.pid_max and kernel.threads-max";
  if (syscall.startsWith('inotify_') && errno === 'ENOSPC') return 'the inotify watch limit is reached: fs.inotify.max_user_watches, and who holds the watches';
  if (syscall.startsWith('inotify_') && errno === 'EMFILE') return 'the inotify instance limit is reached: fs.inotify.max_user_instances';
  return RAN_OUT[errno];
}

/** Why a failure is normal behaviour ("EAGAIN: nothing ready yet"), or undefined when it is not. */
export function normalReason(syscall: string, errno: string, path?: string, unixSocket?: string): string | undefined {
  if (exhaustion(syscall, errno, unixSocket)) return undefined;
  if (errno === 'EAGAIN') return 'EAGAIN on a non-blocking call: nothing ready yet';
  if (path && NOT_THERE.has(errno)) for (const [pattern, why] of PROBED_PATHS) if (pattern.test(path)) return `${errno} from ${syscall}: ${why}`;
  if (TRANSIENT.has(errno)) return `${errno}: interrupted or not finished yet`;
  if (LOOKUPS.has(syscall) && NOT_THERE.has(errno)) return `${errno} from ${syscall}: a lookup (PATH search, existence check)`;
  if (PROBES[syscall]?.has(errno)) return `${errno} from ${syscall}: a probe`;
  if (errno === 'ENOSYS') return 'ENOSYS: a probe for a newer syscall';
  return undefined;
}
