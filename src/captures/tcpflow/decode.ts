// The map of bpf/tcpflow/tcpflow.h in user space, at the offsets below
// (checked against the object's BTF by test/architecture/record-layouts.test.ts).
import { endpointText } from '../net-address.js';
import { recordLayout } from '../records.js';

/** struct tcpflow_counters: cumulative counters as one probe read them. */
export const countersLayout = recordLayout('tcpflow_counters', 48, {
  ts_ns: 0,
  bytes_acked: 8,
  bytes_received: 16,
  jiffies: 24,
  network_j: 32,
  rwnd_j: 36,
  sndbuf_j: 40,
  total_retrans: 44,
});

/** struct tcpflow_value: the first and the latest counters of a connection, and what it keeps besides. */
export const valueLayout = recordLayout(
  'tcpflow_value',
  184,
  {
    first: 0,
    last: 48,
    srtt_sum_us: 96,
    srtt_samples: 104,
    srtt_max_us: 108,
    min_rtt_us: 112,
    inode: 116,
    snd_cwnd: 120,
    mss: 124,
    snd_wnd: 128,
    family: 132,
    lport: 134,
    rport: 136,
    laddr: 140,
    raddr: 156,
    rcv_rtt_samples: 172,
    rcv_rtt_sum_us: 176,
  },
  { laddr: 16, raddr: 16 },
);

/** One connection over the part of the window it was seen in (its first probe to its last). */
export interface FlowCounters {
  local: string;
  remote: string;
  inode: number;
  seconds: number;
  sentBytes: number;
  receivedBytes: number;
  /** Seconds it had data to send, held by the network (its congestion window or pacing), the peer's receive window, its send buffer. */
  networkSeconds: number;
  rwndSeconds: number;
  sndbufSeconds: number;
  retransmits: number;
  /** Smoothed RTT while data was in flight: average and highest (µs), and how many samples. */
  srttAvgUs: number;
  srttMaxUs: number;
  srttSamples: number;
  /** The receiver's own RTT estimate while data came in: average (µs), and how many readings. */
  rcvRttAvgUs: number;
  rcvRttSamples: number;
  /** The path's floor: the lowest RTT the kernel measured on it (µs). */
  minRttUs: number;
  /** At its last probe: congestion window (segments × mss bytes) and the peer's receive window (bytes). */
  cwndBytes: number;
  peerWindowBytes: number;
}

type Counter = keyof typeof countersLayout.offsets;

export function decodeFlow(v: Buffer): FlowCounters {
  const O = valueLayout.offsets;
  if (v.length < valueLayout.size) throw new Error(`tcpflow value of ${v.length} bytes, expected ${valueLayout.size}`);
  const at = (which: 'first' | 'last', name: Counter) => O[which] + countersLayout.offsets[name];
  const u64 = (which: 'first' | 'last', name: Counter) => Number(v.readBigUInt64LE(at(which, name)));
  const u32 = (which: 'first' | 'last', name: Counter) => v.readUInt32LE(at(which, name));
  const delta = (name: Counter) => u64('last', name) - u64('first', name);
  // chrono times are u32 jiffies (they wrap): the window's share is their difference over the jiffies that passed.
  const jiffies = delta('jiffies');
  const seconds = delta('ts_ns') / 1e9;
  const share = (name: Counter) => (jiffies > 0 ? (((u32('last', name) - u32('first', name)) >>> 0) / jiffies) * seconds : 0);
  const family = v.readUInt16LE(O.family);
  const samples = v.readUInt32LE(O.srtt_samples);
  const rcvSamples = v.readUInt32LE(O.rcv_rtt_samples);
  return {
    local: endpointText(family, v.subarray(O.laddr, O.laddr + valueLayout.lengths.laddr), v.readUInt16LE(O.lport)),
    remote: endpointText(family, v.subarray(O.raddr, O.raddr + valueLayout.lengths.raddr), v.readUInt16LE(O.rport)),
    inode: v.readUInt32LE(O.inode),
    seconds,
    sentBytes: delta('bytes_acked'),
    receivedBytes: delta('bytes_received'),
    networkSeconds: share('network_j'),
    rwndSeconds: share('rwnd_j'),
    sndbufSeconds: share('sndbuf_j'),
    retransmits: (u32('last', 'total_retrans') - u32('first', 'total_retrans')) >>> 0,
    srttAvgUs: samples ? Number(v.readBigUInt64LE(O.srtt_sum_us)) / samples : 0,
    srttMaxUs: v.readUInt32LE(O.srtt_max_us),
    srttSamples: samples,
    rcvRttAvgUs: rcvSamples ? Number(v.readBigUInt64LE(O.rcv_rtt_sum_us)) / rcvSamples : 0,
    rcvRttSamples: rcvSamples,
    minRttUs: v.readUInt32LE(O.min_rtt_us),
    cwndBytes: v.readUInt32LE(O.snd_cwnd) * v.readUInt32LE(O.mss),
    peerWindowBytes: v.readUInt32LE(O.snd_wnd),
  };
}
