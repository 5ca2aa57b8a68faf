// What a finished node job adds to the shared counters (src/redis/shared-metrics.ts):
// the job's status and, per capture, its outcome, window, events, drops, BPF
// CPU time and redactions. The API's /metrics shows them for every worker.
import type { CaptureSummary, NodeState } from '../model/run.js';
import type { SharedIncrement } from '../redis/shared-metrics.js';

export function captureOutcome(c: CaptureSummary): string {
  if (c.skipped) return 'skipped';
  if (c.error) return 'failed';
  if (c.stopped) return 'stopped';
  if (c.cancelled) return 'cancelled';
  return 'completed';
}

export function nodeJobIncrements(node: string, state: NodeState): SharedIncrement[] {
  const increments: SharedIncrement[] = [{ name: 'sherlock_node_jobs_total', labels: { node, status: state.status } }];
  for (const c of state.captures ?? []) {
    const capture = { capture: c.capture };
    increments.push({ name: 'sherlock_captures_total', labels: { ...capture, outcome: captureOutcome(c) } });
    if (c.error) continue; // nothing ran: no window, no events
    increments.push(
      { name: 'sherlock_capture_duration_seconds_count', labels: capture },
      { name: 'sherlock_capture_duration_seconds_sum', labels: capture, by: c.durationMs / 1000 },
      { name: 'sherlock_capture_events_total', labels: capture, by: c.count },
      { name: 'sherlock_capture_dropped_events_total', labels: capture, by: c.dropped },
      { name: 'sherlock_capture_bpf_cpu_seconds_total', labels: capture, by: c.bpfCpuNs / 1e9 },
      { name: 'sherlock_redactions_total', labels: capture, by: c.redactions ?? 0 },
    );
  }
  return increments;
}
