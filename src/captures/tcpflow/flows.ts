// One connection as tcpflow's analysis reads it (a row of its data), and what
// its findings say of one: who, at what rate, what held it.
import { num, str, type Obj } from '../../analysis/common.js';
import { fmtBytes, processLabel, round } from '../../format/index.js';

/** A transfer: this much moved, with data to send (or coming in) this long. */
const BULK_BYTES = 256 * 1024;
const MIN_HELD_S = 1;
/** Round trips read, for an average that means something. */
export const MIN_RTT_SAMPLES = 3;
/** What held it most of the time it had data to send. */
export const MOSTLY = 0.5;

export interface Flow {
  pid: number;
  comm: string;
  local: string;
  remote: string;
  seconds: number;
  sent: number;
  received: number;
  network: number;
  rwnd: number;
  sndbuf: number;
  retransmits: number;
  srttAvgUs: number;
  srttSamples: number;
  rcvRttAvgUs: number;
  rcvRttSamples: number;
  minRttUs: number;
  peerWindow: number;
}

export const flowOf = (f: Obj): Flow => ({
  pid: num(f.pid),
  comm: str(f.comm),
  local: str(f.local),
  remote: str(f.remote),
  seconds: num(f.seconds),
  sent: num(f.sentBytes),
  received: num(f.receivedBytes),
  network: num(f.networkSeconds),
  rwnd: num(f.rwndSeconds),
  sndbuf: num(f.sndbufSeconds),
  retransmits: num(f.retransmits),
  srttAvgUs: num(f.srttAvgUs),
  srttSamples: num(f.srttSamples),
  rcvRttAvgUs: num(f.rcvRttAvgUs),
  rcvRttSamples: num(f.rcvRttSamples),
  minRttUs: num(f.minRttUs),
  peerWindow: num(f.peerWindowBytes),
});

export const held = (f: Flow) => f.network + f.rwnd + f.sndbuf;
export const isTransfer = (f: Flow) => f.sent >= BULK_BYTES && held(f) >= MIN_HELD_S;
/** A download: its sender elsewhere (what holds it is not seen here), its own RTT estimate read. */
export const isDownload = (f: Flow) => f.received >= BULK_BYTES && f.seconds >= MIN_HELD_S && f.sent < f.received / 10 && f.rcvRttSamples >= MIN_RTT_SAMPLES;
export const who = (f: Flow) => (f.pid ? processLabel(f.comm, f.pid) : `a connection from ${f.local} (closed since)`);
/** "0.95 MiB/s (8.0 Mbit/s)". */
export const rateText = (bytesPerSecond: number) => `${fmtBytes(bytesPerSecond)}/s (${+((bytesPerSecond * 8) / 1e6).toFixed(1)} Mbit/s)`;
/** `a` and `b` are the two ends of one connection, both on this host. */
export const endsSwapped = (a: Flow, b: Flow) => a.local === b.remote && a.remote === b.local;
/** The key offcputime's wait for room in a send buffer shows: this process, this connection. */
export const sendWaitKey = (f: Flow) => `send-wait:${f.pid}:${f.remote}`;

export const flowEvidence = (f: Flow) => ({
  ...(f.pid ? { pid: f.pid, comm: f.comm } : {}),
  local: f.local,
  remote: f.remote,
  seconds: round(f.seconds),
  sentBytes: f.sent,
  receivedBytes: f.received,
  networkSeconds: round(f.network),
  rwndSeconds: round(f.rwnd),
  sndbufSeconds: round(f.sndbuf),
  retransmits: f.retransmits,
  ...(f.srttSamples ? { srttAvgUs: Math.round(f.srttAvgUs), srttSamples: f.srttSamples } : {}),
  ...(f.rcvRttSamples ? { rcvRttAvgUs: Math.round(f.rcvRttAvgUs), rcvRttSamples: f.rcvRttSamples } : {}),
  ...(f.minRttUs ? { minRttUs: f.minRttUs } : {}),
});
