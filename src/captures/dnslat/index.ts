// dnslat: DNS lookups over UDP, per process, server, name and type: how long
// each waited for its answer, which went unanswered or were asked again, and
// the answers' codes (NXDOMAIN, SERVFAIL). Packets, not resolver functions,
// so every resolver is seen (bpf/dnslat/dnslat.bpf.c); paired here (lookups.ts).
import { RingBufferReader } from '../../libbpf/index.js';
import { eventIdentities } from '../../cgroups/process-cgroup.js';
import { kernelClock, monoNow } from '../../util/clock.js';
import type { CaptureDefinition, Column } from '../capture.js';
import { decodeDnsPacket, eventLayout } from './decode.js';
import { Lookups, type LookupRow } from './lookups.js';
import { resolvConfOf, type ResolvConf } from './resolv-conf.js';
import { dnslatAnalysis } from './analyze.js';
import { dnslatBaseline } from './baseline.js';
import { dnslatSetup } from './setup.js';

export type DnslatParams = typeof dnslatSetup.defaults;

export type DnsLookupRow = Omit<LookupRow, 'firstSeen' | 'lastSeen'> & {
  cgroup?: string;
  container?: string;
  firstSeen: string;
  lastSeen: string;
};

export interface DnslatData {
  rows: DnsLookupRow[];
  /** Over every row (not only those kept). */
  queries: number;
  answered: number;
  unanswered: number;
  waiting: number;
  /** Answers to queries not seen (sent before the window, or by a process not selected). */
  unmatchedAnswers: number;
  totalRows: number;
  /** The resolv.conf of each process whose queries went unanswered (by pid), read at the window's end. */
  resolvConf?: Record<string, ResolvConf>;
}

export const dnslat: CaptureDefinition<DnslatParams, DnslatData> = {
  ...dnslatSetup,
  summary: 'DNS lookups over UDP per process, server and name: wait for the answer, unanswered and retried queries, answer codes',
  kind: 'counters',
  records: [eventLayout],
  analysis: dnslatAnalysis,
  baseline: dnslatBaseline,

  collect({ object, params }) {
    const toWallMs = kernelClock();
    const reader = new RingBufferReader(object.map('events'));
    const lookups = new Lookups(params.maxPending, monoNow());
    const onRecord = (data: Buffer) => {
      const packet = decodeDnsPacket(data);
      if (packet) lookups.add(packet);
    };
    let endNs: bigint | undefined;
    return {
      poll: () => void reader.drain(onRecord),
      windowEnded: () => {
        endNs = monoNow();
      },
      finish: () => {
        reader.drain(onRecord);
        const rows = lookups.finish(endNs ?? monoNow());
        const sum = (f: (r: LookupRow) => number) => rows.reduce((n, r) => n + f(r), 0);
        // The longest waits first: slow lookups are what the rows are for.
        rows.sort((a, b) => (b.waitsMs[0] ?? 0) - (a.waitsMs[0] ?? 0) || b.queries - a.queries);
        const identityOf = eventIdentities();
        const kept = rows.slice(0, params.maxRows).map((r): DnsLookupRow => {
          const identity = identityOf({ pid: r.pid, cgroupId: r.cgroupId });
          return {
            ...r,
            ...(identity ? { cgroup: identity.cgroup, container: identity.containerId } : {}),
            firstSeen: new Date(toWallMs(r.firstSeen)).toISOString(),
            lastSeen: new Date(toWallMs(r.lastSeen)).toISOString(),
          };
        });
        const resolvConf: Record<string, ResolvConf> = {};
        for (const pid of new Set(kept.filter((r) => r.unanswered + r.waiting > 0).map((r) => r.pid))) {
          const conf = resolvConfOf(pid);
          if (conf) resolvConf[pid] = conf;
        }
        return {
          rows: kept,
          resolvConf,
          queries: sum((r) => r.queries),
          answered: sum((r) => r.answered),
          unanswered: sum((r) => r.unanswered),
          waiting: sum((r) => r.waiting),
          unmatchedAnswers: lookups.unmatched,
          totalRows: rows.length,
        };
      },
      drops: () => (lookups.overCap ? { event_cap: lookups.overCap } : {}),
      close: () => reader.close(),
    };
  },

  table: ({ rows }) => ({ columns, rows }),
  count: ({ rows }) => rows.length,
};

const columns: Column<DnsLookupRow>[] = [
  { header: 'PID', value: (r) => String(r.pid), numeric: true },
  { header: 'COMM', value: (r) => r.comm || '-' },
  { header: 'SERVER', value: (r) => r.server },
  { header: 'NAME', value: (r) => `${r.name} ${r.type}` },
  { header: 'QUERIES', value: (r) => String(r.queries), numeric: true },
  { header: 'NO ANSWER', value: (r) => String(r.unanswered + r.waiting), numeric: true },
  { header: 'RETRIES', value: (r) => String(r.retries), numeric: true },
  { header: 'MAX', value: (r) => `${r.waitsMs[0] ?? 0} ms`, numeric: true },
  {
    header: 'ANSWERS',
    value: (r) =>
      Object.entries(r.rcodes)
        .map(([code, n]) => `${code} ${n}`)
        .join(', ') || '-',
  },
];
