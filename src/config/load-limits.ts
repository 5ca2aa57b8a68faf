// `load` in the Sherlock config file: what one run may cost and how much the
// API takes on, each a named setting with its default (README, "Limits").
import { z } from 'zod';
import {
  DEFAULT_CPU_BUDGET_PERCENT,
  DEFAULT_MAX_CONCURRENT_DOWNLOADS,
  DEFAULT_REPORT_PARSE_MIB,
  DEFAULT_REPORT_SPOOL_MIB,
  DEFAULT_WORKER_EVENT_SPOOL_MIB,
} from '../model/limits.js';
import { readYamlFile } from './config-file.js';
import { strictObject } from './zod-text.js';

export interface LoadLimits {
  /** Each capture's BPF CPU budget when neither the run nor its runbook sets one (percent of one CPU). */
  cpuBudgetPercent: number;
  /** The most a run or runbook may set (percent of one CPU). */
  maxCpuBudgetPercent: number;
  /** Runs waiting in one node's queue (behind its running one) before new runs for it are refused (429). */
  maxQueuedRunsPerNode: number;
  /** Runs not yet finished (queued or running), over all nodes, before new runs are refused (429). */
  maxQueuedRuns: number;
  /** The shortest interval between two fires of a cron schedule (s); a cron firing more often is refused (400). */
  minScheduleIntervalSeconds: number;
  /**
   * How the embedded Redis (`sherlock up`) syncs its append-only file: `always` (no acknowledged write is
   * lost, slowest), `everysec` (up to ~1 s of writes lost on a host crash), `no` (the kernel's ~30 s).
   */
  appendfsync: 'always' | 'everysec' | 'no';
  /** Report downloads (bundle, report.html) one API process streams at once; beyond, 429 with Retry-After. */
  maxConcurrentDownloads: number;
  /**
   * JSON text (MiB) of one capture result a report keeps parsed while drawing its part of report.html;
   * past it, the result's arrays are read as a stream (their first rows kept for the tables).
   */
  reportParseMiB: number;
  /** Compressed report.html (MiB) one bundle download holds while measuring it; a bigger page is drawn twice instead. */
  reportSpoolMiB: number;
  /**
   * Disk (MiB of NDJSON) a worker's event captures of one run may spool their events to, shared equally
   * among them; a capture past its share keeps no more events and is marked truncated. Their memory is
   * bounded by the code, not by this (a write buffer and the last events per capture).
   */
  workerEventSpoolMiB: number;
}

export const DEFAULT_LOAD_LIMITS: LoadLimits = {
  cpuBudgetPercent: DEFAULT_CPU_BUDGET_PERCENT,
  maxCpuBudgetPercent: 25,
  maxQueuedRunsPerNode: 100,
  maxQueuedRuns: 2000,
  minScheduleIntervalSeconds: 60,
  appendfsync: 'everysec',
  maxConcurrentDownloads: DEFAULT_MAX_CONCURRENT_DOWNLOADS,
  reportParseMiB: DEFAULT_REPORT_PARSE_MIB,
  reportSpoolMiB: DEFAULT_REPORT_SPOOL_MIB,
  workerEventSpoolMiB: DEFAULT_WORKER_EVENT_SPOOL_MIB,
};

const percent = (what: string) => z.number().gt(0, `${what} must be above 0`).max(100, `${what} is at most 100 (one whole CPU)`);

export const loadLimitsSchema = strictObject({
  cpuBudgetPercent: percent('cpuBudgetPercent').default(DEFAULT_LOAD_LIMITS.cpuBudgetPercent),
  maxCpuBudgetPercent: percent('maxCpuBudgetPercent').default(DEFAULT_LOAD_LIMITS.maxCpuBudgetPercent),
  maxQueuedRunsPerNode: z.number().int().min(1).max(100_000).default(DEFAULT_LOAD_LIMITS.maxQueuedRunsPerNode),
  maxQueuedRuns: z.number().int().min(1).max(1_000_000).default(DEFAULT_LOAD_LIMITS.maxQueuedRuns),
  minScheduleIntervalSeconds: z.number().int().min(1).max(86_400).default(DEFAULT_LOAD_LIMITS.minScheduleIntervalSeconds),
  appendfsync: z.enum(['always', 'everysec', 'no']).default(DEFAULT_LOAD_LIMITS.appendfsync),
  maxConcurrentDownloads: z.number().int().min(1).max(1000).default(DEFAULT_LOAD_LIMITS.maxConcurrentDownloads),
  reportParseMiB: z.number().int().min(1).max(1024).default(DEFAULT_LOAD_LIMITS.reportParseMiB),
  reportSpoolMiB: z.number().int().min(1).max(1024).default(DEFAULT_LOAD_LIMITS.reportSpoolMiB),
  workerEventSpoolMiB: z.number().int().min(1).max(1_048_576).default(DEFAULT_LOAD_LIMITS.workerEventSpoolMiB),
}).superRefine((l, ctx) => {
  if (l.cpuBudgetPercent > l.maxCpuBudgetPercent) {
    ctx.addIssue({
      code: 'custom',
      path: ['cpuBudgetPercent'],
      message: `cpuBudgetPercent ${l.cpuBudgetPercent} is above maxCpuBudgetPercent ${l.maxCpuBudgetPercent}`,
    });
  }
});

/** The file's `load` section (checked with the rest of the file at start), else the defaults. */
export function loadLimitsFrom(file: string | undefined): LoadLimits {
  const read = file ? readYamlFile(file) : undefined;
  const section = read?.ok ? (read.doc as { load?: unknown } | null)?.load : undefined;
  const parsed = loadLimitsSchema.safeParse(section ?? {});
  return parsed.success ? parsed.data : DEFAULT_LOAD_LIMITS;
}
