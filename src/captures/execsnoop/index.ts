// execsnoop: every exec inside the window (failed ones too), with argv, and
// the exit code and lifetime of the processes that end inside it.
import { MEMCG_ID } from '../../cgroups/process-cgroup.js';
import { errnoName } from '../../libbpf/index.js';
import { kernelClock } from '../../util/clock.js';
import { eventCollector, eventCount, eventFiles } from '../event-stream.js';
import type { SpooledEvents } from '../event-spool.js';
import type { CaptureDefinition, Column } from '../capture.js';
import { decodeRecord, EXECSNOOP_EXEC, execLayout, exitLayout, headerLayout, type ExecRecord } from './decode.js';
import { execsnoopEvents } from './syscall-events.js';
import { execsnoopAnalysis, execRecords } from './analyze.js';
import { PathSearchFolder } from './path-search.js';
import { execsnoopSetup } from './setup.js';

export type ExecsnoopParams = typeof execsnoopSetup.defaults;

export interface ExecEvent {
  time: string;
  pid: number;
  tid: number;
  ppid: number;
  uid: number;
  comm: string;
  /** The caller's comm before exec (the parent program, usually). */
  pcomm: string;
  /**
   * filename and argv: after a successful exec, what the kernel used (argv as
   * the new image sees it: for a #! script, interpreter, script, arguments);
   * after a failed one, what execve was passed.
   */
  filename: string;
  argv: string[];
  /** More than 20 arguments, a long one cut, or a part that could not be read. */
  argsTruncated: boolean;
  /** 0, or -errno when the exec failed; `error` names it. */
  retval: number;
  error?: string;
  /**
   * execve calls this event stands for, when more than one: a PATH search
   * (execvp, env, dash) that missed attempts - 1 directories first, folded
   * into its successful exec, or into one failed exec if nothing was found.
   */
  attempts?: number;
  /** Up to 3 of the paths tried before, when folded. */
  triedPaths?: string[];
  cgroupId: string;
  /** For the container lookup only (not serialized): the memory controller's cgroup. */
  [MEMCG_ID]?: bigint;
  /** Set when the process ended inside the window. */
  exitCode?: number;
  exitSignal?: number;
  lifetimeMs?: number;
}

export interface ExecsnoopData {
  /** All of them, or none when they were spooled (a worker's run): then eventSpool holds them. */
  events: ExecEvent[];
  eventSpool?: SpooledEvents<ExecEvent>;
}

export const execsnoop: CaptureDefinition<ExecsnoopParams, ExecsnoopData> = {
  ...execsnoopSetup,
  summary: 'process execs with argv, exit codes and lifetimes',
  kind: 'events',
  analysis: execsnoopAnalysis,
  ruleEvents: { kind: 'exec', records: execRecords },
  syscallEvents: { types: ['execve'], events: execsnoopEvents },

  records: [headerLayout, execLayout, exitLayout],

  collect({ object, params, eventBudgetBytes, spool }) {
    const toWallMs = kernelClock();
    const lastExecOfPid = new Map<number, ExecEvent>();
    const pathSearches = new PathSearchFolder<ExecEvent>();
    return eventCollector<ExecEvent>(
      object,
      'execsnoop',
      { maxEvents: params.maxEvents, ...(eventBudgetBytes !== undefined ? { memoryBytes: eventBudgetBytes } : {}), ...(spool ? { spool } : {}), amends: true },
      (data, keep, amend) => {
        const record = decodeRecord(data);
        if (!record) return;
        if (record.kind === EXECSNOOP_EXEC) {
          for (const settled of pathSearches.add(toEvent(record, toWallMs))) {
            const event = keep(settled);
            if (event && event.retval === 0) lastExecOfPid.set(event.pid, event);
          }
          return;
        }
        const event = lastExecOfPid.get(record.pid);
        if (!event) return; // its exec was past the cap
        amend(event, { exitCode: record.exitCode, exitSignal: record.exitSignal, lifetimeMs: Number(record.lifetimeNs) / 1e6 });
        lastExecOfPid.delete(record.pid);
      },
      (keep) => {
        // Misses still waiting for their thread's next exec: each becomes one failed exec.
        for (const settled of pathSearches.flush()) keep(settled);
      },
    );
  },

  table: ({ events, eventSpool }) => ({ columns, rows: eventSpool ? [...eventSpool] : events }),
  count: eventCount,
  files: eventFiles,
};

function toEvent(r: ExecRecord, toWallMs: (ns: bigint) => number): ExecEvent {
  return {
    time: new Date(toWallMs(r.tsNs)).toISOString(),
    pid: r.pid,
    tid: r.tid,
    ppid: r.ppid,
    uid: r.uid,
    comm: r.comm,
    pcomm: r.pcomm,
    filename: r.filename,
    argv: r.argv,
    argsTruncated: r.argsTruncated,
    retval: r.retval,
    ...(r.retval < 0 ? { error: errnoName(r.retval) } : {}),
    cgroupId: r.cgroupId.toString(),
    [MEMCG_ID]: r.memcgId,
  };
}

const exitText = (e: ExecEvent) => (e.exitSignal ? `sig${e.exitSignal}` : e.exitCode === undefined ? '-' : String(e.exitCode));

const columns: Column<ExecEvent>[] = [
  { header: 'TIME', value: (e) => e.time.slice(11, 23) },
  { header: 'COMM', value: (e) => e.comm },
  { header: 'PID', value: (e) => String(e.pid), numeric: true },
  { header: 'PPID', value: (e) => String(e.ppid), numeric: true },
  { header: 'UID', value: (e) => String(e.uid), numeric: true },
  { header: 'RET', value: (e) => e.error ?? String(e.retval) },
  { header: 'EXIT', value: exitText },
  { header: 'LIFETIME', value: (e) => (e.lifetimeMs === undefined ? '-' : `${e.lifetimeMs.toFixed(1)}ms`), numeric: true },
  { header: 'ARGS', value: (e) => (e.argv.length ? e.argv.join(' ') : e.filename) + (e.argsTruncated ? ' ...' : '') },
];
