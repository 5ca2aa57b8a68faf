// tcpresponse: how long TCP peers take to answer, per process and side: a
// client's upstreams (a database, a cache, an HTTP API: from its last send to
// the first byte back) and a server's own answers (from a request's last byte
// in to its first byte out), with the answers given up and those still
// awaited at the end. In the kernel per connection (bpf/tcpresponse).
import { readFileSync } from 'node:fs';
import { RingBufferReader } from '../../libbpf/index.js';
import { eventIdentities } from '../../cgroups/process-cgroup.js';
import { monoNow } from '../../util/clock.js';
import { fmtCount, fmtMs } from '../../format/index.js';
import type { CaptureDefinition, Column } from '../capture.js';
import {
  connLayout,
  decodeConn,
  decodeEvent,
  decodeKey,
  decodePath,
  decodeStats,
  encodeListener,
  eventLayout,
  keyLayout,
  listenerLayout,
  pathLayout,
  statsLayout,
  type PathOf,
  type SideKey,
} from './decode.js';
import { keepsConnectionsBusy } from './pool.js';
import { liveUnixInodes, localServers, readListeners, unixServers, type Listener } from './listeners.js';
import { Sides, type SideRow } from './sides.js';
import { tcpresponseAnalysis } from './analyze.js';
import { tcpresponseBaseline } from './baseline.js';
import { tcpresponseSetup } from './setup.js';
import { unansweredConnections } from './unanswered.js';
import { addressOf, portOf } from '../../analysis/common.js';
import { hungThreads, type ThreadGroup } from './hung-threads.js';
import { allPids, sherlockPids, socketOwners, targetPids, targetSelects } from '../target-processes.js';
import type { ResolvedTarget } from '../target.js';

export type TcpresponseParams = typeof tcpresponseSetup.defaults;

export type TcpresponseRow = Omit<SideRow, 'cgroupId'> & {
  cgroup?: string;
  container?: string;
  /** A client's peer that is a server on this host: who answers there. */
  server?: { pid: number; comm: string; listener: string; workers?: number[] };
  /** A server that answered nothing, owing requests from before the window: where its threads wait now (hung-threads.ts). */
  threadsNow?: ThreadGroup[];
};

export interface TcpresponseData {
  rows: TcpresponseRow[];
  /** Answers timed, over every row (not only those kept). */
  answers: number;
  /** Answers this slow were recorded one by one (waits, abandonedWaits, waitingWaits). */
  recordMs: number;
  totalRows: number;
}

/** New listeners (a container started in the window) are learned this often. */
const LISTENERS_REFRESH_MS = 5000;
const ONE = Buffer.from([1]);

export const tcpresponse: CaptureDefinition<TcpresponseParams, TcpresponseData> = {
  ...tcpresponseSetup,
  summary: 'TCP answer times per process: its upstreams (client connections) and its own answers (accepted connections), slow, given up and still awaited',
  kind: 'counters',
  records: [keyLayout, statsLayout, connLayout, eventLayout, listenerLayout, pathLayout],
  analysis: tcpresponseAnalysis,
  baseline: tcpresponseBaseline,

  collect({ object, params, target, excludeCgroupId }) {
    const reader = new RingBufferReader(object.map('events'));
    const listenerMap = object.map('listeners');
    const startNs = monoNow();
    const sides = new Sides(BigInt(params.recordMs) * 1_000_000n, startNs);
    let listeners: Listener[] = [];
    let published = 0;
    let listenersFull = 0;
    const publishListeners = () => {
      listeners = readListeners();
      for (const l of listeners) {
        try {
          listenerMap.update(encodeListener(l.netns, l.port), ONE);
        } catch {
          listenersFull++; // a full map: that port's connections count as clients
        }
      }
      published = Date.now();
    };
    publishListeners(); // before the attach: a server's connections are known as such from the start
    const pathOf = unixPaths(object.map('unix_paths'));
    const onRecord = (data: Buffer) => sides.addRecord(decodeEvent(data, pathOf));
    let endNs: bigint | undefined;
    return {
      poll: () => {
        reader.drain(onRecord);
        if (Date.now() - published >= LISTENERS_REFRESH_MS) publishListeners();
      },
      windowEnded: () => {
        endNs = monoNow();
      },
      finish: async () => {
        reader.drain(onRecord);
        for (const [key, value] of object.map('answers').entries()) sides.addStats(decodeKey(key, 0, pathOf), decodeStats(value));
        const end = endNs ?? monoNow();
        const conns = object
          .map('conns')
          .entries()
          .map(([, value]) => decodeConn(value, pathOf))
          .filter((c) => c.followed);
        // A unix socket's entry outlives it (nothing sees it freed): only those still open count.
        const unix = conns.filter((c) => c.ino);
        const live = unix.length ? liveUnixInodes([...new Set(unix.map((c) => c.key.pid))]) : new Set<string>();
        for (const c of conns) if (!c.ino || live.has(String(c.ino))) sides.addConnection(c, end);
        for (const u of await waitingSinceBefore(listeners, target, excludeCgroupId, startNs)) sides.addUnanswered(u.key, u.comm, u.ageMs, u.unacked > 0, end);
        const rows = sides.finish();
        const kept = rows.slice(0, params.maxRows);
        const windowMs = Number(end - startNs) / 1e6;
        // The peers worth naming: those it waited on slowly, and those whose connections it kept busy (a pool, pool.ts).
        const waited = kept.filter(
          (r) => r.role === 'client' && (r.slowAnswers || r.abandoned || r.waiting || r.held || keepsConnectionsBusy(r.waitedMs, r.connections, windowMs)),
        );
        const servers = new Map([...localServers(waited, listeners), ...unixServers(waited)]);
        const hung = hungThreads(kept);
        const identityOf = eventIdentities();
        return {
          rows: kept.map(({ cgroupId, ...r }): TcpresponseRow => {
            const identity = identityOf({ pid: r.pid, cgroupId });
            const server = servers.get(r.peer);
            // The process's own name, not the thread's that sent (runtimes name their threads: a JVM's "pool-1-thread-4").
            const own = commOf(r.pid);
            return {
              ...r,
              ...(own ? { comm: own } : {}),
              ...(identity ? { cgroup: identity.cgroup, container: identity.containerId } : {}),
              ...(server ? { server: { ...server, comm: commOf(server.pid) } } : {}),
              ...(r.role === 'server' && hung.has(r.pid) ? { threadsNow: hung.get(r.pid) } : {}),
            };
          }),
          answers: rows.reduce((n, r) => n + r.answers, 0),
          recordMs: params.recordMs,
          totalRows: rows.length,
        };
      },
      drops: () => (listenersFull ? { map_full: listenersFull } : {}),
      close: () => reader.close(),
    };
  },

  table: ({ rows }) => ({ columns, rows }),
  count: ({ rows }) => rows.length,
};

/**
 * The connections of the target's processes (not Sherlock's own) waiting since before the window began:
 * longer than the time since, when read (the kernel program saw nothing of them).
 */
async function waitingSinceBefore(listeners: Listener[], target: ResolvedTarget, excludeCgroupId: bigint | undefined, startNs: bigint) {
  const pids = targetSelects(target) ? targetPids(target) : allPids();
  const ports = new Set(listeners.map((l) => `${l.netns} ${l.port}`));
  const sinceStartMs = Number(monoNow() - startNs) / 1e6;
  const found = await unansweredConnections(pids, (netns, port) => ports.has(`${netns} ${port}`), sinceStartMs);
  const owners = socketOwners(new Set(found.map((u) => BigInt(u.inode))));
  const kept = targetSelects(target) ? new Set(pids) : undefined;
  const sherlock = sherlockPids(excludeCgroupId);
  return found.flatMap((u) => {
    const owner = owners.get(BigInt(u.inode));
    if (!owner || (kept && !kept.has(owner.pid)) || sherlock(owner.pid)) return [];
    const key: SideKey =
      u.role === 'client'
        ? {
            role: 'client',
            pid: owner.pid,
            peer: u.remote,
            port: portOf(u.remote) ?? 0,
            peerAddress: addressOf(u.remote),
          }
        : { role: 'server', pid: owner.pid, peer: '', port: portOf(u.local) ?? 0, peerAddress: '' };
    return [{ key, comm: owner.comm, ageMs: u.ageMs, unacked: u.unacked }];
  });
}

/** Unix socket names by their hash, read from the map once each. */
function unixPaths(map: { lookup(key: Buffer): Buffer | undefined }): PathOf {
  const known = new Map<bigint, string>();
  return (hash) => {
    let path = known.get(hash);
    if (path === undefined) {
      const key = Buffer.alloc(8);
      key.writeBigUInt64LE(hash);
      const value = map.lookup(key);
      if (!value) return undefined;
      known.set(hash, (path = decodePath(value)));
    }
    return path;
  };
}

function commOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
}

const columns: Column<TcpresponseRow>[] = [
  { header: 'PID', value: (r) => String(r.pid), numeric: true },
  { header: 'COMM', value: (r) => r.comm || '-' },
  {
    header: 'SIDE',
    value: (r) => (r.role === 'client' ? `asks ${r.peer}${r.server ? ` (${r.server.comm || r.server.pid})` : ''}` : `answers ${r.path ?? `:${r.port}`}`),
  },
  { header: 'ANSWERS', value: (r) => fmtCount(r.answers), numeric: true },
  { header: 'P50<', value: (r) => fmtMs(r.p50Ms), numeric: true },
  { header: 'P99<', value: (r) => fmtMs(r.p99Ms), numeric: true },
  { header: 'MAX', value: (r) => fmtMs(r.maxMs), numeric: true },
  { header: 'SLOW', value: (r) => fmtCount(r.slowAnswers), numeric: true },
  { header: 'GIVEN UP', value: (r) => fmtCount(r.abandoned), numeric: true },
  { header: 'WAITING', value: (r) => fmtCount(r.waiting), numeric: true },
];
