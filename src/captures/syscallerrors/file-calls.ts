// The syscalls whose failure is about a path, and which argument holds it
// (0-based): the kernel side reads that argument only for these (map path_args).
import { SYSCALL_NAMES } from './syscall-names.generated.js';

export const PATH_ARGUMENT: Record<string, number> = {
  open: 0,
  creat: 0,
  openat: 1,
  openat2: 1,
  open_tree: 1,
  name_to_handle_at: 1,
  stat: 0,
  lstat: 0,
  newfstatat: 1,
  statx: 1,
  statfs: 0,
  access: 0,
  faccessat: 1,
  faccessat2: 1,
  execve: 0,
  execveat: 1,
  uselib: 0,
  chdir: 0,
  chroot: 0,
  unlink: 0,
  unlinkat: 1,
  rmdir: 0,
  mkdir: 0,
  mkdirat: 1,
  mknod: 0,
  mknodat: 1,
  rename: 0,
  renameat: 1,
  renameat2: 1,
  link: 0,
  linkat: 1,
  symlink: 1,
  symlinkat: 2,
  readlink: 0,
  readlinkat: 1,
  truncate: 0,
  chmod: 0,
  fchmodat: 1,
  fchmodat2: 1,
  chown: 0,
  lchown: 0,
  fchownat: 1,
  utimes: 0,
  utimensat: 1,
  futimesat: 1,
  getxattr: 0,
  lgetxattr: 0,
  setxattr: 0,
  lsetxattr: 0,
  listxattr: 0,
  llistxattr: 0,
  removexattr: 0,
  lremovexattr: 0,
  mount: 1,
  umount2: 0,
  swapon: 0,
  swapoff: 0,
  inotify_add_watch: 1,
};

/**
 * The syscalls whose failure is about a file descriptor, and which argument
 * holds it (0-based): the kernel keeps the fd (map fd_args) so user space can
 * say what it points to. sendfile and splice: the output side (EPIPE, ENOSPC).
 */
export const FD_ARGUMENT: Record<string, number> = {
  read: 0,
  write: 0,
  pread64: 0,
  pwrite64: 0,
  readv: 0,
  writev: 0,
  preadv: 0,
  pwritev: 0,
  preadv2: 0,
  pwritev2: 0,
  fsync: 0,
  fdatasync: 0,
  sync_file_range: 0,
  syncfs: 0,
  ftruncate: 0,
  fallocate: 0,
  fadvise64: 0,
  fstatfs: 0,
  fchmod: 0,
  fchown: 0,
  fsetxattr: 0,
  fcntl: 0,
  flock: 0,
  getdents64: 0,
  sendfile: 0,
  splice: 2,
  tee: 1,
  copy_file_range: 2,
  ioctl: 0,
  sendto: 0,
  sendmsg: 0,
  sendmmsg: 0,
  recvfrom: 0,
  recvmsg: 0,
  recvmmsg: 0,
  connect: 0,
  bind: 0,
  listen: 0,
  accept: 0,
  accept4: 0,
  shutdown: 0,
  getpeername: 0,
  setsockopt: 0,
};

/** Syscall names of this machine's architecture, by number. */
export function syscallNames(arch: string = process.arch): Record<number, string> {
  return SYSCALL_NAMES[arch] ?? {};
}

/**
 * The syscalls given a socket address, and which argument holds it (0-based;
 * its length is the next): the kernel keeps a unix socket's name (map
 * address_args), so a client failing to reach a local server names it.
 */
export const ADDRESS_ARGUMENT: Record<string, number> = {
  connect: 1,
  bind: 1,
  sendto: 4,
};

/** Lock calls: EAGAIN (or EACCES) from them is a lock another process holds, so their fd is kept for every errno. */
export const LOCK_CALLS = new Set(['fcntl', 'flock']);
/** SYSCALLERRORS_FD_EVEN_ROUTINE: the flag in fd_args that says so. */
export const FD_EVEN_ROUTINE = 0x80;

/**
 * nr → 1 + argument index of `args` (PATH_ARGUMENT, FD_ARGUMENT, ADDRESS_ARGUMENT), for the maps path_args, fd_args
 * and address_args (numbers below maxNr); `evenRoutine` calls get FD_EVEN_ROUTINE too.
 */
export function argumentTable(
  args: Record<string, number>,
  maxNr: number,
  arch: string = process.arch,
  evenRoutine: ReadonlySet<string> = new Set(),
): Map<number, number> {
  const table = new Map<number, number>();
  for (const [nr, name] of Object.entries(syscallNames(arch))) {
    const arg = args[name];
    if (arg !== undefined && Number(nr) < maxNr) table.set(Number(nr), (arg + 1) | (evenRoutine.has(name) ? FD_EVEN_ROUTINE : 0));
  }
  return table;
}

/** Syscalls that open a file (for the runbook rules' open events). */
export const OPEN_CALLS = new Set(['open', 'creat', 'openat', 'openat2']);
