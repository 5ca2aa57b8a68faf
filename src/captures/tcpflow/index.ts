// tcpflow: what each TCP connection moved in the window, at what rate, and
// what held its sending (the network, the peer's receive window, its own send
// buffer), with its RTT over the path's floor and its retransmits; counted in
// the kernel from tcp:tcp_probe, owners found by socket inode at the end.
import type { CaptureDefinition, Column } from '../capture.js';
import { sherlockPids, socketOwners, targetPids, targetSelects } from '../target-processes.js';
import { fmtBytes, fmtUs, processLabel } from '../../format/index.js';
import { tcpflowAnalysis } from './analyze.js';
import { countersLayout, decodeFlow, valueLayout, type FlowCounters } from './decode.js';
import { tcpflowSetup } from './setup.js';

/** Round trips timed that keep a connection that moved little (a query's, an API's). */
const KEPT_FROM_ROUND_TRIPS = 5;

export type TcpflowParams = typeof tcpflowSetup.defaults;

/** A connection and its owner (none when it closed before the window ended). */
export interface FlowRow extends FlowCounters {
  pid?: number;
  comm?: string;
}

export interface TcpflowData {
  /** The connections that moved minBytes or more, the most bytes first (at most maxRows). */
  flows: FlowRow[];
  /** Connections seen in the kernel, all sizes. */
  totalFlows: number;
}

export const tcpflow: CaptureDefinition<TcpflowParams, TcpflowData> = {
  ...tcpflowSetup,
  summary: 'TCP connections: bytes each way, rate, what held their sending (network, receive window, send buffer), RTT over its floor',
  kind: 'counters',
  analysis: tcpflowAnalysis,
  records: [countersLayout, valueLayout],

  collect({ object, params, target, excludeCgroupId }) {
    return {
      finish: () => {
        const all = [...object.map('flows').entries()].map(([, v]) => decodeFlow(v));
        // Small ones that sent all along stay: a path's queue shows in their round trips.
        const moved = all.filter((f) => f.seconds > 0 && (f.sentBytes + f.receivedBytes >= params.minBytes || f.srttSamples >= KEPT_FROM_ROUND_TRIPS));
        const owners = socketOwners(new Set(moved.filter((f) => f.inode).map((f) => BigInt(f.inode))));
        const wanted = targetSelects(target) ? new Set(targetPids(target)) : undefined;
        const ofSherlock = sherlockPids(excludeCgroupId);
        const flows: FlowRow[] = [];
        for (const flow of moved) {
          const owner = flow.inode ? owners.get(BigInt(flow.inode)) : undefined;
          if (owner && ofSherlock(owner.pid)) continue;
          if (wanted && !(owner && wanted.has(owner.pid))) continue;
          flows.push(owner ? { ...flow, pid: owner.pid, comm: owner.comm } : flow);
        }
        flows.sort((a, b) => b.sentBytes + b.receivedBytes - (a.sentBytes + a.receivedBytes));
        return { flows: flows.slice(0, params.maxRows), totalFlows: all.length };
      },
    };
  },

  table: ({ flows }) => ({ columns, rows: flows }),
  count: ({ flows }) => flows.length,
};

const pct = (part: number, whole: number) => (whole > 0 ? `${Math.round((100 * part) / whole)}%` : '-');

const columns: Column<FlowRow>[] = [
  { header: 'PROCESS', value: (f) => (f.pid ? processLabel(f.comm, f.pid) : '(closed)') },
  { header: 'LOCAL', value: (f) => f.local },
  { header: 'REMOTE', value: (f) => f.remote },
  { header: 'SENT', value: (f) => fmtBytes(f.sentBytes), numeric: true },
  { header: 'RECEIVED', value: (f) => fmtBytes(f.receivedBytes), numeric: true },
  { header: 'NETWORK', value: (f) => pct(f.networkSeconds, f.seconds), numeric: true },
  { header: 'RWND', value: (f) => pct(f.rwndSeconds, f.seconds), numeric: true },
  { header: 'SNDBUF', value: (f) => pct(f.sndbufSeconds, f.seconds), numeric: true },
  { header: 'RETRANS', value: (f) => String(f.retransmits), numeric: true },
  { header: 'SRTT', value: (f) => (f.srttSamples ? fmtUs(f.srttAvgUs) : '-'), numeric: true },
  { header: 'MIN RTT', value: (f) => (f.minRttUs ? fmtUs(f.minRttUs) : '-'), numeric: true },
];
