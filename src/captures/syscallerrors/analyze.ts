// syscallerrors' checks: a (program, syscall, errno, path) failing at or over
// failedCallsPerSecond is a warning naming all four and the rate; the same
// across the program's processes is one finding. Normal behaviour (EAGAIN, PATH
// searches, probes: errnos.ts) is never a warning: when it is hot it is one
// info finding, said to be normal.
import { addTo, makeFinding, num, objs, str, topKeys, type CaptureAnalysis, type AnalysisContext, type Obj } from '../../analysis/common.js';
import { fmtRate, fmtSeconds, listText, plural } from '../../analysis/format.js';
import type { OpenHit, RuleEventSource } from '../../analysis/rules.js';
import type { Finding } from '../../analysis/types.js';
import { OPEN_CALLS } from './file-calls.js';

/** What to look at next, by errno. */
const NEXT: Record<string, string> = {
  ENOENT: 'the path does not exist: check the configuration that names it, or the deploy that should have put it there',
  ENOTDIR: 'a part of the path is not a directory: check the configuration that names it',
  EACCES: 'permission denied: check the file modes, the user it runs as and security policies (AppArmor, SELinux)',
  EPERM: 'not permitted: check capabilities, seccomp and security policies',
  EMFILE: 'the process is out of file descriptors: look for a descriptor leak or raise its limit (ulimit -n)',
  ENFILE: 'the host is out of file descriptors: look at fs.file-max and who holds them',
  ENOSPC: 'no space left on the device: look at disk usage and inodes',
  EDQUOT: 'a quota is exhausted',
  ENOMEM: 'the kernel could not allocate memory for it: look at memory pressure and limits',
  ECONNREFUSED: 'nothing listens at the other end: look at the peer (tcpconnlat, tcpreset)',
  ECONNRESET: 'the peer reset the connection: look at the peer (tcpreset)',
  EPIPE: 'the peer closed the connection first',
  EBADF: 'it uses a closed file descriptor: a bug in the program',
  EFAULT: 'it passes a bad pointer: a bug in the program',
  EROFS: 'the filesystem is read-only',
  EIO: 'an I/O error: look at the kernel log and the disk',
};

interface Group {
  comm: string;
  syscall: string;
  errno: string;
  path?: string;
  normal?: string;
  count: number;
  pids: Set<number>;
  /** Processes whose failures were folded into a row's count (beyond the pids). */
  otherProcesses: number;
  cgroups: Set<string>;
  rows: Obj[];
}

function groups(rows: Obj[]): Group[] {
  const byCause = new Map<string, Group>();
  for (const r of rows) {
    const key = [str(r.comm), str(r.syscall), str(r.errno), str(r.path)].join('\0');
    let g = byCause.get(key);
    if (!g) {
      g = { comm: str(r.comm), syscall: str(r.syscall), errno: str(r.errno), count: 0, pids: new Set(), otherProcesses: 0, cgroups: new Set(), rows: [] };
      if (str(r.path)) g.path = str(r.path);
      if (str(r.normal)) g.normal = str(r.normal);
      byCause.set(key, g);
    }
    g.count += num(r.count);
    g.pids.add(num(r.pid));
    g.otherProcesses += num(r.otherProcesses);
    if (str(r.cgroup) && str(r.cgroup) !== '/') g.cgroups.add(str(r.cgroup));
    g.rows.push(r);
  }
  return [...byCause.values()].sort((a, b) => b.count - a.count);
}

const processesOf = (g: Group) => g.pids.size + g.otherProcesses;
const callText = (g: Group) => `${g.syscall}(${g.path ? JSON.stringify(g.path) : ''})`;
const pidText = (pids: Set<number>) => {
  const list = [...pids].sort((a, b) => a - b).map(String);
  return `pid${list.length > 1 ? 's' : ''} ${listText(list, 4)}`;
};

/** What a finding about one failure shows: who, which call, how often, the first and last. */
const failureEvidence = (g: Group) => ({
  comm: g.comm,
  pids: [...g.pids],
  syscall: g.syscall,
  errno: g.errno,
  ...(g.path ? { path: g.path } : {}),
  failures: g.count,
  examples: examples(g),
});

function examples(g: Group): Obj[] {
  const byTime = [...g.rows].sort((a, b) => str(a.firstSeen).localeCompare(str(b.firstSeen)));
  const last = [...g.rows].sort((a, b) => str(b.lastSeen).localeCompare(str(a.lastSeen)))[0];
  return [byTime[0]!, ...(last && last !== byTime[0] ? [last] : [])];
}

function analyzeSyscallerrors(data: Obj, ctx: AnalysisContext): CaptureAnalysis {
  const rows = objs(data.rows);
  const window = Math.max(ctx.windowSeconds, 1e-3);
  const threshold = ctx.thresholds.failedCallsPerSecond;
  const failures = num(data.failures) || rows.reduce((a, r) => a + num(r.count), 0);
  const findings: Finding[] = [];
  const all = groups(rows);
  const impact = (n: number) => ({ events: n, perSecond: n / window, windowSeconds: ctx.windowSeconds, shareOfFailures: failures ? n / failures : 0 });

  // A failing call explains its program's exit loop (signals: `ends:<comm>`): a service that cannot open its config exits.
  const explainsEnds = (g: Group) => ({ explains: [`ends:${g.comm}`] });
  for (const g of all.filter((x) => !x.normal && x.count / window >= threshold && x.count > 0)) {
    const rate = g.count / window;
    const cgroup = g.cgroups.size ? `, cgroup ${[...g.cgroups][0]}` : '';
    const title =
      `${g.comm || 'A process'} (${pidText(g.pids)}${cgroup}) failed ${callText(g)} with ${g.errno} ${plural(g.count, 'time')} in ${fmtSeconds(ctx.windowSeconds)} on ${ctx.node} ` +
      `(${fmtRate(rate)}, threshold ${fmtRate(threshold)}): ${NEXT[g.errno] ?? `look at why ${g.comm || 'it'} keeps retrying it`}.`;
    findings.push(
      makeFinding(
        ctx,
        `${g.comm}:${g.syscall}:${g.errno}:${g.path ?? ''}`,
        'warning',
        title,
        { ...failureEvidence(g), perSecond: rate, threshold, impact: impact(g.count) },
        rate / Math.max(threshold, 1e-3),
      ),
    );
    findings.at(-1)!.links = explainsEnds(g);
  }

  // Below the rate threshold, the same failure in many short-lived processes of one program is a candidate
  // cause of its restart loop: kept only when that loop is found (each start fails once, then exits).
  for (const g of all.filter((x) => !x.normal && x.count / window < threshold && processesOf(x) >= ctx.thresholds.crashLoopExits)) {
    const title = `every start of ${g.comm || 'a program'} failed ${callText(g)} with ${g.errno} (${plural(processesOf(g), 'process', 'processes')}, ${plural(g.count, 'failure')} in ${fmtSeconds(ctx.windowSeconds)}): ${NEXT[g.errno] ?? `look at why ${g.comm || 'it'} fails it`}.`;
    const evidence = { ...failureEvidence(g), processes: processesOf(g) };
    findings.push({
      ...makeFinding(ctx, `starts:${g.comm}:${g.syscall}:${g.errno}:${g.path ?? ''}`, 'info', title, evidence, 0),
      links: { ...explainsEnds(g), onlyAsCause: true },
    });
  }

  // Normal behaviour, when hot: one info finding so it is seen, said to be normal.
  const hotNormal = all.filter((x) => x.normal && x.count / window >= threshold);
  if (hotNormal.length) {
    const n = hotNormal.reduce((a, g) => a + g.count, 0);
    const reasons = new Map<string, number>();
    for (const g of hotNormal) addTo(reasons, g.normal!, g.count);
    const top = hotNormal.slice(0, 3).map((g) => `${g.comm} ${g.syscall} ${g.errno} (${fmtRate(g.count / window)})`);
    findings.push(
      makeFinding(
        ctx,
        'normal',
        'info',
        `${plural(n, 'failing call')} in ${fmtSeconds(ctx.windowSeconds)} on ${ctx.node} are normal behaviour (${listText(topKeys(reasons, 2))}), mostly ${listText(top)}: not a cause by themselves.`,
        {
          failures: n,
          reasons: Object.fromEntries(reasons),
          impact: impact(n),
          top: hotNormal.slice(0, 10).map((g) => ({ comm: g.comm, syscall: g.syscall, errno: g.errno, path: g.path, failures: g.count, pids: [...g.pids] })),
        },
        0,
      ),
    );
  }
  const normal = num(data.normalFailures);
  return { findings, checked: `failing system calls (${plural(failures, 'failure')}, ${fmtCount(normal)} of them normal behaviour)` };
}

const fmtCount = (n: number) => n.toLocaleString('en-US');

/** Failed opens, for the runbook rules (suspicious-activity: refused opens of sensitive files). */
function openRecords(data: Obj): OpenHit[] {
  return objs(data.rows)
    .filter((r) => OPEN_CALLS.has(str(r.syscall)) && str(r.path))
    .map((r) => ({ kind: 'open', time: str(r.lastSeen), pid: num(r.pid), comm: str(r.comm), path: str(r.path), flags: '', write: false, error: str(r.errno) }));
}

export const syscallerrorsAnalysis = { checks: 'failing system calls', analyze: analyzeSyscallerrors };
export const syscallerrorsRuleEvents: RuleEventSource = { kind: 'open', records: openRecords };
