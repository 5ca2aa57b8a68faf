// The shape of every capture. A capture is its BPF object (bpf/<name>/) plus
// one of these (src/captures/<name>/), registered in registry.ts; the runner,
// CLI, API and reports work from this interface alone.
import type { CaptureAnalyzer } from '../analysis/common.js';
import type { RuleEventSource } from '../analysis/rule-events.js';
import type { BaselineMetric } from '../analysis/types.js';
import type { TableColumn } from '../format/index.js';
import type { BpfObject, PerfEventSpec } from '../libbpf/index.js';
import type { SyscallEventSource } from '../model/syscall-event.js';
import type { DropCounts } from './contract.js';
import type { Log2Histogram } from './histogram.js';
import type { RecordLayout } from './records.js';
import type { ResolvedTarget } from './target.js';
import type { CaptureStop, CaptureTruncation } from '../model/run.js';
import type { SpoolSettings } from './event-spool.js';
import type { Settings } from './settings.js';

/**
 * The few result shapes analysis and reports understand; a capture's data is
 * an object holding its kind's field (plus anything of its own beside it):
 * - events:    { events: E[] }                  (execsnoop, opensnoop); in a worker's run
 *              { events: [], eventSpool }       the events are on disk (event-spool.ts)
 * - histogram: { histograms: LabeledHistogram[] } (tcpconnlat, runqlat, ...)
 * - counters:  { rows: R[] }                     (filetop, tcpretrans, ...)
 * - stacks:    { stacks: StackSample[] }         (profile, offcputime)
 */
export type ResultKind = 'events' | 'histogram' | 'counters' | 'stacks';

/** One histogram of a histogram-kind result, e.g. { destination: '1.2.3.4:443' }. */
export interface LabeledHistogram {
  labels: Record<string, string | number>;
  histogram: Log2Histogram;
}

/** What a capture's collector works with while its programs run (not AnalysisContext, which its analyzer gets later). */
export interface CollectContext<P> {
  object: BpfObject;
  params: P;
  target: ResolvedTarget;
  /** Without a spool: memory the kept events may take (estimated bytes); none when absent. */
  eventBudgetBytes?: number;
  /** A worker's run: where an events capture writes its events, and how many bytes it may (src/captures/event-spool.ts). */
  spool?: SpoolSettings;
  /** Sherlock's own cgroup (v2 id): a capture that finds an event's process in user space (drops in softirq context) leaves its events out. */
  excludeCgroupId?: bigint;
}

/** What a capture without a BPF object gets (see CaptureDefinition.sample). */
export type SampleContext<P> = Omit<CollectContext<P>, 'object'>;

/** Per-run state: reads ring buffers while running, maps at the end. */
export interface Collector<D> {
  /** Every drain tick while attached (every 10-80 ms, faster as the rings fill: drain-clock.ts). */
  poll?(): void;
  /** Once, the moment the window ends (before detach): read what is counted over the window itself (/proc counters). */
  windowEnded?(): void;
  /** After windowEnded: records of the window still wait in the ring (run-capture polls, a slice per event-loop turn, until none do). */
  behind?(): boolean;
  /** Once, after detach: everything left, as the capture's data (a promise when it runs tools: the event loop stays free). */
  finish(): D | Promise<D>;
  /** Always, on every path: free what collect() took (mappings). */
  close?(): void;
  /** Drops counted in user space (e.g. past the event cap). */
  drops?(): DropCounts;
  /**
   * The records kept since the last call, as finish() will store them (an
   * events-kind capture's `events`), for consumers that act while the window
   * is open (Falco rules); a collector without it is read only at the end.
   * The first call starts the stream (nothing is kept for it before).
   */
  take?(): unknown[];
  /** Set once it stopped keeping events at a budget (maxEvents, its spool or memory share). */
  truncated?(): CaptureTruncation | undefined;
  /** Records kept with a field it could not record (counted in user space), besides the kernel's count. */
  partialReads?(): number;
}

/** A collector whose data is ready at once, for captures that wrap it. */
export type SyncCollector<D> = Omit<Collector<D>, 'finish'> & { finish(): D };

/** A column of the human table (rendered by src/format/table.ts). */
export type Column<Row> = TableColumn<Row>;

/**
 * What starting a capture needs (its settings, and opening and configuring its
 * BPF object), and nothing a run needs besides (decoders, analysis): src/captures/<name>/setup.ts.
 * An idle worker holds these alone, for its warm pool (warm-pool.ts); the
 * definition (index.ts) spreads its setup and adds the rest.
 */
export interface CaptureSetup<P = unknown> {
  name: string;
  /** Capture-specific settings (its params): checked by hand where a capture starts, as zod by the API and runbooks (params-schema.ts). */
  settings: Settings;
  /** Its BPF object (bpf/<name>/); false for a capture that samples the system instead (CaptureDefinition.sample). */
  bpfObject: boolean;
  /** The params with every setting at its default. */
  defaults: P;
  /** Children of targeted processes join the target (exec is about children). */
  followForks?: boolean;
  /** Rodata, map sizes, autoload choices: between open and load. */
  configure?(object: BpfObject, params: P, target: ResolvedTarget): void;
  /** The perf event its SEC("perf_event") programs sample on. */
  perfEvent?(params: P): PerfEventSpec;
}

export interface CaptureDefinition<P = unknown, D = unknown> extends CaptureSetup<P> {
  /** One line for `sherlock capture --help`. */
  summary: string;
  kind: ResultKind;
  /** Reads its BPF object's maps and ring buffers (every capture but a sampled one). */
  collect?(context: CollectContext<P>): Collector<D>;
  /**
   * Instead of collect, for a capture with no BPF object: reads the system
   * when called (the window's start) and again in finish (its end), e.g.
   * cgroup cpu.stat. Nothing is loaded or attached; its BPF cost is zero.
   */
  sample?(context: SampleContext<P>): Collector<D>;
  /**
   * Every C struct its user space reads from the object (map keys and values,
   * ring buffer records), at the offsets its decoder uses: checked against the
   * object's BTF. A struct in bpf/<name>/<name>.h must be among them.
   */
  records?: readonly RecordLayout[];
  /** Rows and columns for the human table. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each column reads its own row type
  table(data: D): { columns: Column<any>[]; rows: unknown[] };
  /** Free text instead of the table (histograms print as bars). */
  text?(data: D): string;
  /** Raw files beside the JSON result, for bundles and `--out` (flame graph, pprof, ndjson). */
  files?(result: CaptureResult<D>): CaptureFile[];
  /** How many records or rows the data holds, for summaries and progress. */
  count(data: D): number;
  /** Its checks: findings from one node's result, and their human name ("connect latency"). */
  analysis?: { checks: string; analyze: CaptureAnalyzer };
  /** The numbers a baseline keeps from one node's result (comparable between runs). */
  baseline?(data: Record<string, unknown>): BaselineMetric[];
  /** What its events feed to runbook rules (suspicious-activity). */
  ruleEvents?: RuleEventSource;
  /** Its events as syscall events for Falco rules (src/falco/): the evt.type values and the mapper. */
  syscallEvents?: SyscallEventSource;
}

export interface CaptureFile {
  name: string;
  contentType: string;
  /** Chunks when the content is read from disk as it is stored (spooled events): never one string. */
  content: string | Buffer | Iterable<Buffer>;
}

/** What every capture run reports besides its data. */
export interface CaptureMeta {
  capture: string;
  kind: ResultKind;
  target: string;
  startedAt: string;
  durationMs: number;
  requestedDurationMs: number;
  cancelled: boolean;
  /** Detached early, over its BPF CPU budget; what it saw until then is kept. */
  stopped?: CaptureStop;
  /** Stopped keeping events at a budget; what it kept is the result, the rest counted in `drops`. */
  truncated?: CaptureTruncation;
  /** Events lost, all reasons together; `drops` splits them by reason. */
  dropped: number;
  drops: DropCounts;
  /** Records kept although a field could not be read (they say which). */
  partialReads: number;
  /** Secrets replaced by [REDACTED] in the data (src/redact), before it left the collector. */
  redactions?: number;
  /** CPU time the kernel spent in this capture's programs, and how many runs. */
  bpfCpuNs: number;
  bpfRunCount: number;
  /** Map sizes the capture ran with: its bounds. */
  bounds: Record<string, number>;
  /** warm: the object came loaded from the worker's warm pool (open and load were done before the run). */
  timings: { openMs: number; loadMs: number; attachMs: number; warm?: boolean };
}

export type CaptureResult<D = unknown> = CaptureMeta & D;

/** A node's result of one capture, or why its capture file could not be read. */
export type NodeResult = { node: string; result: CaptureResult } | { node: string; capture: string; error: string; result?: undefined };
