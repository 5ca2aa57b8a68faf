// runqlat's checks: Run-queue latency per process or cgroup.
import { latencySeverity, makeFinding, num, objs, str, timeImpact, type CaptureAnalysis, type AnalysisContext, type Obj } from '../../analysis/common.js';
import { fmtMs, fmtPct, fmtUs, plural, processLabel, round } from '../../format/index.js';
import { bucketsOf, countAbove, quantile, sumOf, totalOf } from '../../analysis/histogram.js';
import type { Finding } from '../../analysis/types.js';
import { behindText, crowdedShare, mainCulprit, OWN_SHARE, waitedBehind, type Culprit } from './culprits.js';
import { pinnedFindings } from './pinned.js';

const MIN_RUNQ_WAITS_ALL = 100;
const MIN_RUNQ_WAITS_GROUP = 50;
/** Over the threshold this many times at least: a p99 over a few hundred wakeups is a handful of them (a busy moment on a loaded host). */
const MIN_SLOW_WAITS = 5;
/** Or waits short each that add up: this share of a thread's time (s/s) spent waiting, 1 ms or more a wait on average (a CPU-bound request slowed by a neighbour's time slices). */
const STARVED_SHARE = 0.1;
const STARVED_MEAN_US = 1000;

function analyzeRunqlat(data: Obj, ctx: AnalysisContext): CaptureAnalysis {
  const findings: Finding[] = [];
  const thresholdMs = ctx.thresholds.runqP99Ms;
  const thresholdUs = thresholdMs * 1000;
  const histograms = objs(data.histograms);
  const overall = histograms.find((h) => (h.labels as Obj | undefined)?.scope === 'all');
  const overallBuckets = bucketsOf(overall?.histogram as Obj);
  const waits = totalOf(overallBuckets);
  if (waits >= MIN_RUNQ_WAITS_ALL) {
    const p99 = quantile(overallBuckets, 0.99);
    if (p99 > thresholdUs && countAbove(overallBuckets, thresholdUs) >= MIN_SLOW_WAITS) {
      findings.push(
        linked(
          makeFinding(
            ctx,
            'all',
            latencySeverity(p99, thresholdUs),
            `Runnable tasks waited ${fmtUs(p99)} for a CPU at p99 (threshold ${fmtMs(thresholdMs)}) over ${plural(waits, 'wakeup')}: the CPUs are saturated or something hogs them.`,
            {
              scope: 'all',
              waits,
              waitedMs: round(sumOf(overall?.histogram as Obj) / 1000),
              p50Ms: round(quantile(overallBuckets, 0.5) / 1000),
              p99Ms: round(p99 / 1000),
              thresholdMs,
              buckets: overallBuckets.map((b) => ({ lowUs: b.low, highUs: b.high, count: b.count })),
            },
            p99 / thresholdUs,
            waitImpact(overall?.histogram as Obj, waits, ctx.windowSeconds),
          ),
        ),
      );
    }
  }
  // Who waited most, for the host-wide finding: the per-process or per-cgroup histograms.
  const waitedMost = histograms
    .filter((h) => (h.labels as Obj | undefined)?.scope !== 'all')
    .map((h) => ({ ...((h.labels as Obj | undefined) ?? {}), waitedMs: round(sumOf(h.histogram as Obj) / 1000) }))
    .sort((a, b) => b.waitedMs - a.waitedMs)
    .slice(0, 3);
  if (findings[0] && waitedMost.length) {
    findings[0].evidence = { ...findings[0].evidence, waitedMost };
    // One process waited most of it: what explains its waits (a CPU quota throttling it) explains the host's.
    const total = num(findings[0].evidence.waitedMs);
    const top = waitedMost[0] as Obj;
    if (num(top.pid) && total > 0 && num(top.waitedMs) >= total / 2) findings[0].links = { shows: [`runq-pid:${num(top.pid)}`, 'cpu-saturation'] };
  }
  const groups: Finding[] = [];
  const behindMinUs = num(data.behindMinUs) || 1000;
  for (const h of histograms) {
    const labels = (h.labels as Obj | undefined) ?? {};
    if (labels.scope === 'all') continue;
    const buckets = bucketsOf(h.histogram as Obj);
    const n = totalOf(buckets);
    if (n < MIN_RUNQ_WAITS_GROUP) continue;
    const p99 = quantile(buckets, 0.99);
    const waitedUs = sumOf(h.histogram as Obj);
    const slow = p99 > thresholdUs && countAbove(buckets, thresholdUs) >= MIN_SLOW_WAITS;
    const starved = waitedUs / 1e6 >= STARVED_SHARE * ctx.windowSeconds && waitedUs / n >= STARVED_MEAN_US;
    if (!slow && !starved) continue;
    const who = labels.cgroup !== undefined ? `cgroup ${str(labels.cgroup)}` : processLabel(labels.comm, labels.pid);
    const pid = num(labels.pid);
    const behind = pid ? waitedBehind(data, pid, str(labels.comm)) : undefined;
    const culprit = mainCulprit(behind);
    const own = (behind?.own ?? 0) >= OWN_SHARE;
    const finding = makeFinding(
      ctx,
      `group:${labels.cgroup !== undefined ? str(labels.cgroup) : `${pid}:${str(labels.comm)}`}`,
      own ? 'info' : latencySeverity(p99, thresholdUs),
      `${
        slow
          ? `${who} waited ${fmtUs(p99)} for a CPU at p99 (threshold ${fmtMs(thresholdMs)}) over ${plural(n, 'wakeup')}`
          : `${who} spent ${fmtPct(waitedUs / 1e6 / ctx.windowSeconds)} of the window waiting for a CPU (${plural(n, 'wait')} of ${fmtUs(waitedUs / n)} on average, p99 ${fmtUs(p99)})`
      }${behindText(behind, behindMinUs)}.`,
      {
        ...labels,
        waits: n,
        waitedMs: round(waitedUs / 1000),
        p50Ms: round(quantile(buckets, 0.5) / 1000),
        p99Ms: round(p99 / 1000),
        thresholdMs,
        buckets: buckets.map((b) => ({ lowUs: b.low, highUs: b.high, count: b.count })),
        ...(behind ? { behind: { ...behind, own: round(behind.own), idle: round(behind.idle), others: behind.others.slice(0, 3) } } : {}),
      },
      // Those crowded by other programs first: waits behind its own threads, an idle CPU or Sherlock name no one.
      Math.max(p99 / thresholdUs, waitedUs / 1e6 / ctx.windowSeconds / STARVED_SHARE) * (behind ? Math.max(0.1, crowdedShare(behind)) : 1),
      waitImpact(h.histogram as Obj, n, ctx.windowSeconds),
    );
    // Its waits: its cgroup's quota (runq-pid), the process that held its CPUs (runq-behind), or the busiest ones (cpu-saturation);
    // waits mostly behind its own threads are its own load, not an effect of the busiest processes (it is likely one of them).
    finding.links = {
      shows: [...(pid ? [`runq-pid:${pid}`] : []), ...(culprit ? [behindLink(culprit, str(labels.comm))] : []), ...(own ? [] : ['cpu-saturation'])],
    };
    groups.push(finding);
  }
  groups.sort((a, b) => b.score - a.score);
  findings.push(...groups.slice(0, 3), ...pinnedFindings(data, ctx));
  return { findings, checked: `run-queue latency (${plural(waits || histograms.reduce((s, h) => s + totalOf(bucketsOf(h.histogram as Obj)), 0), 'wait')})` };
}

/** Tasks waiting for a CPU: the processes on CPU most (profile) explain it. */
const linked = (f: Finding): Finding => ({ ...f, links: { shows: ['cpu-saturation'] } });

/** Time runnable tasks spent waiting for a CPU, per second of window. */
function waitImpact(histogram: Obj | undefined, waits: number, windowSeconds: number) {
  const seconds = sumOf(histogram) / 1e6;
  return timeImpact(seconds, windowSeconds, `${plural(waits, 'wakeup')} waited ${seconds.toFixed(2)} s for a CPU in all over ${windowSeconds.toFixed(1)} s`, [
    'cpu',
    'latency',
  ]);
}

export const runqlatAnalysis = { checks: 'run-queue latency', analyze: analyzeRunqlat };

/** The program it waited behind (any of its processes' CPU findings explains it), or, when that has the waiter's own name, its process: the waiter's own finding is no explainer. */
const behindLink = (culprit: Culprit, comm: string) => (culprit.comm === comm ? `runq-behind-pid:${culprit.pids[0]}` : `runq-behind:${culprit.comm}`);
