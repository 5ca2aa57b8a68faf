// Follows listeners through the window (listeners.ts says why): namespace
// counters at the start and end, listening sockets sampled every
// SAMPLE_EVERY_MS, and at the end the overflows given to the listeners whose
// accept queue was seen at its limit; and the namespaces whose
// connection-tracking table refused new entries (conntrack.ts).
import { readlinkSync } from 'node:fs';
import { conntrackMax } from './conntrack.js';
import type { ConntrackTable, ListenerOverflow } from './types.js';
import { listenersOf, namespaceCounters, namespaces, read, type NamespaceCounters } from './listeners.js';

/** /proc/net/tcp is a walk of every socket: often enough to see a queue at its limit, rarely enough not to compete with a connection storm. */
const SAMPLE_EVERY_MS = 1000;
const MAX_NAMESPACES = 256;

interface Seen {
  netns: string;
  port: number;
  inode: bigint;
  backlog: number;
  maxQueue: number;
  atLimit: number;
  samples: number;
}

export class ListenerTracker {
  private readonly start = new Map<string, NamespaceCounters>();
  /** The counters when the window ended (read then, not at finish: connects go on being refused after it). */
  private readonly end = new Map<string, NamespaceCounters>();
  private readonly seen = new Map<string, Seen>();
  // backlog in Seen is what /proc shows (0 for a listener): the kernel side's is used instead.
  private lastSample = 0;

  /** pids: the target's processes (their namespaces only), or undefined for every namespace. */
  constructor(pids: number[] | undefined) {
    for (const [ns, pid] of [...namespaces(pids)].slice(0, MAX_NAMESPACES)) {
      const c = namespaceCounters(pid);
      if (c) this.start.set(ns, c);
    }
    this.sample();
  }

  poll(): void {
    if (Date.now() - this.lastSample >= SAMPLE_EVERY_MS) this.sample();
  }

  windowEnded(): void {
    this.sample();
    for (const [ns, before] of this.start) {
      const c = namespaceCounters(before.pid);
      if (c) this.end.set(ns, c);
    }
  }

  private sample(): void {
    this.lastSample = Date.now();
    for (const [ns, c] of this.start) {
      for (const l of listenersOf(ns, c.pid)) {
        const id = `${ns}:${l.inode}:${l.port}`;
        let s = this.seen.get(id);
        if (!s) this.seen.set(id, (s = { netns: ns, port: l.port, inode: l.inode, backlog: l.backlog, maxQueue: 0, atLimit: 0, samples: 0 }));
        s.samples++;
        s.maxQueue = Math.max(s.maxQueue, l.acceptQueue);
        if (l.acceptQueue >= Math.max(1, l.backlog)) s.atLimit++;
      }
    }
  }

  /** Listeners seen at their limit in namespaces with overflows in the window (the overflows shared among them). */
  /** backlogs: what the kernel side saw of listeners (by inode), for the backlog /proc does not show. */
  finish(backlogs: Map<bigint, { backlog: number; maxQueue: number }>): { listeners: Omit<ListenerOverflow, 'pid' | 'comm'>[]; inodes: bigint[] } {
    if (!this.end.size) this.sample();
    const listeners: Omit<ListenerOverflow, 'pid' | 'comm'>[] = [];
    for (const [ns, before] of this.start) {
      const after = this.end.get(ns) ?? namespaceCounters(before.pid);
      const overflows = after ? Math.max(0, after.listenOverflows - before.listenOverflows) : 0;
      const drops = after ? Math.max(0, after.listenDrops - before.listenDrops) : 0;
      const atLimit = (s: Seen) => {
        const b = backlogs.get(s.inode);
        return b ? Math.max(s.maxQueue, b.maxQueue) >= Math.max(1, b.backlog) : s.atLimit > 0;
      };
      // At its limit by the kernel's backlog when known; else by /proc's samples (queue ≥ 1, the backlog unknown).
      const full = overflows > 0 ? [...this.seen.values()].filter((s) => s.netns === ns && atLimit(s)) : [];
      for (const s of full) {
        const b = backlogs.get(s.inode);
        listeners.push({
          netns: ns,
          port: s.port,
          inode: String(s.inode),
          ...(b ? { backlog: b.backlog } : {}),
          maxAcceptQueue: Math.max(s.maxQueue, b?.maxQueue ?? 0),
          atLimitSamples: s.atLimit,
          samples: s.samples,
          namespaceOverflows: overflows,
          namespaceListenDrops: drops,
          sharedWith: full.length - 1,
        });
      }
      if (!full.length && overflows > 0) {
        listeners.push({
          netns: ns,
          port: 0,
          inode: '0',
          maxAcceptQueue: 0,
          atLimitSamples: 0,
          samples: 0,
          namespaceOverflows: overflows,
          namespaceListenDrops: drops,
          sharedWith: 0,
        });
      }
    }
    return { listeners, inodes: listeners.map((l) => BigInt(l.inode)).filter((i) => i > 0n) };
  }

  /** Namespaces whose connection-tracking table could not make new entries in the window. */
  fullConntrackTables(): ConntrackTable[] {
    const tables: ConntrackTable[] = [];
    const max = conntrackMax();
    const hostNs = readlinkOr('/proc/1/ns/net');
    for (const [ns, before] of this.start) {
      const after = (this.end.get(ns) ?? namespaceCounters(before.pid))?.conntrack;
      if (!before.conntrack || !after) continue;
      const drops = Math.max(0, after.drop - before.conntrack.drop);
      if (!drops) continue;
      tables.push({
        netns: ns,
        host: ns === hostNs,
        pid: before.pid,
        comm: read(`/proc/${before.pid}/comm`).trim(),
        entries: after.entries,
        ...(max ? { max } : {}),
        drops,
        earlyDrops: Math.max(0, after.earlyDrop - before.conntrack.earlyDrop),
      });
    }
    return tables;
  }
}

function readlinkOr(path: string): string {
  try {
    return readlinkSync(path);
  } catch {
    return '';
  }
}
