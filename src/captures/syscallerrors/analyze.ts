// syscallerrors' checks: a (program, syscall, errno, path) failing at or over
// failedCallsPerSecond is a warning naming all four and the rate; the same
// across the program's processes is one finding. A resource running out
// (descriptors, disk space, processes: errnos.ts) is one at any rate: a server
// at its descriptor limit backs off between accepts and fails a few times a
// second while its listener refuses connections. Normal behaviour (EAGAIN, PATH
// searches, probes: errnos.ts) is never a warning: when it is hot it is one
// info finding, said to be normal. A call on an fd names what the fd pointed
// to: rows of one file are one failure, a program's sockets are grouped by
// peer (not by fd: one failure per connection would bury the cause). EAGAIN
// from a connect to a unix socket is its listener's accept queue full: never
// normal. A failure for want of room is the effect of fsfill's filesystem.
import { addTo, isObj, makeFinding, num, objs, portOf, str, topKeys, type CaptureAnalysis, type AnalysisContext, type Obj } from '../../analysis/common.js';
import { fmtBytes, fmtCount, fmtRate, fmtSeconds, listText, plural, processLabel } from '../../format/index.js';
import type { OpenHit, RuleEventSource } from '../../analysis/rule-events.js';
import type { Finding } from '../../analysis/types.js';
import { deletedOpenText, type DeletedOpen } from '../deleted-open-files.js';
import { exhaustion, isPortExhaustion, ROOM_ERRNOS } from './errnos.js';
import { censusText, type FdCensus } from './fd-census.js';
import { processLimitText, type ProcessLimit } from './process-limit.js';
import { portCensusText, type PortCensus } from './port-census.js';
import { OPEN_CALLS } from './file-calls.js';
import { listenerText, type UnixListener } from '../unix-sockets.js';
import { lockBusyFindings } from './lock-busy.js';

/** What to look at next, by errno. */
const NEXT: Record<string, string> = {
  ENOENT: 'the path does not exist: check the configuration that names it, or the deploy that should have put it there',
  ENOTDIR: 'a part of the path is not a directory: check the configuration that names it',
  EACCES: 'permission denied: check the file modes, the user it runs as and security policies (AppArmor, SELinux)',
  EPERM: 'not permitted: check capabilities, seccomp and security policies',
  ENOMEM: 'the kernel could not allocate memory for it: look at memory pressure and limits',
  ECONNREFUSED: 'nothing listens at the other end: look at the peer (tcpconnlat, tcpreset)',
  ECONNRESET: 'the peer reset the connection: look at the peer (tcpreset)',
  EPIPE: 'the peer closed the connection first',
  EBADF: 'it uses a closed file descriptor: a bug in the program',
  EFAULT: 'it passes a bad pointer: a bug in the program',
  EROFS: 'the filesystem is read-only',
  EIO: 'an I/O error: look at the kernel log and the disk',
};
/** What to look at next when the call named a unix socket (a local server by its socket file). */
const UNIX_NEXT: Record<string, string> = {
  ECONNREFUSED:
    'nothing listens on it: the socket file is left by a server that stopped or crashed (or listens in another network namespace); look at why it is not running (restarts)',
  ENOENT: 'the socket file does not exist: its server is not running, or listens at another path (check both configurations)',
  EACCES:
    "permission denied on the socket file or its directory: check its mode and owner against the user the client runs as (the server's listen.owner, listen.mode)",
  EADDRINUSE: 'the socket file is already there (left by an earlier run, or another server uses it): remove it before binding, or choose another path',
};

const obj = (v: unknown): Obj | undefined => (isObj(v) ? v : undefined);

interface Group {
  comm: string;
  syscall: string;
  errno: string;
  path?: string;
  /** connect, bind, sendto to a unix socket: its name, and (a connect refused) its listener. */
  unixSocket?: string;
  listener?: UnixListener;
  /** fd calls: what the fds pointed to (fdTarget.name), and the fds. */
  target?: string;
  targetKind?: string;
  fds: Set<number>;
  filesystem?: Obj;
  normal?: string;
  /** What ran out and where to look, when the failure says a resource is exhausted (errnos.ts). */
  exhausted?: string;
  /** accept() on a TCP listener: its port. */
  listenPort?: number;
  /** The fd is a socket with no peer (a listener, or one not connected): a call on it, not to it. */
  unconnected?: boolean;
  /** EMFILE: what the process held (fd-census.ts). */
  census?: FdCensus;
  /** EAGAIN from fork or clone: the limit the process was at (process-limit.ts). */
  limit?: ProcessLimit;
  /** EADDRNOTAVAIL from connect: its namespace's TCP sockets (port-census.ts). */
  ports?: PortCensus;
  /** The inet address a bind asked for, and (EADDRINUSE) who listens there (port-holders.ts). */
  asked?: string;
  holder?: Obj;
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
    const target = obj(r.fdTarget);
    const key = [str(r.comm), str(r.syscall), str(r.errno), str(r.path), str(r.unixSocket), str(target?.name)].join('\0');
    let g = byCause.get(key);
    if (!g) {
      g = {
        comm: str(r.comm),
        syscall: str(r.syscall),
        errno: str(r.errno),
        fds: new Set(),
        count: 0,
        pids: new Set(),
        otherProcesses: 0,
        cgroups: new Set(),
        rows: [],
      };
      if (str(r.path)) g.path = str(r.path);
      if (str(r.unixSocket)) g.unixSocket = str(r.unixSocket);
      if (target && str(target.name)) [g.target, g.targetKind] = [str(target.name), str(target.kind)];
      if (str(r.normal)) g.normal = str(r.normal);
      const exhausted = exhaustion(g.syscall, g.errno, g.unixSocket);
      if (exhausted) g.exhausted = exhausted;
      const port = ACCEPTS.has(g.syscall) ? listenPortOf(target) : undefined;
      if (port) g.listenPort = port;
      if (str(target?.kind) === 'socket' && !target?.remote) g.unconnected = true;
      byCause.set(key, g);
    }
    if (typeof r.fd === 'number') g.fds.add(r.fd);
    if (!g.filesystem) g.filesystem = obj(target?.filesystem) ?? obj(r.filesystem);
    if (!g.listener && obj(r.listener)) g.listener = r.listener as unknown as UnixListener;
    if (!g.census && obj(r.fdCensus)) g.census = r.fdCensus as unknown as FdCensus;
    if (!g.limit && obj(r.processLimit)) g.limit = r.processLimit as ProcessLimit;
    if (!g.ports && obj(r.portCensus)) g.ports = r.portCensus as unknown as PortCensus;
    if (!g.asked && str(r.asked)) g.asked = str(r.asked);
    if (!g.holder && obj(r.portHolder)) g.holder = obj(r.portHolder);
    g.count += num(r.count);
    g.pids.add(num(r.pid));
    g.otherProcesses += num(r.otherProcesses);
    if (str(r.cgroup) && str(r.cgroup) !== '/') g.cgroups.add(str(r.cgroup));
    g.rows.push(r);
  }
  return [...byCause.values()].sort((a, b) => b.count - a.count);
}

/** ", holding 64 of its 64 descriptors: ...", ", at 8 of the 8 tasks its cgroup /svc allows": what ran out, where it was read. */
function resourceText(g: Group): string {
  const text = g.census
    ? censusText(g.census)
    : g.limit
      ? processLimitText(g.limit)
      : g.ports
        ? portCensusText(g.ports)
        : g.listener
          ? listenerText(g.listener)
          : undefined;
  return text ? `, ${text}` : '';
}

const ACCEPTS = new Set(['accept', 'accept4']);

/** A TCP listener's port, from what the fd pointed to (unconnected: its own address). */
function listenPortOf(target: Obj | undefined): number | undefined {
  if (str(target?.kind) !== 'socket' || str(target?.protocol) !== 'tcp' || target?.remote) return undefined;
  const port = portOf(str(target!.local));
  return port || undefined;
}

/** Why accept() failed when it means the listener stops taking connections (not EAGAIN, not a signal). */
const ACCEPT_STALLED = new Set(['EMFILE', 'ENFILE', 'ENOBUFS', 'ENOMEM']);

const processesOf = (g: Group) => g.pids.size + g.otherProcesses;
const callText = (g: Group) => `${g.syscall}(${g.path ? JSON.stringify(g.path) : ''})${g.unixSocket ? ` to unix socket ${g.unixSocket}` : ''}${fdText(g)}`;

/** " to /var/log/app.log (fd 3)", " to TCP 10.0.0.5:6379 (12 connections)", " on fd 3 (closed before the capture ended)". */
function fdText(g: Group): string {
  if (!g.fds.size) return '';
  const fds = [...g.fds].sort((a, b) => a - b).map(String);
  const which = g.targetKind === 'socket' && fds.length > 4 ? plural(fds.length, 'connection') : `fd${fds.length > 1 ? 's' : ''} ${listText(fds, 3)}`;
  if (!g.target) return ` on ${which}`;
  if (g.targetKind === 'gone') return ` on ${which} (${g.target})`;
  return ` ${g.unconnected ? 'on' : 'to'} ${g.target} (${which})`;
}

/** For ENOSPC/EDQUOT on a file: its filesystem and what is free on it. */
function roomText(g: Group): string | undefined {
  const fs = g.filesystem;
  if (!fs || !str(fs.mountPoint)) return undefined;
  const where = `${str(fs.mountPoint)} (${str(fs.type)})`;
  if (typeof fs.freeBytes !== 'number' || typeof fs.sizeBytes !== 'number') return `on ${where}`;
  const inodes = typeof fs.freeInodes === 'number' && fs.freeInodes === 0 ? ', no inodes free' : '';
  return `${where} has ${fmtBytes(fs.freeBytes)} of ${fmtBytes(fs.sizeBytes)} free${inodes}${deletedOpenText(fs.deletedOpen as DeletedOpen | undefined, fs.sizeBytes)}`;
}

/** bind refused with EADDRINUSE on an inet address: the port, and who listens there. */
function portTakenText(g: Group): string | undefined {
  if (g.syscall !== 'bind' || g.errno !== 'EADDRINUSE' || !g.asked) return undefined;
  const port = portOf(g.asked);
  const holder = g.holder
    ? `${processLabel(g.holder.comm, g.holder.pid)} listens on ${str(g.holder.listener)}`
    : `another socket holds it (ss -ltnp 'sport = :${port}')`;
  return `it asked for ${g.asked} and port ${port} is taken: ${holder} (an earlier instance still running, or another service given the same port); stop that one, or give one of them another port`;
}

const nextStep = (g: Group, otherwise: string) => {
  const room = ROOM_ERRNOS.has(g.errno) ? roomText(g) : undefined;
  const next = g.exhausted ?? (g.unixSocket ? UNIX_NEXT[g.errno] : undefined) ?? portTakenText(g) ?? NEXT[g.errno] ?? otherwise;
  return room ? `${next} (${room})` : next;
};
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
  ...(g.unixSocket ? { unixSocket: g.unixSocket } : {}),
  ...(g.listener ? { listener: g.listener } : {}),
  ...(g.fds.size ? { fds: [...g.fds], ...(g.target ? { fdTarget: g.target } : {}) } : {}),
  ...(g.filesystem ? { filesystem: g.filesystem } : {}),
  ...(g.census ? { descriptors: g.census } : {}),
  ...(g.limit ? { processLimit: g.limit } : {}),
  ...(g.ports ? { sockets: g.ports } : {}),
  ...(g.asked ? { asked: g.asked } : {}),
  ...(g.holder ? { portHolder: g.holder } : {}),
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
  // A lock found held again and again, retried between sleeps: its own finding, not a failure count.
  const locks = lockBusyFindings(rows, ctx);
  const findings: Finding[] = [...locks.findings];
  const all = groups(rows.filter((r) => !locks.told.has(r)));
  const impact = (n: number) => ({ events: n, perSecond: n / window, windowSeconds: ctx.windowSeconds, shareOfFailures: failures ? n / failures : 0 });

  // A failing call explains its program's exit loop (signals: `ends:<comm>`): a service that cannot open its config exits.
  const explainsEnds = (g: Group) => ({ explains: [`ends:${g.comm}`] });
  // A listener whose accept() fails for want of descriptors or memory takes no connections: it explains its full
  // accept queue (tcpdrop) and leads it, the refused connections being its effect. A connect() with no local port
  // left fails after its socket entered SYN_SENT: tcpconnlat sees it closed before it connected; this says why.
  // No room on a filesystem: fsfill's finding about it (full, or filling) is the cause, this failure its effect.
  const links = (g: Group) => {
    const room = ROOM_ERRNOS.has(g.errno) && str(g.filesystem?.device) ? { shows: [`room-of:${str(g.filesystem!.device)}`] } : {};
    return g.listenPort && ACCEPT_STALLED.has(g.errno)
      ? { explains: [`ends:${g.comm}`, `accept-queue-port:${g.listenPort}`], leads: true }
      : isPortExhaustion(g.syscall, g.errno)
        ? { explains: [`ends:${g.comm}`, ...[...g.pids].map((p) => `closed-connect-pid:${p}`)], leads: true }
        : { ...explainsEnds(g), ...room };
  };
  for (const g of all.filter((x) => !x.normal && x.count > 0 && (x.count / window >= threshold || x.exhausted))) {
    const rate = g.count / window;
    const cgroup = g.cgroups.size ? `, cgroup ${[...g.cgroups][0]}` : '';
    // Below the threshold only a resource running out is here: its rate alone.
    const rateText = rate >= threshold ? `${fmtRate(rate)}, threshold ${fmtRate(threshold)}` : fmtRate(rate);
    const title =
      `${g.comm || 'A process'} (${pidText(g.pids)}${cgroup}) failed ${callText(g)} with ${g.errno} ${plural(g.count, 'time')} in ${fmtSeconds(ctx.windowSeconds)} on ${ctx.node} ` +
      `(${rateText})${resourceText(g)}: ${nextStep(g, `look at why ${g.comm || 'it'} keeps retrying it`)}.`;
    findings.push(
      makeFinding(
        ctx,
        `${g.comm}:${g.syscall}:${g.errno}:${g.path ?? g.unixSocket ?? g.target ?? ''}`,
        'warning',
        title,
        { ...failureEvidence(g), perSecond: rate, threshold, impact: impact(g.count) },
        rate / Math.max(threshold, 1e-3),
      ),
    );
    findings.at(-1)!.links = links(g);
  }

  // Below the rate threshold, the same failure in many short-lived processes of one program is a candidate
  // cause of its restart loop: kept only when that loop is found (each start fails once, then exits).
  for (const g of all.filter((x) => !x.normal && !x.exhausted && x.count / window < threshold && processesOf(x) >= ctx.thresholds.crashLoopExits)) {
    const title = `every start of ${g.comm || 'a program'} failed ${callText(g)} with ${g.errno} (${plural(processesOf(g), 'process', 'processes')}, ${plural(g.count, 'failure')} in ${fmtSeconds(ctx.windowSeconds)}): ${nextStep(g, `look at why ${g.comm || 'it'} fails it`)}.`;
    const evidence = { ...failureEvidence(g), processes: processesOf(g) };
    findings.push({
      ...makeFinding(ctx, `starts:${g.comm}:${g.syscall}:${g.errno}:${g.path ?? g.unixSocket ?? g.target ?? ''}`, 'info', title, evidence, 0),
      links: { ...explainsEnds(g), onlyAsCause: true },
    });
  }

  // Normal behaviour, when hot: one info finding so it is seen, said to be normal.
  const hotNormal = all.filter((x) => x.normal && x.count / window >= threshold);
  if (hotNormal.length) {
    const n = hotNormal.reduce((a, g) => a + g.count, 0);
    const reasons = new Map<string, number>();
    for (const g of hotNormal) addTo(reasons, g.normal!, g.count);
    // One entry per program, call and errno (its rows on different fds are one here).
    const byCall = new Map<string, number>();
    for (const g of hotNormal) addTo(byCall, `${g.comm} ${g.syscall} ${g.errno}`, g.count);
    const top = [...byCall].slice(0, 3).map(([call, n]) => `${call} (${fmtRate(n / window)})`);
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

/** Failed opens, for the runbook rules (suspicious-activity: refused opens of sensitive files). */
function openRecords(data: Obj): OpenHit[] {
  return objs(data.rows)
    .filter((r) => OPEN_CALLS.has(str(r.syscall)) && str(r.path))
    .map((r) => ({ kind: 'open', time: str(r.lastSeen), pid: num(r.pid), comm: str(r.comm), path: str(r.path), flags: '', write: false, error: str(r.errno) }));
}

export const syscallerrorsAnalysis = { checks: 'failing system calls', analyze: analyzeSyscallerrors };
export const syscallerrorsRuleEvents: RuleEventSource = { kind: 'open', records: openRecords };
