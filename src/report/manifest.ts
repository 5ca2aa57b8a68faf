// manifest.json: what the bundle is about and what it holds. The run (who
// asked, why, what, where, when), every node with its kernel and timings, and
// per capture its events, drops and the kernel-measured BPF CPU cost, plus the
// bundle path and size of every file.
import type { ArtifactMeta } from '../redis/artifacts.js';
import type { CaptureSummary } from '../model/run.js';
import type { CaptureDigest, ReportContext, ReportNode } from './model.js';
import { nodeFilePath } from './model.js';

export const MANIFEST_FORMAT = 'sherlock-report/1';

/** One stored artifact of a node as it goes into the bundle. */
export interface PlannedFile {
  node: ReportNode;
  /** Artifact name as the worker stored it (the capture's own file name). */
  name: string;
  /** Path inside the bundle's top directory. */
  path: string;
  capture: string;
  /** Undefined when the artifact has expired or was never stored. */
  meta: ArtifactMeta | undefined;
}

/** Every artifact a node's captures list, with its stored meta: the `<capture>.json` first, then its raw files. */
export async function planNodeFiles(ctx: ReportContext): Promise<PlannedFile[]> {
  const planned: PlannedFile[] = [];
  for (const node of ctx.nodes) {
    const seen = new Set<string>();
    for (const capture of node.captures) {
      const names = [capture.artifact, ...(capture.files ?? [])].filter((n): n is string => typeof n === 'string' && n !== '');
      for (const name of names) {
        if (seen.has(name)) continue;
        seen.add(name);
        planned.push({ node, name, path: nodeFilePath(node, name), capture: capture.capture, meta: undefined });
      }
    }
    // The Falco alerts of the node's rules (falco-alerts.ndjson), beside its captures.
    const alerts = node.state.falco?.alertsFile;
    if (alerts && !seen.has(alerts)) planned.push({ node, name: alerts, path: nodeFilePath(node, alerts), capture: 'falco', meta: undefined });
  }
  // Metas in parallel batches: one round trip each, thousands for big runs.
  for (let i = 0; i < planned.length; i += 64) {
    const batch = planned.slice(i, i + 64);
    const metas = await Promise.all(batch.map((f) => ctx.source.meta(f.node.name, f.name)));
    batch.forEach((f, k) => (f.meta = metas[k]));
  }
  // Two names that sanitize alike within one node directory: keep both, apart.
  const taken = new Set<string>();
  for (const file of planned) {
    let path = file.path;
    for (let n = 2; taken.has(path); n++) path = `${file.path}~${n}`;
    file.path = path;
    taken.add(path);
  }
  return planned;
}

const msBetween = (a?: string, b?: string): number | undefined => {
  const d = a && b ? Date.parse(b) - Date.parse(a) : NaN;
  return Number.isFinite(d) ? d : undefined;
};

function captureEntry(capture: CaptureSummary, digest: CaptureDigest | undefined, files: PlannedFile[]) {
  const status = capture.skipped ? 'skipped' : capture.error ? 'failed' : files.some((f) => f.name === capture.artifact && f.meta) ? 'ok' : 'missing';
  return {
    capture: capture.capture,
    kind: capture.kind,
    status,
    ...(capture.skipped ? { reason: capture.error } : capture.error ? { error: capture.error } : {}),
    events: capture.count,
    dropped: capture.dropped,
    ...(digest?.drops ? { drops: digest.drops } : {}),
    bpfCpuNs: capture.bpfCpuNs,
    ...(digest?.bpfRunCount !== undefined ? { bpfRunCount: digest.bpfRunCount } : {}),
    durationMs: capture.durationMs,
    ...(digest?.requestedDurationMs !== undefined ? { requestedDurationMs: digest.requestedDurationMs } : {}),
    cancelled: capture.cancelled,
    // Detached early over its BPF CPU budget: which, at what cost, after how long.
    ...(capture.stopped ? { stopped: capture.stopped } : {}),
    ...(capture.truncated ? { truncated: capture.truncated } : {}),
    redactions: capture.redactions ?? 0,
    ...(digest?.target !== undefined ? { target: digest.target } : {}),
    ...(digest?.startedAt !== undefined ? { startedAt: digest.startedAt } : {}),
    ...(digest?.partialReads !== undefined ? { partialReads: digest.partialReads } : {}),
    ...(digest?.timings ? { timings: digest.timings } : {}),
    ...(digest?.bounds ? { bounds: digest.bounds } : {}),
    files: files.map((f) => ({
      name: f.name,
      path: f.path,
      ...(f.meta ? { bytes: f.meta.bytes, contentType: f.meta.contentType } : { missing: true }),
    })),
  };
}

export function buildManifest(ctx: ReportContext, files: PlannedFile[], entries: { findings: string; baseline: string; summary: string; html: string }) {
  const { run } = ctx;
  const plan = run.plan;
  let events = 0;
  let dropped = 0;
  let bpfCpuNs = 0;
  const nodes = ctx.nodes.map((node) => {
    const digests = ctx.digests.get(node.name);
    const captures = node.captures.map((c) => {
      events += c.count || 0;
      dropped += c.dropped || 0;
      bpfCpuNs += c.bpfCpuNs || 0;
      return captureEntry(
        c,
        digests?.get(c.capture),
        files.filter((f) => f.node === node && f.capture === c.capture),
      );
    });
    return {
      name: node.name,
      dir: `nodes/${node.dir}`,
      status: node.state.status,
      kernel: node.kernel ?? null,
      ...(node.kernelSource ? { kernelSource: node.kernelSource } : {}),
      ...(node.state.startedAt ? { startedAt: node.state.startedAt } : {}),
      ...(node.state.finishedAt ? { finishedAt: node.state.finishedAt } : {}),
      ...(msBetween(node.state.startedAt, node.state.finishedAt) !== undefined ? { wallMs: msBetween(node.state.startedAt, node.state.finishedAt) } : {}),
      ...(node.state.error ? { error: node.state.error } : {}),
      captures,
      ...(node.state.falco ? { falcoRules: { ...node.state.falco, findings: node.state.falco.findings?.length ?? 0 } } : {}),
    };
  });
  const findings = ctx.findings;
  return {
    format: MANIFEST_FORMAT,
    generatedAt: ctx.generatedAt.toISOString(),
    run: {
      id: run.id,
      status: run.status,
      runbook: plan.runbook ?? null,
      ...(plan.runbookTitle ? { runbookTitle: plan.runbookTitle } : {}),
      params: plan.params ?? {},
      steps: plan.steps,
      target: plan.target,
      requestedBy: run.requestedBy,
      reason: plan.reason ?? null,
      origin: plan.origin ?? null,
      durationMs: plan.durationMs,
    },
    timings: {
      createdAt: run.createdAt,
      ...(run.startedAt ? { startedAt: run.startedAt } : {}),
      ...(run.finishedAt ? { finishedAt: run.finishedAt } : {}),
      ...(msBetween(run.createdAt, run.startedAt) !== undefined ? { queuedMs: msBetween(run.createdAt, run.startedAt) } : {}),
      ...(msBetween(run.startedAt, run.finishedAt) !== undefined ? { wallMs: msBetween(run.startedAt, run.finishedAt) } : {}),
      requestedDurationMs: plan.durationMs,
    },
    totals: {
      nodes: nodes.length,
      byStatus: countBy(nodes.map((n) => n.status)),
      events,
      dropped,
      bpfCpuNs,
    },
    findings: {
      analyzed: findings !== undefined,
      count: findings?.length ?? 0,
      bySeverity: countBy((findings ?? []).map((f) => f.severity)),
      file: entries.findings,
    },
    baseline: ctx.baseline
      ? {
          file: entries.baseline,
          rows: ctx.baseline.rows.length,
          regressions: ctx.baseline.rows.filter((r) => r.regression).length,
          ...(ctx.baseline.missing.length ? { nodesWithout: ctx.baseline.missing } : {}),
        }
      : null,
    files: { findings: entries.findings, summary: entries.summary, html: entries.html, ...(ctx.baseline ? { baseline: entries.baseline } : {}) },
    // Sherlock's own processes are left out of the captures; what they cost is here instead.
    sherlock: ctx.nodes.flatMap((node) => (node.state.sherlock ? [{ node: node.name, ...node.state.sherlock }] : [])),
    nodes,
  };
}

function countBy(values: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) out[v] = (out[v] ?? 0) + 1;
  return out;
}
