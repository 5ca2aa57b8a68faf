// The shared counters (src/redis/shared-metrics.ts) as exposition text: runs by
// runbook and status, captures, deliveries. Every family is declared, with a
// zero-free body when nothing was counted yet, so dashboards find it.
import type { NodeService } from '../../core/nodes.js';
import { SHARED_FAMILIES, type SharedFamily, type SharedSample } from '../../redis/shared-metrics.js';
import { header, sample } from '../exposition.js';

export async function sharedLines(nodes: Pick<NodeService, 'sharedCounters'>): Promise<string[]> {
  const byFamily = new Map<SharedFamily, SharedSample[]>();
  for (const s of await nodes.sharedCounters()) byFamily.set(s.family, [...(byFamily.get(s.family) ?? []), s]);
  const lines: string[] = [];
  for (const [family, { type, help }] of Object.entries(SHARED_FAMILIES) as Array<[SharedFamily, (typeof SHARED_FAMILIES)[SharedFamily]]>) {
    lines.push(...header(family, type, help));
    const samples = (byFamily.get(family) ?? []).sort(
      (a, b) => a.name.localeCompare(b.name) || JSON.stringify(a.labels).localeCompare(JSON.stringify(b.labels)),
    );
    for (const s of samples) lines.push(sample(s.name, s.labels, s.value));
  }
  return lines;
}
