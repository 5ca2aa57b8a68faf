// What captures feed the runbook rules (src/analysis/rules.ts): their events as
// exec, open and connect records. Apart from the rules themselves, so a capture
// does not load the rule schemas (zod) to make one.
import type { Obj } from './common.js';

/** The kinds of events runbook rules match. */
export type RuleEventKind = 'exec' | 'open' | 'connect';

/** What a capture feeds the rules: its result as records of one kind. */
export interface RuleEventSource {
  kind: RuleEventKind;
  /** Read as they are made (a spooled result streams from disk). */
  records(data: Obj): Iterable<RuleHit>;
  /** Sees every event of its kind; a sampling source only adds what no complete one saw. */
  complete?: boolean;
}

export interface ExecHit {
  kind: 'exec';
  time: string;
  pid: number;
  ppid: number;
  uid: number;
  comm: string;
  parentComm: string;
  filename: string;
  args: string;
  error?: string;
}
export interface OpenHit {
  kind: 'open';
  time: string;
  pid: number;
  comm: string;
  path: string;
  flags: string;
  write: boolean;
  error?: string;
}
export interface ConnectHit {
  kind: 'connect';
  destination: string;
  address: string;
  port: number;
  /** The connecting process when known ("" otherwise: tcpconnlat counts destinations only). */
  comm: string;
  pid: number;
  count: number;
  from: string;
}
export type RuleHit = ExecHit | OpenHit | ConnectHit;
function splitEndpoint(endpoint: string): { address: string; port: number } {
  const m = /^\[?(.*?)\]?:(\d+)$/.exec(endpoint);
  return m ? { address: m[1]!, port: Number(m[2]) } : { address: endpoint, port: 0 };
}

/**
 * Outbound connects: tcplife's active connections (with their process), then
 * tcpconnlat's destinations not seen there (its slowest and failed connects
 * name a process; the rest only count).
 */

export const connectHit = (destination: string, comm: string, pid: number, count: number, from: string): ConnectHit => ({
  kind: 'connect',
  destination,
  ...splitEndpoint(destination),
  comm,
  pid,
  count,
  from,
});
