// iothrottle's checks: a cgroup that read or wrote a disk at one of its limits
// (AT_LIMIT of it or more, over the window) has its processes' I/O waiting in
// the kernel's throttle, where a disk capture sees a fast disk: it explains
// their waits for disk I/O (offcputime) and leads them. One finding per
// cgroup and disk, its processes named.
import { isObj, makeFinding, num, objs, str, type AnalysisContext, type CaptureAnalysis, type Obj } from '../../analysis/common.js';
import type { Finding } from '../../analysis/types.js';
import { fmtBytes, fmtCount, fmtSeconds, listText, plural } from '../../format/index.js';

/** Done at this share of a limit or more over the window: at the limit (the throttle lets a short burst through above it). */
const AT_LIMIT = 0.9;

const KINDS = [
  { kind: 'readBytes', verb: 'read', io: 'reads', rate: (n: number) => `${fmtBytes(n)}/s`, from: 'from' },
  { kind: 'writeBytes', verb: 'wrote', io: 'writes', rate: (n: number) => `${fmtBytes(n)}/s`, from: 'to' },
  { kind: 'reads', verb: 'made', io: 'reads', rate: (n: number) => `${fmtCount(n)} reads/s`, from: 'on' },
  { kind: 'writes', verb: 'made', io: 'writes', rate: (n: number) => `${fmtCount(n)} writes/s`, from: 'on' },
] as const;

export function analyzeIothrottle(data: Obj, ctx: AnalysisContext): CaptureAnalysis {
  const rows = objs(data.rows);
  const windowS = (num(data.windowUs) || ctx.windowSeconds * 1e6) / 1e6;
  const findings: Finding[] = [];
  for (const r of rows) {
    const limits = isObj(r.limits) ? r.limits : {};
    const done = isObj(r.done) ? r.done : {};
    const atLimit = KINDS.filter(({ kind }) => num(limits[kind]) > 0 && num(done[kind]) / windowS >= AT_LIMIT * num(limits[kind]));
    if (atLimit.length) findings.push(limitFinding(r, atLimit, windowS, ctx));
  }
  const limited = new Set(rows.map((r) => str(r.cgroup))).size;
  return { findings, checked: `I/O limits (${plural(limited, 'cgroup')} with a limit, ${fmtCount(findings.length)} at it)` };
}

function limitFinding(r: Obj, atLimit: (typeof KINDS)[number][], windowS: number, ctx: AnalysisContext): Finding {
  const limits = r.limits as Obj;
  const done = r.done as Obj;
  const settings = isObj(r.settings) ? r.settings : {};
  const [first] = atLimit as [(typeof KINDS)[number]];
  const perSecond = num(done[first.kind]) / windowS;
  const cgroup = str(r.cgroup) || '?';
  const service = str(r.service);
  const named = service && service !== '/' && !cgroup.endsWith(`/${service}`) ? ` (${service})` : '';
  const processes = objs(r.processes);
  const count = num(r.processCount) || processes.length;
  const names = processes.map((p) => `${str(p.comm) || '?'} (pid ${num(p.pid)})`);
  const who = names.length ? `${listText(names, 3)}${count > 3 && names.length <= 3 ? ` and ${count - names.length} more` : ''} in ` : '';
  const setting = str(settings[first.kind]) || 'its I/O limit';
  const others = atLimit.slice(1).map((k) => `${k.rate(num(done[k.kind]) / windowS)} at ${k.rate(num(limits[k.kind]))}`);
  const title =
    `${who}cgroup ${cgroup}${named} (${str(r.hierarchy) || 'cgroup'}) on ${ctx.node} ${first.verb} ${first.rate(perSecond)} ${first.from} ${str(r.disk) || str(r.device)} over the ${fmtSeconds(windowS)} window, ` +
    `at its limit of ${first.rate(num(limits[first.kind]))} (${setting})${others.length ? `, and ${listText(others, 3)}` : ''}: ` +
    `its ${first.io} wait in the kernel's throttle, not on the disk; next: raise or remove the limit (${setting}; systemd IO${first.io === 'reads' ? 'Read' : 'Write'}BandwidthMax=, docker --device-${first.io === 'reads' ? 'read' : 'write'}-bps) or ${first.io === 'reads' ? 'read' : 'write'} less.`;
  const pids = processes.map((p) => num(p.pid)).filter((p) => p > 0);
  return {
    ...makeFinding(
      ctx,
      `io-limit:${cgroup}:${str(r.device)}`,
      'warning',
      title,
      {
        cgroup,
        hierarchy: str(r.hierarchy),
        service,
        disk: str(r.disk),
        device: str(r.device),
        limited: first.kind,
        limit: num(limits[first.kind]),
        setting,
        perSecond: Math.round(perSecond),
        ...(first.kind.endsWith('Bytes') ? { bytesPerSecond: Math.round(perSecond) } : {}),
        processes: processes.slice(0, 10),
        processCount: count,
      },
      perSecond / num(limits[first.kind]),
    ),
    cause: { key: `I/O limit of ${cgroup} on ${str(r.device)}`, subject: cgroup },
    // Its processes' waits for disk I/O (offcputime) are this throttle: it leads them.
    links: { explains: pids.map((p) => `disk-wait-pid:${p}`), leads: true },
  };
}
