// Fleet figures for /metrics: known and live workers, each one's heartbeat age
// and the process figures its heartbeat carries (workers do not listen on a
// port), and each live node's queue: jobs by state and how long the oldest has
// waited. An operator can alert on a fleet going silent or a run stuck waiting.
import type { NodeService } from '../../core/nodes.js';
import { header, sample } from '../exposition.js';

export async function nodeLines(nodes: NodeService, now = Date.now()): Promise<string[]> {
  const known = await nodes.known();
  const lines = [
    ...header('sherlock_nodes_known', 'gauge', 'Workers whose last heartbeat is still kept'),
    sample('sherlock_nodes_known', {}, known.length),
    ...header('sherlock_nodes_up', 'gauge', 'Workers that sent a heartbeat within the node TTL'),
    sample('sherlock_nodes_up', {}, known.filter((n) => n.live).length),
    ...header('sherlock_node_heartbeat_age_seconds', 'gauge', 'Seconds since each known worker last sent a heartbeat'),
  ];
  for (const node of known) {
    const age = Math.max(0, (now - Date.parse(node.lastSeen)) / 1000);
    lines.push(sample('sherlock_node_heartbeat_age_seconds', { node: node.name }, Number.isFinite(age) ? age : NaN));
  }
  lines.push(...header('sherlock_worker_busy', 'gauge', 'Whether each live worker is running a node job (1) or idle (0)'));
  for (const node of known.filter((n) => n.live)) lines.push(sample('sherlock_worker_busy', { node: node.name }, node.busy ? 1 : 0));
  const reporting = known.filter((n) => n.live && n.process);
  const perWorker = [
    ['sherlock_worker_cpu_seconds_total', 'counter', 'CPU time of each worker process (user + system), as its last heartbeat said', 'cpuSeconds'],
    ['sherlock_worker_resident_memory_bytes', 'gauge', 'Resident memory of each worker process', 'residentBytes'],
    ['sherlock_worker_heap_used_bytes', 'gauge', 'V8 heap in use in each worker process', 'heapUsedBytes'],
    ['sherlock_worker_start_time_seconds', 'gauge', 'Start time of each worker process (Unix seconds)', 'startTime'],
  ] as const;
  for (const [name, type, help, field] of perWorker) {
    lines.push(...header(name, type, help));
    for (const node of reporting) lines.push(sample(name, { node: node.name }, node.process![field]));
  }
  return lines;
}

export async function queueLines(nodes: NodeService, now = Date.now()): Promise<string[]> {
  const live = await nodes.live();
  const jobs = [...header('sherlock_queue_jobs', 'gauge', 'Jobs in each live node queue, by state')];
  const waited = [
    ...header('sherlock_queue_oldest_waiting_seconds', 'gauge', 'How long the node job waiting longest in each live node queue has waited (0: none waits)'),
  ];
  let oldest = 0;
  for (const node of live) {
    for (const [state, count] of Object.entries(await nodes.queueCounts(node.name)))
      jobs.push(sample('sherlock_queue_jobs', { node: node.name, state }, count));
    const since = await nodes.oldestWaitingAt(node.name);
    const seconds = since === undefined ? 0 : Math.max(0, (now - since) / 1000);
    oldest = Math.max(oldest, seconds);
    waited.push(sample('sherlock_queue_oldest_waiting_seconds', { node: node.name }, seconds));
  }
  return [
    ...jobs,
    ...waited,
    ...header('sherlock_oldest_waiting_run_seconds', 'gauge', 'How long the run waiting longest for a live node has waited (0: none waits)'),
    sample('sherlock_oldest_waiting_run_seconds', {}, oldest),
  ];
}
