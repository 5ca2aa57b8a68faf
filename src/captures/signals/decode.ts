// Decodes struct signals_event of bpf/signals/signals.h. Offsets follow the C
// struct; test/captures/signals.test.ts checks them against the header
// compiled with cc.
import { constants } from 'node:os';
import { cString, recordLayout } from '../records.js';

export const SIGNALS_SIGNAL = 1;
export const SIGNALS_EXIT = 2;

export const signalsLayout = {
  tsNs: 0,
  kind: 8,
  pid: 12,
  tid: 16,
  uid: 20,
  cgroupId: 24,
  comm: 32,
  targetPid: 48,
  targetTid: 52,
  targetCgroupId: 56,
  targetComm: 64,
  sig: 80,
  code: 84,
  result: 88,
  group: 92,
  coreDumped: 93,
  handled: 94,
  exitCode: 96,
  exitSignal: 100,
  ppid: 104,
  lifetimeNs: 112,
  size: 120,
} as const;

/** enum signals_total: indexes of the map "totals". */
export const TOTALS = { exits: 0, cleanExits: 1, ignoredSignals: 2 } as const;

export interface SignalsRecord {
  kind: typeof SIGNALS_SIGNAL | typeof SIGNALS_EXIT;
  tsNs: bigint;
  pid: number;
  tid: number;
  uid: number;
  cgroupId: bigint;
  comm: string;
  targetPid: number;
  targetTid: number;
  targetCgroupId: bigint;
  targetComm: string;
  sig: number;
  code: number;
  result: number;
  group: boolean;
  coreDumped: boolean;
  /** The target has a handler of its own for the signal. */
  handled: boolean;
  exitCode: number;
  exitSignal: number;
  ppid: number;
  lifetimeNs: bigint;
}

export function decodeSignals(data: Buffer): SignalsRecord | undefined {
  const L = signalsLayout;
  if (data.length < L.size) return undefined;
  const kind = data.readUInt32LE(L.kind);
  if (kind !== SIGNALS_SIGNAL && kind !== SIGNALS_EXIT) return undefined;
  return {
    kind,
    tsNs: data.readBigUInt64LE(L.tsNs),
    pid: data.readUInt32LE(L.pid),
    tid: data.readUInt32LE(L.tid),
    uid: data.readUInt32LE(L.uid),
    cgroupId: data.readBigUInt64LE(L.cgroupId),
    comm: cString(data, L.comm, 16),
    targetPid: data.readUInt32LE(L.targetPid),
    targetTid: data.readUInt32LE(L.targetTid),
    targetCgroupId: data.readBigUInt64LE(L.targetCgroupId),
    targetComm: cString(data, L.targetComm, 16),
    sig: data.readInt32LE(L.sig),
    code: data.readInt32LE(L.code),
    result: data.readInt32LE(L.result),
    group: data.readUInt8(L.group) === 1,
    coreDumped: data.readUInt8(L.coreDumped) === 1,
    handled: data.readUInt8(L.handled) === 1,
    exitCode: data.readInt32LE(L.exitCode),
    exitSignal: data.readInt32LE(L.exitSignal),
    ppid: data.readUInt32LE(L.ppid),
    lifetimeNs: data.readBigUInt64LE(L.lifetimeNs),
  };
}

const SIGNAL_NAMES = new Map<number, string>(Object.entries(constants.signals).map(([name, n]) => [n, name]));
SIGNAL_NAMES.set(6, 'SIGABRT'); // SIGIOT shares the number
SIGNAL_NAMES.set(29, 'SIGIO');

/** 9 → "SIGKILL"; real-time and unknown ones as "SIG34". */
export const signalName = (n: number): string => SIGNAL_NAMES.get(n) ?? `SIG${n}`;

/** "KILL", "SIGKILL", "9" → 9; undefined when it names no signal. */
export function signalNumber(name: string | number): number | undefined {
  if (typeof name === 'number') return Number.isInteger(name) && name >= 1 && name <= 63 ? name : undefined;
  const up = name.trim().toUpperCase();
  if (/^\d+$/.test(up)) return signalNumber(Number(up));
  const n = (constants.signals as Record<string, number>)[up.startsWith('SIG') ? up : `SIG${up}`];
  return n;
}

/** What si_code says about where a signal came from. */
export function signalSource(code: number): 'user' | 'kernel' | 'fault' | 'queue' | 'timer' | 'other' {
  if (code === 0 || code === -6) return 'user'; // SI_USER: kill(2); SI_TKILL: tgkill(2)
  if (code === 0x80) return 'kernel'; // SI_KERNEL
  if (code === -1) return 'queue'; // SI_QUEUE: sigqueue(3)
  if (code === -2) return 'timer'; // SI_TIMER
  if (code > 0) return 'fault'; // SEGV_MAPERR, BUS_ADRERR, FPE_INTDIV, ... (or CLD_* for SIGCHLD)
  return 'other';
}

const RESULTS = ['delivered', 'ignored', 'already pending', 'overflow', 'lost info'];
export const resultName = (n: number): string => RESULTS[n] ?? `result ${n}`;

/** The same offsets under the C member names, checked against the object's BTF (test/architecture/record-layouts.test.ts). */
const L = signalsLayout;
export const eventRecord = recordLayout(
  'signals_event',
  L.size,
  {
    ts_ns: L.tsNs,
    kind: L.kind,
    pid: L.pid,
    tid: L.tid,
    uid: L.uid,
    cgroup_id: L.cgroupId,
    comm: L.comm,
    target_pid: L.targetPid,
    target_tid: L.targetTid,
    target_cgroup_id: L.targetCgroupId,
    target_comm: L.targetComm,
    sig: L.sig,
    code: L.code,
    result: L.result,
    group: L.group,
    core_dumped: L.coreDumped,
    handled: L.handled,
    pad: L.handled + 1,
    exit_code: L.exitCode,
    exit_signal: L.exitSignal,
    ppid: L.ppid,
    lifetime_ns: L.lifetimeNs,
  },
  { comm: 16, target_comm: 16 },
);
