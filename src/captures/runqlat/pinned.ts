// Processes crowded by their CPU affinity: allowed only some CPUs (taskset, a
// cpuset, a container's cpuset.cpus), they waited for those while CPUs they
// may not use sat idle. The host has CPUs to spare: the cause is the pinning,
// not the load, and no busy process elsewhere explains their waits.
import { isObj, makeFinding, num, objs, timeImpact, type AnalysisContext, type Obj } from '../../analysis/common.js';
import { bucketsOf, quantile, sumOf } from '../../analysis/histogram.js';
import type { Finding } from '../../analysis/types.js';
import { fmtPct, fmtSeconds, fmtUs, listText, plural, round } from '../../format/index.js';
import { formatCpuList } from '../../util/cpu-list.js';
import { crowdedShare, culpritLabel, waitedBehind, type Culprit } from './culprits.js';

/**
 * The CPUs it may not use were idle this much of the window on average, its own at most BUSY_INSIDE: a
 * task allowed there would have run in that idle time (the scheduler pulls waiting tasks onto idle CPUs).
 */
const IDLE_ELSEWHERE = 0.25;
const BUSY_INSIDE = 0.1;
/** A process's waits count from this much of the window (s/s), and 5 slow waits. */
const MIN_WAITED = 0.02;
const MIN_SLOW_WAITS = 5;

interface Member {
  pid: number;
  comm: string;
  waitedMs: number;
  /** Of its slow waits, the time behind other programs: how much it is the one crowded. */
  crowdedMs: number;
  p99Us: number;
  neighbours: Culprit[];
  /** Its cgroup's cpuset path when that is what pins it, '' when its own affinity does, undefined when unknown. */
  cpuset?: string;
}

export function pinnedFindings(data: Obj, ctx: AnalysisContext): Finding[] {
  const idle = new Map(objs(data.cpuIdle).map((c) => [num(c.cpu), num(c.idle)]));
  if (idle.size < 2 || typeof data.affinity !== 'object' || !data.affinity) return [];
  const sets = new Map<string, { cpus: number[]; members: Member[] }>();
  for (const [pidText, allowed] of Object.entries(data.affinity as Record<string, unknown>)) {
    const cpus = (Array.isArray(allowed) ? allowed : []).map(num).filter((cpu) => idle.has(cpu));
    const pid = Number(pidText);
    const outside = [...idle.keys()].filter((cpu) => !cpus.includes(cpu));
    if (!cpus.length || !outside.length) continue;
    if (mean(outside.map((cpu) => idle.get(cpu)!)) < IDLE_ELSEWHERE || mean(cpus.map((cpu) => idle.get(cpu)!)) > BUSY_INSIDE) continue;
    const member = memberOf(data, pid, ctx.windowSeconds);
    if (!member) continue;
    // '' : known not to be a cpuset's (older data did not look).
    if (isObj(data.cpusets)) member.cpuset = typeof data.cpusets[pidText] === 'string' ? data.cpusets[pidText] : '';
    const key = formatCpuList(cpus);
    const set = sets.get(key) ?? { cpus, members: [] };
    set.members.push(member);
    sets.set(key, set);
  }
  return [...sets.values()].map(({ cpus, members }) => finding(ctx, cpus, members, idle));
}

function memberOf(data: Obj, pid: number, windowSeconds: number): Member | undefined {
  // Its histograms (one per thread name), merged.
  const groups = objs(data.histograms).filter((h) => num((h.labels as Obj | undefined)?.pid) === pid);
  const waitedUs = groups.reduce((n, h) => n + sumOf(h.histogram as Obj), 0);
  const buckets = bucketsOf({ buckets: groups.flatMap((h) => bucketsOf(h.histogram as Obj)) });
  const comm = (groups[0]?.labels as Obj | undefined)?.comm;
  const name = typeof comm === 'string' ? comm : '';
  const behind = waitedBehind(data, pid, name);
  if (!behind || behind.waits < MIN_SLOW_WAITS || waitedUs / 1e6 < MIN_WAITED * windowSeconds) return undefined;
  return {
    pid,
    comm: name,
    waitedMs: waitedUs / 1000,
    crowdedMs: behind.waitedMs * crowdedShare(behind),
    p99Us: quantile(buckets, 0.99),
    neighbours: behind.others,
  };
}

function finding(ctx: AnalysisContext, cpus: number[], members: Member[], idle: Map<number, number>): Finding {
  members.sort((a, b) => b.crowdedMs - a.crowdedMs || b.waitedMs - a.waitedMs);
  const outside = [...idle.keys()].filter((cpu) => !cpus.includes(cpu));
  const idleShare = mean(outside.map((cpu) => idle.get(cpu)!));
  const waitedS = members.reduce((n, m) => n + m.waitedMs, 0) / 1000;
  const p99Us = Math.max(...members.map((m) => m.p99Us));
  const pids = new Set(members.map((m) => m.pid));
  // Who else ran on those CPUs: the neighbours of its members that are not pinned beside them.
  const beside = members.flatMap((m) => m.neighbours).filter((c) => c.share >= 0.15 && !c.pids.some((p) => pids.has(p)));
  const cpusText = (list: number[]) => `${list.length === 1 ? 'CPU' : 'CPUs'} ${formatCpuList(list)}`;
  const names = byName(members);
  // Whose setting to change: their cgroup's cpuset when it allows exactly these CPUs, else their own affinity.
  const cpusetPaths = [...new Set(members.map((m) => m.cpuset))];
  const cpuset = cpusetPaths.length === 1 ? cpusetPaths[0] : undefined;
  const source = cpuset
    ? `the cpuset of cgroup ${cpuset}`
    : cpuset === ''
      ? 'their own CPU affinity: taskset, sched_setaffinity'
      : 'CPU affinity: taskset, a cpuset';
  const widen = cpuset
    ? `widen cgroup ${cpuset}'s cpuset.cpus (a container's --cpuset-cpus, Kubernetes' CPU manager, systemd's AllowedCPUs=)`
    : cpuset === ''
      ? `widen their affinity (taskset -acp LIST PID)`
      : `widen the affinity (taskset -acp LIST PID, the cgroup's cpuset.cpus, a container's --cpuset-cpus or Kubernetes' CPU manager)`;
  const title =
    `${listText(names, 4)} may run only on ${cpusText(cpus)} of ${idle.size} (${source}) and waited ${fmtSeconds(waitedS)} for ${cpus.length === 1 ? 'it' : 'them'} ` +
    `over ${fmtSeconds(ctx.windowSeconds)} (p99 ${fmtUs(p99Us)}${beside.length ? `, beside ${culpritLabel(beside[0]!)}` : ''}), while ${cpusText(outside)} sat ${fmtPct(idleShare)} idle: ` +
    `pinned to busy CPUs; next: ${widen} or move what runs beside them.`;
  const lead = members[0]!;
  const f = makeFinding(
    ctx,
    `pinned:${formatCpuList(cpus)}`,
    p99Us >= ctx.thresholds.runqP99Ms * 1000 ? 'critical' : 'warning',
    title,
    {
      pid: lead.pid,
      comm: lead.comm,
      cpus,
      ...(cpuset ? { cpuset } : {}),
      idleElsewhere: round(idleShare),
      processes: members.map((m) => ({ pid: m.pid, comm: m.comm, waitedMs: round(m.waitedMs), p99Ms: round(m.p99Us / 1000) })),
      waitedMs: round(waitedS * 1000),
      p99Ms: round(p99Us / 1000),
    },
    waitedS / Math.max(0.001, ctx.windowSeconds),
    timeImpact(
      waitedS,
      ctx.windowSeconds,
      `${plural(members.length, 'pinned process', 'pinned processes')} waited ${waitedS.toFixed(2)} s for a CPU while others idled`,
      ['latency', 'cpu'],
    ),
  );
  // Their waits for a CPU are this finding's effects (runqlat's own per-process findings), whatever else is busy.
  f.links = { explains: members.map((m) => `runq-pid:${m.pid}`), leads: true };
  return f;
}

/** "tick-api (pid 4)", "batch (pids 5 and 6)": members of one name together. */
function byName(members: Member[]): string[] {
  const names = new Map<string, number[]>();
  for (const m of members) names.set(m.comm, [...(names.get(m.comm) ?? []), m.pid]);
  return [...names].map(([comm, pids]) => culpritLabel({ comm: comm || 'pid', pids, share: 0 }));
}

const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
