// What every part of a report (manifest, summary, HTML, raw files) works from:
// the run record, its nodes in a stable order with their bundle directories,
// kernels, findings, the baseline comparison, and capture results loaded one
// at a time on demand. The
// meta of each capture (drops by reason, BPF run counts, timings; no data) is
// remembered as results are loaded, for the manifest.
import type { Finding } from '../model/findings.js';
import { sortFindings as sortByRank } from '../analysis/rank.js';
import type { BaselineComparison } from '../model/baseline.js';
import type { CaptureMeta, CaptureResult } from '../captures/capture.js';
import type { CaptureSummary, NodeState, RunRecord } from '../model/run.js';
import { SegmentAllocator, safeSegment } from './names.js';
import type { ByteBudget } from '../util/byte-budget.js';
import { StringDecoder } from 'node:string_decoder';
import { streamArtifact, type ArtifactSource, type BaselineLoader, type FindingsLoader } from './source.js';
import { DEFAULT_KEEP_BYTES, StreamedResultReader, type StreamedResult, type StreamedResultOptions } from './streamed-result.js';

export interface ReportNode {
  name: string;
  /** Its directory in the bundle: nodes/<dir>/ (the name itself when it is a valid node name). */
  dir: string;
  state: NodeState;
  kernel?: string;
  /** Where the kernel came from: the worker's own record of the run, or the latest heartbeat. */
  kernelSource?: 'worker' | 'heartbeat';
  captures: CaptureSummary[];
}

/** A capture result's meta, without its data. */
export type CaptureDigest = Partial<CaptureMeta>;

export interface ReportContext {
  run: RunRecord;
  /** The bundle's top directory: sherlock-<runId>. */
  root: string;
  nodes: ReportNode[];
  /** Sorted: severity, then score (worst first). Undefined: analysis has not run. */
  findings: Finding[] | undefined;
  /** The run beside its nodes' latest baselines; undefined when none was stored. */
  baseline: BaselineComparison | undefined;
  generatedAt: Date;
  source: ArtifactSource;
  /** Meta of every capture result loaded so far, by node then capture. */
  digests: Map<string, Map<string, CaptureDigest>>;
  /**
   * A capture's stored result read as a stream (streamed-result.ts: its arrays
   * cut to their first rows, `stream` given every element of one of them);
   * undefined if it failed or its artifact is gone.
   */
  readResult(node: ReportNode, capture: CaptureSummary, stream?: StreamedResultOptions['stream']): Promise<StreamedResult | undefined>;
  /** JSON text of one result kept parsed at once (load.reportParseMiB). */
  keepBytes: number;
  /** The most any readResult kept parsed, and the largest single text it held (both at most keepBytes). */
  parsed: { keptBytes: number; largestText: number };
  /** Called before a capture's result is loaded, outside the gate (the bundle writes the capture's files here, at its reader's pace). */
  beforeResult?(node: ReportNode, capture: CaptureSummary): Promise<void>;
  /** A capture's stored result size, uncompressed (0 if there is none): its weight in resultGate. */
  resultBytes(node: ReportNode, capture: CaptureSummary): Promise<number>;
  /**
   * Bounds the bytes of capture results parsed at once in this process,
   * whatever the number of reports being drawn: held from loading a result
   * until its part of the page is drawn (parsing and drawing take several
   * times the JSON's size in heap).
   */
  resultGate?: ByteBudget;
}

/** Findings in the one order analysis gave them (src/analysis/rank.ts); a stored list is shown as stored. */
export const sortFindings = (findings: Finding[]): Finding[] => sortByRank([...findings]);

/** The fields every capture result carries besides its data (CaptureMeta). */
export const META_FIELDS: readonly (keyof CaptureMeta)[] = [
  'capture',
  'kind',
  'target',
  'startedAt',
  'durationMs',
  'requestedDurationMs',
  'cancelled',
  'stopped',
  'dropped',
  'drops',
  'partialReads',
  'bpfCpuNs',
  'bpfRunCount',
  'bounds',
  'timings',
];

export function digestOf(result: CaptureResult<unknown>): CaptureDigest {
  const digest: Record<string, unknown> = {};
  for (const field of META_FIELDS) if (field in (result as object)) digest[field] = (result as unknown as Record<string, unknown>)[field];
  return digest as CaptureDigest;
}

export interface PrepareOptions {
  run: RunRecord;
  source: ArtifactSource;
  loadFindings?: FindingsLoader;
  loadBaseline?: BaselineLoader;
  now?: Date;
  /** Shared by every report this process draws (see ReportContext.resultGate). */
  resultGate?: ByteBudget;
  /** ReportContext.keepBytes (default DEFAULT_KEEP_BYTES). */
  keepBytes?: number;
}

/** Gathers what the report needs besides capture data: nodes, kernels, findings. */
export async function prepareReport(options: PrepareOptions): Promise<ReportContext> {
  const { run, source } = options;
  const dirs = new SegmentAllocator();
  const names = [...new Set([...(run.plan.nodes ?? []), ...Object.keys(run.nodes)])].sort((a, b) => a.localeCompare(b));
  const nodes: ReportNode[] = [];
  for (const name of names) {
    const state: NodeState = run.nodes[name] ?? { status: 'queued' };
    const recorded = (state as NodeState & { kernel?: unknown }).kernel;
    let kernel: string | undefined;
    let kernelSource: ReportNode['kernelSource'];
    if (typeof recorded === 'string' && recorded) {
      kernel = recorded;
      kernelSource = 'worker';
    } else {
      kernel = await source.heartbeatKernel(name).catch(() => undefined);
      if (kernel) kernelSource = 'heartbeat';
    }
    nodes.push({
      name,
      dir: dirs.get(name),
      state,
      ...(kernel ? { kernel, kernelSource } : {}),
      captures: Array.isArray(state.captures) ? state.captures : [],
    });
  }
  const loaded = options.loadFindings ? await options.loadFindings(run.id) : undefined;
  const baseline = options.loadBaseline ? await options.loadBaseline(run.id) : undefined;
  const digests = new Map<string, Map<string, CaptureDigest>>();
  const context: ReportContext = {
    run,
    root: `sherlock-${safeSegment(run.id)}`,
    nodes,
    findings: loaded ? sortFindings(loaded) : undefined,
    baseline,
    generatedAt: options.now ?? new Date(),
    source,
    digests,
    ...(options.resultGate ? { resultGate: options.resultGate } : {}),
    async resultBytes(node, capture) {
      if (capture.error || !capture.artifact) return 0;
      return (await source.meta(node.name, capture.artifact))?.bytes ?? 0;
    },
    keepBytes: options.keepBytes ?? DEFAULT_KEEP_BYTES,
    parsed: { keptBytes: 0, largestText: 0 },
    async readResult(node, capture, stream) {
      if (capture.error || !capture.artifact) return undefined;
      const meta = await source.meta(node.name, capture.artifact);
      if (!meta) return undefined;
      const reader = new StreamedResultReader({ keepBytes: context.keepBytes, ...(stream ? { stream } : {}) });
      const decoder = new StringDecoder('utf8');
      await streamArtifact(source, node.name, meta, (chunk) => reader.push(decoder.write(chunk)));
      reader.push(decoder.end());
      const read = reader.finish();
      context.parsed.keptBytes = Math.max(context.parsed.keptBytes, read.keptBytes);
      context.parsed.largestText = Math.max(context.parsed.largestText, read.largestText);
      recordDigest(context, node, capture.capture, read.result as unknown as CaptureResult<unknown>);
      return read;
    },
  };
  return context;
}

/** Remembers a loaded result's meta (the first time) for the manifest. */
export function recordDigest(ctx: ReportContext, node: ReportNode, capture: string, result: CaptureResult<unknown>): void {
  let byCapture = ctx.digests.get(node.name);
  if (!byCapture) ctx.digests.set(node.name, (byCapture = new Map()));
  if (!byCapture.has(capture)) byCapture.set(capture, digestOf(result));
}

/** Bundle path (inside the top directory) of a node's file. */
export const nodeFilePath = (node: ReportNode, file: string): string => `nodes/${node.dir}/${safeSegment(file)}`;
