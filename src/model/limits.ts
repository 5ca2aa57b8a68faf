// How long a run may capture, one place for the server, the runbooks and the
// CLI. A runbook may set its own limit (runbooks/loader.ts), up to this.
export const MAX_RUN_DURATION_MS = 10 * 60_000;
export const DEFAULT_RUN_DURATION_MS = 10_000;
