// Decodes bpf/opensnoop/opensnoop.h records (at eventLayout's offsets, checked
// against the object's BTF) and names open(2) flags.
import { cString, recordLayout } from '../records.js';

/** struct opensnoop_event; only path_len bytes of path are sent. */
export const eventLayout = recordLayout(
  'opensnoop_event',
  4184,
  {
    ts_ns: 0,
    flags: 8,
    cgroup_id: 16,
    memcg_id: 24,
    pid: 32,
    tid: 36,
    uid: 40,
    ret: 44,
    dirfd: 48,
    mode: 52,
    syscall: 56,
    path_len: 60,
    rec_flags: 64,
    comm: 72,
    path: 88,
  },
  { comm: 16, path: 4096 },
);

export const PATH_PARTIAL = 1;
export const HOW_PARTIAL = 2;
export const AT_FDCWD = -100;

const syscalls: Record<number, OpenSyscall> = { 1: 'open', 2: 'openat', 3: 'openat2' };
export type OpenSyscall = 'open' | 'openat' | 'openat2';

export interface OpenRecord {
  tsNs: bigint;
  flags: bigint;
  cgroupId: bigint;
  /** The memory controller's cgroup (a v1 hierarchy on a hybrid host): names the container without /proc. */
  memcgId: bigint;
  pid: number;
  tid: number;
  uid: number;
  ret: number;
  dirfd: number;
  mode: number;
  syscall: OpenSyscall;
  comm: string;
  path: string;
  recFlags: number;
}

export function decodeEvent(data: Buffer): OpenRecord | undefined {
  const L = eventLayout.offsets;
  if (data.length < L.path) return undefined;
  const pathLen = Math.min(data.readUInt32LE(L.path_len), data.length - L.path, eventLayout.lengths.path);
  return {
    tsNs: data.readBigUInt64LE(L.ts_ns),
    flags: data.readBigUInt64LE(L.flags),
    cgroupId: data.readBigUInt64LE(L.cgroup_id),
    memcgId: data.readBigUInt64LE(L.memcg_id),
    pid: data.readUInt32LE(L.pid),
    tid: data.readUInt32LE(L.tid),
    uid: data.readUInt32LE(L.uid),
    ret: data.readInt32LE(L.ret),
    dirfd: data.readInt32LE(L.dirfd),
    mode: data.readUInt32LE(L.mode),
    syscall: syscalls[data.readUInt32LE(L.syscall)] ?? 'openat',
    comm: cString(data, L.comm, eventLayout.lengths.comm),
    path: cString(data, L.path, pathLen),
    recFlags: data.readUInt32LE(L.rec_flags),
  };
}

// include/uapi/asm-generic/fcntl.h (x86, most others); arm64 moves four of them.
const genericFlags: Array<[string, number]> = [
  ['O_CREAT', 0o100],
  ['O_EXCL', 0o200],
  ['O_NOCTTY', 0o400],
  ['O_TRUNC', 0o1000],
  ['O_APPEND', 0o2000],
  ['O_NONBLOCK', 0o4000],
  ['O_DSYNC', 0o10000],
  ['O_ASYNC', 0o20000],
  ['O_DIRECT', 0o40000],
  ['O_LARGEFILE', 0o100000],
  ['O_DIRECTORY', 0o200000],
  ['O_NOFOLLOW', 0o400000],
  ['O_NOATIME', 0o1000000],
  ['O_CLOEXEC', 0o2000000],
  ['O_SYNC', 0o4000000], // __O_SYNC; O_SYNC is __O_SYNC|O_DSYNC
  ['O_PATH', 0o10000000],
  ['O_TMPFILE', 0o20000000], // __O_TMPFILE; O_TMPFILE is __O_TMPFILE|O_DIRECTORY
];
const arm64Moved: Record<string, number> = { O_DIRECTORY: 0o40000, O_NOFOLLOW: 0o100000, O_DIRECT: 0o200000, O_LARGEFILE: 0o400000 };

const flagTable = (arch: string): Array<[string, number]> =>
  arch === 'arm64' ? genericFlags.map(([name, bit]) => [name, arm64Moved[name] ?? bit]) : genericFlags;

export const O_CREAT = 0o100;
export const O_TMPFILE_BIT = 0o20000000;

/** "O_RDONLY|O_CLOEXEC": the access mode, then each flag; unknown bits as hex. */
export function flagNames(flags: number | bigint, arch: string = process.arch): string {
  let rest = BigInt(flags);
  const access = Number(rest & 3n);
  const names = [['O_RDONLY', 'O_WRONLY', 'O_RDWR', 'O_ACCMODE'][access] as string];
  rest &= ~3n;
  const table = flagTable(arch);
  const bit = (name: string) => BigInt(table.find(([n]) => n === name)![1]);
  // Composite flags print once: O_SYNC hides its O_DSYNC, O_TMPFILE its O_DIRECTORY.
  if (rest & bit('O_SYNC')) rest &= ~bit('O_DSYNC');
  if (rest & bit('O_TMPFILE')) rest &= ~bit('O_DIRECTORY');
  for (const [name, value] of table) {
    const b = BigInt(value);
    if (rest & b) {
      names.push(name);
      rest &= ~b;
    }
  }
  if (rest) names.push(`0x${rest.toString(16)}`);
  return names.join('|');
}

/** Does this open create a file (so its mode means something)? */
export function createsFile(flags: number | bigint, arch: string = process.arch): boolean {
  const f = BigInt(flags);
  const tmpfile = BigInt(flagTable(arch).find(([n]) => n === 'O_TMPFILE')![1]);
  return (f & BigInt(O_CREAT)) !== 0n || (f & tmpfile) !== 0n;
}
