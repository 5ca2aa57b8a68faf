// cputhrottle's checks: a cgroup throttled by its CPU quota in a real share of
// its periods is a cause of latency (every throttled period stalls all its
// threads until the next one). One finding per cgroup, its processes named.
import { isObj, makeFinding, num, objs, str, timeImpact, type CaptureAnalysis, type AnalysisContext, type Obj } from '../../analysis/common.js';
import { fmtCount, fmtPct, fmtSeconds, fmtUs, listText, plural } from '../../format/index.js';
import type { Finding } from '../../analysis/types.js';

/** Throttled in at least this share of its periods (and MIN_THROTTLED of them): a finding. */
const WARN_PERIOD_SHARE = 0.05;
const CRITICAL_PERIOD_SHARE = 0.5;
const MIN_THROTTLED = 3;

const round = (n: number) => Math.round(n * 1000) / 1000;

export function analyzeCputhrottle(data: Obj, ctx: AnalysisContext): CaptureAnalysis {
  const rows = objs(data.rows);
  const windowUs = num(data.windowUs) || Math.max(1, ctx.windowSeconds * 1e6);
  const findings: Finding[] = [];
  let throttledCgroups = 0;
  for (const r of rows) {
    const periods = num(r.periods);
    const throttled = num(r.throttledPeriods);
    const throttledUs = num(r.throttledUs);
    if (throttled <= 0) continue;
    throttledCgroups++;
    const periodShare = periods ? throttled / periods : 0;
    if (throttled < MIN_THROTTLED || periodShare < WARN_PERIOD_SHARE) continue;
    const cgroup = str(r.cgroup) || '?';
    const quotaUs = isObj(r) && r.quotaUs !== undefined ? num(r.quotaUs) : undefined;
    const periodUs = num(r.periodUs) || 100_000;
    const quota =
      quotaUs !== undefined
        ? `its quota of ${fmtUs(quotaUs)} per ${fmtUs(periodUs)} (${+(quotaUs / periodUs).toFixed(2)} CPU)`
        : 'the quota of a parent cgroup';
    const processes = objs(r.processes).map((p) => `${str(p.comm) || '?'} (pid ${num(p.pid)})`);
    const count = num(r.processCount) || processes.length;
    const who = processes.length
      ? `; in it: ${listText(processes, 3)}${count > 3 && processes.length <= 3 ? ` and ${count - processes.length} more` : ''}`
      : '';
    const windowShare = throttledUs / windowUs;
    const severity = periodShare >= CRITICAL_PERIOD_SHARE ? 'critical' : 'warning';
    const service = str(r.service);
    const named = service && service !== '/' && !cgroup.endsWith(`/${service}`) ? ` (${service})` : '';
    const title =
      `cgroup ${cgroup}${named} (${str(r.hierarchy) || 'cgroup'}) on ${ctx.node} was throttled by ${quota} in ${fmtCount(throttled)} of ${plural(periods, 'period')} (${fmtPct(periodShare)}), ` +
      `${fmtUs(throttledUs)} throttled in the ${fmtSeconds(windowUs / 1e6)} window (${fmtPct(windowShare)}, summed over CPUs)${who}: ` +
      `each throttled period stops all its threads until the next one; next: raise its quota, or profile its processes (high-cpu) to see what spends it.`;
    findings.push(
      makeFinding(
        ctx,
        `throttled:${cgroup}`,
        severity,
        title,
        {
          cgroup,
          hierarchy: str(r.hierarchy),
          service: str(r.service),
          ...(quotaUs !== undefined ? { quotaUs, limitCpus: round(quotaUs / periodUs) } : {}),
          periodUs,
          periods,
          throttledPeriods: throttled,
          throttledMs: round(throttledUs / 1000),
          ...(r.usageUs !== undefined ? { usageMs: round(num(r.usageUs) / 1000) } : {}),
          processes: objs(r.processes).slice(0, 10),
          processCount: count,
          impact: { windowShareLost: round(windowShare), throttledShareOfPeriods: round(periodShare), lostMs: round(throttledUs / 1000) },
        },
        periodShare * 100,
      ),
    );
    // Its processes' run-queue waits (runqlat) are the throttling: it leads them. Throttled in most periods, a Python process's
    // GIL is held through its holder's throttled time too (a wait up to the rest of the period, not the 5 ms switch interval).
    const pids = objs(r.processes).map((p) => num(p.pid));
    const explains = [...pids.map((pid) => `runq-pid:${pid}`), ...(severity === 'critical' ? pids.map((pid) => `gil-of:${pid}`) : [])];
    findings.at(-1)!.links = { explains, leads: true };
  }
  const steal = stealFinding(data, ctx);
  if (steal) findings.unshift(steal);
  const checked = `CPU throttling (${plural(rows.length, 'cgroup')} read${throttledCgroups ? `, ${fmtCount(throttledCgroups)} throttled` : ''}) and steal time`;
  return { findings, checked };
}

/** The hypervisor took at least this share of the machine's CPU time (steal): a finding. */
const STEAL_SHARE = 0.05;

/** Steal time over the window: CPU time the virtual machine's CPUs had work for but did not get. */
function stealFinding(data: Obj, ctx: AnalysisContext): Finding | undefined {
  const host = isObj(data.host) ? data.host : undefined;
  const stealMs = num(host?.stealMs);
  const totalMs = num(host?.totalMs);
  if (!host || !totalMs || stealMs / totalMs < STEAL_SHARE) return undefined;
  const share = stealMs / totalMs;
  const cpus = num(host.cpus) || 1;
  const windowS = totalMs / cpus / 1000;
  const finding = makeFinding(
    ctx,
    'steal',
    'warning',
    `The hypervisor took ${fmtPct(share)} of ${ctx.node}'s CPU time over the ${fmtSeconds(windowS)} window (steal: ${fmtSeconds(stealMs / 1000)} summed over ${plural(cpus, 'CPU')}): ` +
      "its virtual CPUs had work but the host ran something else, which slows every process here alike; next: the instance's CPU credits (a burstable type out of them), neighbours on the host, or a larger or dedicated instance.",
    { stealMs, totalMs, cpus, stealShare: round(share) },
    share * 100,
    timeImpact(stealMs / 1000, windowS, `${fmtSeconds(stealMs / 1000)} of CPU time stolen, summed over CPUs`, ['latency', 'cpu']),
  );
  // Tasks waiting for a CPU (runqlat) wait longer on CPUs the host takes: it explains the saturation.
  return { ...finding, links: { explains: ['cpu-saturation'], leads: true } };
}
