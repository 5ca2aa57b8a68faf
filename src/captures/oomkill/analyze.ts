// oomkill's checks: one finding per limit that ran out (a memory cgroup, or
// the host), naming the processes it killed, how often, their memory at the
// kill and who was allocating.
import { addTo, makeFinding, num, objs, str, topKeys, type CaptureAnalysis, type AnalysisContext, type Obj } from '../../analysis/common.js';
import { fmtBytes, fmtRate, fmtSeconds, listText, plural, processLabel } from '../../analysis/format.js';
import type { Finding } from '../../analysis/types.js';

/** Kills of one cause in a window past which it is critical (a service killed again and again). */
const CRITICAL_KILLS = 3;

interface Cause {
  limit: Obj | undefined;
  kills: Obj[];
}

function causeKey(kill: Obj): string {
  const limit = kill.limit as Obj | undefined;
  if (!limit || typeof limit !== 'object') return `unknown:${str(kill.cgroup)}`;
  return str(limit.scope) === 'host' ? 'host' : `cgroup:${str(limit.cgroup) || str(limit.cgroupId)}`;
}

function limitText(limit: Obj | undefined): string {
  if (!limit) return 'a limit this kernel does not report';
  const size = fmtBytes(num(limit.limitBytes));
  if (str(limit.scope) === 'host') return `the host's memory (${size}, no cgroup limit was reached: a global OOM)`;
  const where = str(limit.cgroup) ? `memory cgroup ${str(limit.cgroup)}` : `memory cgroup id ${str(limit.cgroupId)} (since removed)`;
  return `the ${size} limit of ${where} (${str(limit.source)})`;
}

function analyzeOomkill(data: Obj, ctx: AnalysisContext): CaptureAnalysis {
  const kills = objs(data.events);
  const causes = new Map<string, Cause>();
  for (const k of kills) {
    const key = causeKey(k);
    let c = causes.get(key);
    if (!c) causes.set(key, (c = { limit: k.limit as Obj | undefined, kills: [] }));
    c.kills.push(k);
  }
  const findings: Finding[] = [];
  const window = Math.max(ctx.windowSeconds, 1e-3);
  for (const [key, c] of causes) {
    const victims = new Map<string, number>();
    const victimPids = new Map<string, number[]>(); // by program: "java (pids 1, 2 and 3)"
    const triggers = new Map<string, number>();
    for (const k of c.kills) {
      addTo(victims, processLabel(k.comm, k.pid), 1);
      const pids = victimPids.get(str(k.comm)) ?? [];
      if (!pids.includes(num(k.pid))) pids.push(num(k.pid));
      victimPids.set(str(k.comm), pids);
      if (num(k.triggerPid) !== num(k.pid)) addTo(triggers, processLabel(k.triggerComm, k.triggerPid), 1);
    }
    const victimText = listText(
      [...victimPids]
        .sort((a, b) => b[1].length - a[1].length)
        .map(([comm, pids]) => `${comm || 'a process'} (pid${pids.length > 1 ? 's' : ''} ${listText(pids.map(String), 4)})`),
    );
    const n = c.kills.length;
    const biggest = [...c.kills].sort((a, b) => num(b.rssBytes) - num(a.rssBytes))[0]!;
    const rss = num(biggest.rssBytes);
    const memory = rss
      ? `; ${processLabel(biggest.comm, biggest.pid)} held ${fmtBytes(rss)} resident (${fmtBytes(num(biggest.anonBytes))} anonymous) at the kill`
      : '';
    const trigger = triggers.size ? `; the allocation that ran out came from ${listText(topKeys(triggers, 3))}` : '';
    const next =
      str(c.limit?.scope) === 'host'
        ? 'look at what grew on the host (memory per process) before raising anything'
        : 'look at the memory growth of what runs in that cgroup, or raise its limit';
    const title =
      `${victimText} ${n === 1 ? 'was' : 'were'} OOM-killed ${n === 1 ? 'once' : `${n} times`} in ${fmtSeconds(ctx.windowSeconds)} ` +
      `on ${ctx.node}, for ${limitText(c.limit)}${memory}${trigger}: ${next}.`;
    findings.push(
      makeFinding(
        ctx,
        key,
        n >= CRITICAL_KILLS ? 'critical' : 'warning',
        title,
        {
          kills: n,
          limit: c.limit ?? null,
          victims: Object.fromEntries(victims),
          ...(triggers.size ? { triggers: Object.fromEntries(triggers) } : {}),
          impact: { events: n, perSecond: n / window, perMinute: (n * 60) / window, windowSeconds: ctx.windowSeconds },
          examples: [c.kills[0], ...(n > 1 ? [c.kills[n - 1]] : [])],
        },
        100 * n,
      ),
    );
    // The kernel's lines about these kills (dmesg, with those before the window) are this finding's effect: it leads.
    findings.at(-1)!.links = { explains: [...victimPids.keys()].map((comm) => `oom-kill:${comm}`), leads: true };
  }
  return { findings, checked: `OOM kills (${plural(kills.length, 'kill')}${kills.length ? `, ${fmtRate(kills.length / window)}` : ''})` };
}

export const oomkillAnalysis = { checks: 'OOM kills', analyze: analyzeOomkill };
