// How long a run may capture, one place for the server, the runbooks and the
// CLI. A runbook may set its own limit (runbooks/loader.ts), up to this.
export const MAX_RUN_DURATION_MS = 10 * 60_000;
export const DEFAULT_RUN_DURATION_MS = 10_000;

/** Captures one run may start (room for every capture Sherlock has, once). */
export const MAX_RUN_STEPS = 24;

/** Processes one capture can filter on (SHERLOCK_MAX_TGIDS in bpf/common). */
export const MAX_TGIDS = 4096;

/** A capture's BPF programs may cost this share of one CPU (measured each second) before they are detached. */
export const DEFAULT_CPU_BUDGET_PERCENT = 5;
/** How often the live BPF cost is sampled against the budget. */
export const CPU_BUDGET_SAMPLE_MS = 1000;
/** Report downloads one API process streams at once (load.maxConcurrentDownloads). */
export const DEFAULT_MAX_CONCURRENT_DOWNLOADS = 4;
/** JSON text (MiB) of one capture result kept parsed while its part of report.html is drawn (load.reportParseMiB). */
export const DEFAULT_REPORT_PARSE_MIB = 8;
/** Compressed report.html (MiB) one bundle download holds while measuring it (load.reportSpoolMiB). */
export const DEFAULT_REPORT_SPOOL_MIB = 4;
/** Disk (MiB of NDJSON) a worker's event captures of one run may spool, shared among them (load.workerEventSpoolMiB). */
export const DEFAULT_WORKER_EVENT_SPOOL_MIB = 1024;
