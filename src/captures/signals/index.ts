// signals: who sent which signal to whom, and how processes ended (exit
// code, or the signal and whether it dumped core). Records go through a ring
// buffer (bpf/signals/signals.bpf.c): the signals asked for (the fatal ones
// by default) and the ends with a non-zero status; clean ends are counted.
import { type BpfObject } from '../../libbpf/index.js';
import { kernelClock } from '../../util/clock.js';
import type { CaptureDefinition, Column } from '../capture.js';
import { eventIdentities } from '../../cgroups/process-cgroup.js';
import { eventCollector, eventCount, eventFiles } from '../event-stream.js';
import type { SpooledEvents } from '../event-spool.js';
import { decodeSignals, eventRecord, resultName, signalName, signalSource, SIGNALS_SIGNAL, TOTALS, type SignalsRecord } from './decode.js';
import { signalsAnalysis } from './analyze.js';
import { signalsBaseline } from './baseline.js';
import { SIGNAL_EVENT_TYPES, signalsEvents } from './syscall-events.js';
import { signalsSetup } from './setup.js';

export type SignalsParams = typeof signalsSetup.defaults;

export interface SignalEvent {
  kind: 'signal';
  time: string;
  signal: string;
  /** kill: a process called kill/tgkill; kernel: the kernel sent it (OOM killer, rlimit, ...); fault: the target's own fault (SIGSEGV, SIGBUS, ...). */
  source: ReturnType<typeof signalSource>;
  code: number;
  /** delivered, ignored, already pending, ... */
  result: string;
  /** The target handles it itself (a handler of its own: a JVM's SIGSEGV is its safepoint polls and null checks, not a crash). */
  handled?: boolean;
  /** The sender (the current task when it was generated). */
  pid: number;
  tid: number;
  uid: number;
  comm: string;
  cgroupId: string;
  /** The sender's cgroup and container (set by eventCollector). */
  cgroup?: string;
  container?: string;
  targetPid: number;
  targetTid: number;
  targetComm: string;
  targetCgroupId: string;
  targetCgroup?: string;
  targetContainer?: string;
}

export interface ExitEvent {
  kind: 'exit';
  time: string;
  pid: number;
  ppid: number;
  uid: number;
  comm: string;
  cgroupId: string;
  /** Its cgroup and container (set by eventCollector). */
  cgroup?: string;
  container?: string;
  /** exit(N); 0 when a signal ended it. */
  exitCode: number;
  /** The signal that ended it ("SIGSEGV"), when one did. */
  signal?: string;
  coreDumped: boolean;
  lifetimeMs: number;
}

export type SignalsEvent = SignalEvent | ExitEvent;

export interface SignalsData {
  /** All of them, or none when they were spooled (a worker's run): then eventSpool holds them. */
  events: SignalsEvent[];
  eventSpool?: SpooledEvents<SignalsEvent>;
  /** Processes that ended in the window; clean ones (status 0) are only counted unless allExits. */
  exits: number;
  cleanExits: number;
  /** Selected signals the target ignored (not recorded). */
  ignoredSignals: number;
}

function toEvent(r: SignalsRecord, toWallMs: (ns: bigint) => number): SignalsEvent {
  const time = new Date(toWallMs(r.tsNs)).toISOString();
  if (r.kind === SIGNALS_SIGNAL) {
    return {
      kind: 'signal',
      time,
      signal: signalName(r.sig),
      source: signalSource(r.code),
      code: r.code,
      result: resultName(r.result),
      ...(r.handled ? { handled: true } : {}),
      pid: r.pid,
      tid: r.tid,
      uid: r.uid,
      comm: r.comm,
      cgroupId: r.cgroupId.toString(),
      targetPid: r.targetPid,
      targetTid: r.targetTid,
      targetComm: r.targetComm,
      targetCgroupId: r.targetCgroupId.toString(),
    };
  }
  return {
    kind: 'exit',
    time,
    pid: r.pid,
    ppid: r.ppid,
    uid: r.uid,
    comm: r.comm,
    cgroupId: r.cgroupId.toString(),
    exitCode: r.exitSignal ? 0 : r.exitCode,
    ...(r.exitSignal ? { signal: signalName(r.exitSignal) } : {}),
    coreDumped: r.coreDumped,
    lifetimeMs: Number(r.lifetimeNs) / 1e6,
  };
}

/** The target's cgroup and container, found as eventCollector finds the sender's (cgroup v2 id, else /proc), while it most likely still runs. */
function withTargetCgroup(e: SignalsEvent, identityOf: ReturnType<typeof eventIdentities>): SignalsEvent {
  if (e.kind !== 'signal') return e;
  const identity = identityOf({ pid: e.targetPid, cgroupId: e.targetCgroupId });
  if (!identity) return e;
  e.targetCgroup = identity.cgroup;
  e.targetContainer = identity.containerId;
  return e;
}

function readTotals(object: BpfObject): Pick<SignalsData, 'exits' | 'cleanExits' | 'ignoredSignals'> {
  const map = object.map('totals');
  const read = (index: number) => {
    const key = Buffer.alloc(4);
    key.writeUInt32LE(index);
    const value = map.lookup(key);
    return value ? map.perCpuValues(value).reduce((sum, v) => sum + Number(v.readBigUInt64LE(0)), 0) : 0;
  };
  return { exits: read(TOTALS.exits), cleanExits: read(TOTALS.cleanExits), ignoredSignals: read(TOTALS.ignoredSignals) };
}

export const signals: CaptureDefinition<SignalsParams, SignalsData> = {
  ...signalsSetup,
  summary: 'signals sent (who to whom) and how processes ended: exit codes, fatal signals, core dumps',
  kind: 'events',
  records: [eventRecord],
  analysis: signalsAnalysis,
  baseline: signalsBaseline,
  syscallEvents: { types: SIGNAL_EVENT_TYPES, events: signalsEvents, complete: true },

  collect({ object, params, eventBudgetBytes, spool }) {
    const toWallMs = kernelClock();
    const identityOf = eventIdentities();
    const ended = new Set<number>(); // older kernels may report one end twice (two threads both last)
    const events = eventCollector<SignalsEvent>(
      object,
      'signals',
      { maxEvents: params.maxEvents, ...(eventBudgetBytes !== undefined ? { memoryBytes: eventBudgetBytes } : {}), ...(spool ? { spool } : {}) },
      (data, keep) => {
        const r = decodeSignals(data);
        if (!r) return;
        if (r.kind !== SIGNALS_SIGNAL) {
          if (ended.has(r.pid)) return;
          ended.add(r.pid);
        }
        keep(withTargetCgroup(toEvent(r, toWallMs), identityOf));
      },
    );
    return { ...events, finish: () => ({ ...events.finish(), ...readTotals(object) }) };
  },

  table: ({ events, eventSpool }) => ({ columns, rows: eventSpool ? [...eventSpool] : events }),
  files: eventFiles,
  count: eventCount,
};

const how = (e: SignalsEvent) =>
  e.kind === 'signal'
    ? `${e.signal} → ${e.targetComm} (${e.targetPid}) [${e.source}${e.handled ? ', handled by it' : ''}${e.result === 'delivered' ? '' : `, ${e.result}`}]`
    : e.signal
      ? `ended by ${e.signal}${e.coreDumped ? ' (core dumped)' : ''}`
      : `exit ${e.exitCode}`;

const columns: Column<SignalsEvent>[] = [
  { header: 'TIME', value: (e) => e.time.slice(11, 23) },
  { header: 'PID', value: (e) => String(e.pid), numeric: true },
  { header: 'COMM', value: (e) => e.comm || '-' },
  { header: 'EVENT', value: how },
];
