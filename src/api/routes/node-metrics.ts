// Node figures for /metrics: known and live workers and each one's heartbeat
// age, so an operator can alert on a fleet going silent before runs fail.
import type { NodeService } from '../../core/nodes.js';

export async function nodeLines(nodes: NodeService, now = Date.now()): Promise<string[]> {
  const known = await nodes.known();
  const lines = [
    '# HELP sherlock_nodes_known Workers whose last heartbeat is still kept',
    '# TYPE sherlock_nodes_known gauge',
    `sherlock_nodes_known ${known.length}`,
    '# HELP sherlock_nodes_up Workers that sent a heartbeat within the node TTL',
    '# TYPE sherlock_nodes_up gauge',
    `sherlock_nodes_up ${known.filter((n) => n.live).length}`,
    '# HELP sherlock_node_heartbeat_age_seconds Seconds since each known worker last sent a heartbeat',
    '# TYPE sherlock_node_heartbeat_age_seconds gauge',
  ];
  for (const node of known) {
    const age = Math.max(0, (now - Date.parse(node.lastSeen)) / 1000);
    lines.push(`sherlock_node_heartbeat_age_seconds{node="${node.name}"} ${Number.isFinite(age) ? age : 'NaN'}`);
  }
  return lines;
}
