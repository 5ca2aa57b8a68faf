// oomkill: every OOM kill in the window: the victim (pid, comm, cgroup), its
// memory at the kill, the limit that ran out (a memory cgroup's, or the
// host's), and the task whose allocation set it off. Events are rare; each
// is one ring-buffer record (bpf/oomkill/oomkill.bpf.c).
import { readFileSync } from 'node:fs';
import { RingBufferReader } from '../../libbpf/index.js';
import { identifyCgroup } from '../../cgroups/container.js';
import { kernelClock } from '../../util/clock.js';
import type { CaptureDefinition, Column } from '../capture.js';
import { eventFiles } from '../event-stream.js';
import { decodeOomkill, eventRecord, memcgRecord, type OomkillRecord } from './decode.js';
import { pageSize } from '../../util/page-size.js';
import { limitReached, memcgNames, type MemoryLimit } from './memcg.js';
import { oomkillAnalysis } from './analyze.js';
import { oomkillBaseline } from './baseline.js';
import { oomkillSetup } from './setup.js';

export type OomkillParams = typeof oomkillSetup.defaults;

export interface OomKill {
  time: string;
  /** The victim: its process id (tgid), name, uid and oom_score_adj. */
  pid: number;
  comm: string;
  uid?: number;
  oomScoreAdj?: number;
  /** The victim's memory cgroup (path on the memory hierarchy) and the container it names ("host" outside any). */
  cgroup?: string;
  container?: string;
  pod?: string;
  /** Its memory at the kill (bytes); absent on kernels whose tracepoint gives only the pid. */
  rssBytes?: number;
  anonBytes?: number;
  fileBytes?: number;
  shmemBytes?: number;
  swapBytes?: number;
  totalVmBytes?: number;
  pageTablesBytes?: number;
  /** The limit that ran out. */
  limit?: MemoryLimit;
  /** The task whose allocation set the kill off (often the victim itself). */
  triggerPid: number;
  triggerComm: string;
  triggerCgroup?: string;
}

export interface OomkillData {
  events: OomKill[];
  pageSize: number;
}

export const oomkill: CaptureDefinition<OomkillParams, OomkillData> = {
  ...oomkillSetup,
  summary: 'OOM kills: victim, its memory, the cgroup limit that ran out, the allocating task',
  kind: 'events',
  records: [eventRecord, memcgRecord],
  analysis: oomkillAnalysis,
  baseline: oomkillBaseline,

  collect({ object, params }) {
    const toWallMs = kernelClock();
    const reader = new RingBufferReader(object.map('events'));
    const records: OomkillRecord[] = [];
    let overCap = 0;
    const onRecord = (data: Buffer) => {
      const r = decodeOomkill(data);
      if (!r) return;
      if (records.length >= params.maxEvents) overCap++;
      else records.push(r);
    };
    return {
      poll: () => void reader.drain(onRecord),
      finish: () => {
        const page = pageSize();
        const names = memcgNames(records);
        return { events: records.map((r) => toKill(r, toWallMs, names, page)), pageSize: page };
      },
      drops: () => (overCap ? { event_cap: overCap } : {}),
      close: () => reader.close(),
    };
  },

  table: ({ events }) => ({ columns, rows: events }),
  files: eventFiles,
  count: ({ events }) => events.length,
};

function toKill(r: OomkillRecord, toWallMs: (ns: bigint) => number, names: ReturnType<typeof memcgNames>, page: number): OomKill {
  const bytes = (pages: bigint) => Number(pages * BigInt(page));
  const cgroup = r.memcgs[0] ? names.paths.get(r.memcgs[0].cgroupId) : undefined;
  const triggerCgroup = names.paths.get(r.triggerMemcgId);
  const kill: OomKill = {
    time: new Date(toWallMs(r.tsNs)).toISOString(),
    pid: r.victimPid,
    comm: r.victimComm || readComm(r.victimPid),
    ...(cgroup ? containerOf(cgroup) : {}),
    triggerPid: r.triggerPid,
    triggerComm: r.triggerComm,
    ...(triggerCgroup ? { triggerCgroup } : {}),
  };
  if (!r.hasTask) return kill;
  return {
    ...kill,
    uid: r.victimUid,
    oomScoreAdj: r.oomScoreAdj,
    rssBytes: bytes(r.anonPages + r.filePages + r.shmemPages),
    anonBytes: bytes(r.anonPages),
    fileBytes: bytes(r.filePages),
    shmemBytes: bytes(r.shmemPages),
    swapBytes: bytes(r.swapPages),
    totalVmBytes: bytes(r.totalVmPages),
    pageTablesBytes: Number(r.pgtablesBytes),
    limit: limitReached(r, names, page),
  };
}

function containerOf(cgroup: string): Pick<OomKill, 'cgroup' | 'container' | 'pod'> {
  const identity = identifyCgroup(cgroup);
  return { cgroup, container: identity.containerId, ...(identity.podUid ? { pod: identity.podUid } : {}) };
}

/** Older kernels give the pid alone: its name, if it is still around. */
function readComm(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
}

const mib = (n: number | undefined) => (n === undefined ? '-' : `${(n / 1048576).toFixed(1)}M`);

const columns: Column<OomKill>[] = [
  { header: 'TIME', value: (e) => e.time.slice(11, 23) },
  { header: 'PID', value: (e) => String(e.pid), numeric: true },
  { header: 'COMM', value: (e) => e.comm || '-' },
  { header: 'RSS', value: (e) => mib(e.rssBytes), numeric: true },
  {
    header: 'LIMIT',
    value: (e) => (e.limit ? `${mib(e.limit.limitBytes)} ${e.limit.scope === 'host' ? '(host)' : (e.limit.cgroup ?? `cgroup ${e.limit.cgroupId}`)}` : '-'),
  },
  { header: 'TRIGGER', value: (e) => `${e.triggerComm} (${e.triggerPid})` },
];
