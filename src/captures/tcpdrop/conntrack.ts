// A network namespace's connection-tracking table, from /proc/PID/net/stat/
// nf_conntrack (one line per CPU, hex: entries is the namespace's count, the
// rest per-CPU counters to add up) and the host's nf_conntrack_max. When it is
// full, a new connection's packets are dropped in nf_hook_slow with the reason
// NETFILTER_DROP, which reads like a firewall rule's: only these counters tell.
import { readText } from '../../util/read-text.js';

export interface ConntrackCounters {
  entries: number;
  /** New entries that could not be made (the table full), and entries evicted to make room. */
  drop: number;
  earlyDrop: number;
  insertFailed: number;
}

/** pid's namespace's counters; undefined without connection tracking (the module not loaded). */
export function readConntrack(pid: number): ConntrackCounters | undefined {
  const [header, ...lines] = (readText(`/proc/${pid}/net/stat/nf_conntrack`) ?? '').trim().split('\n');
  const names = header?.trim().split(/\s+/) ?? [];
  if (!names.includes('entries')) return undefined;
  const column = (name: string) => names.indexOf(name);
  const sum = (name: string) => lines.reduce((n, l) => n + (parseInt(l.trim().split(/\s+/)[column(name)] ?? '0', 16) || 0), 0);
  return {
    entries: parseInt(lines[0]?.trim().split(/\s+/)[column('entries')] ?? '0', 16) || 0,
    drop: sum('drop'),
    earlyDrop: sum('early_drop'),
    insertFailed: sum('insert_failed'),
  };
}

/** The table's size limit (net.netfilter.nf_conntrack_max: the host's, every namespace counts against it). */
export function conntrackMax(): number | undefined {
  const max = Number((readText('/proc/sys/net/netfilter/nf_conntrack_max') ?? '').trim());
  return Number.isFinite(max) && max > 0 ? max : undefined;
}
