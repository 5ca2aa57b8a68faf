// dnslat's checks:
// - a process's lookups to one server that waited dnsSlowMs or more: the time
//   they waited is the impact; asked again after a timeout, the queries or
//   answers were lost; the same server slow for several processes is one cause;
//   a server that left queries unanswered until the resolver asked its next
//   nameserver is named with the resolv.conf that lists it first;
// - a server answering SERVFAIL or REFUSED: it failed them;
// - most answers NXDOMAIN: a search list expanding short names (ndots), info.
import {
  latencySeverity,
  makeFinding,
  num,
  objs,
  str,
  timeImpact,
  unionLength,
  type AnalysisContext,
  type CaptureAnalysis,
  type Obj,
} from '../../analysis/common.js';
import { fmtCount, fmtMs, fmtPct, listText, plural } from '../../format/index.js';
import type { Finding } from '../../analysis/types.js';

/** Answers that say the server failed, not that the name is wrong. */
const SERVER_FAILURES = ['SERVFAIL', 'REFUSED'];
/** NXDOMAIN for this share of a process's answers, and at least this many, is worth saying. */
const NXDOMAIN_SHARE = 0.5;
const MIN_NXDOMAIN = 10;
const MAX_NAMES = 3;
/** Unanswered queries of one record type, with every other type answered, that make it that type's loss. */
const MIN_ONE_TYPE_LOST = 3;

interface Client {
  pid: number;
  comm: string;
  server: string;
  cgroup: string;
  rows: Obj[];
}

/** A row's kept waits (its longest), in ms. */
export const waitsOf = (r: Obj): number[] => (Array.isArray(r.waitsMs) ? r.waitsMs.filter((w): w is number => typeof w === 'number') : []);

/** The time a process spent in its waits of `min` ms or more: lookups asked at once (A and AAAA) overlap, counted once. */
function timeWaited(rows: Obj[], min: number): number {
  const spans: [number, number][] = [];
  let unplaced = 0;
  for (const r of rows) {
    const starts = Array.isArray(r.waitStartsMs) ? r.waitStartsMs : [];
    waitsOf(r).forEach((w, i) => {
      if (w < min) return;
      const start = starts[i];
      if (typeof start === 'number') spans.push([start, start + w]);
      else unplaced += w; // a row from before the starts were kept
    });
  }
  return unplaced + unionLength(spans);
}
/** Answers a row got with this RCODE. */
const answersWith = (r: Obj, code: string) => num((r.rcodes as Obj | undefined)?.[code]);
const nameOf = (r: Obj) => `${str(r.name)} (${str(r.type)})`;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
const sum = (rows: Obj[], field: string) => rows.reduce((n, r) => n + num(r[field]), 0);

function analyzeDnslat(data: Obj, ctx: AnalysisContext): CaptureAnalysis {
  const rows = objs(data.rows);
  const threshold = ctx.thresholds.dnsSlowMs;
  const clients = new Map<string, Client>();
  for (const r of rows) {
    const key = `${num(r.pid)}\0${str(r.server)}`;
    let c = clients.get(key);
    if (!c) clients.set(key, (c = { pid: num(r.pid), comm: str(r.comm), server: str(r.server), cgroup: str(r.cgroup), rows: [] }));
    c.rows.push(r);
  }
  const findings: Finding[] = [];
  const resolvConf = (data.resolvConf ?? {}) as Record<string, Obj>;
  for (const c of clients.values()) {
    const slow = c.rows.flatMap(waitsOf).filter((w) => w >= threshold);
    if (slow.length) findings.push(slowFinding(c, slow, threshold, ctx, { clients: [...clients.values()], resolvConf: resolvConf[c.pid] }));
  }
  findings.push(...serverFailures(rows, ctx), ...searchListMisses([...clients.values()], ctx));
  const queries = num(data.queries);
  const unanswered = num(data.unanswered) + num(data.waiting);
  return { findings, checked: `DNS lookups (${plural(queries, 'query', 'queries')}, ${fmtCount(unanswered)} unanswered)` };
}

function slowFinding(c: Client, slow: number[], threshold: number, ctx: AnalysisContext, around: { clients: Client[]; resolvConf?: Obj }): Finding {
  const lostMs = timeWaited(c.rows, threshold);
  const typical = median(slow);
  const queries = sum(c.rows, 'queries');
  const retries = sum(c.rows, 'retries');
  const waiting = sum(c.rows, 'waiting');
  const slowNames = c.rows
    .map((r) => ({ name: nameOf(r), n: waitsOf(r).filter((w) => w >= threshold).length }))
    .filter((x) => x.n > 0)
    .sort((a, b) => b.n - a.n)
    .map((x) => x.name);
  const who = `${c.comm || '?'} (pid ${c.pid}${c.cgroup && c.cgroup !== '/' ? `, cgroup ${c.cgroup}` : ''})`;
  const failedOverTo = new Map<string, number>();
  for (const r of c.rows)
    for (const [server, n] of Object.entries((r.failedOverTo ?? {}) as Obj)) failedOverTo.set(server, (failedOverTo.get(server) ?? 0) + num(n));
  const [nextServer] = [...failedOverTo].sort((a, b) => b[1] - a[1])[0] ?? [];
  const lost = retries > 0 || waiting > 0;
  const oneType = lost ? onlyTypeLost(c.rows) : undefined;
  const title = nextServer
    ? failoverTitle(c, { who, queries, lostMs, typical, names: slowNames, nextServer, ...around }, ctx)
    : `${who} waited ${fmtMs(lostMs)} for DNS answers from ${c.server} on ${ctx.node}: ${fmtCount(slow.length)} of ${plural(queries, 'query', 'queries')} took ${fmtMs(threshold)} or more ` +
      `(~${fmtMs(typical)} each${retries ? `; ${plural(retries, 'query', 'queries')} asked again after a timeout` : ''}${waiting ? `; ${fmtCount(waiting)} still unanswered at the end` : ''}), ` +
      `for ${listText(slowNames, MAX_NAMES)}; next: ` +
      (oneType
        ? `only its ${oneType.lost} queries went unanswered (${fmtCount(oneType.unanswered)}), while the server answered its ${oneType.answered} queries: ` +
          `a server or firewall on the way that drops ${oneType.lost} queries, or connection tracking losing one of two queries sent at once from one socket; ` +
          `options single-request-reopen in resolv.conf asks them one after another, from two sockets`
        : lost
          ? `where DNS packets to ${c.server} are lost (the path and its firewalls, conntrack, the server dropping under load), or a local cache (nscd, systemd-resolved)`
          : `the DNS server at ${c.server} (its upstreams, its cache) and the path to it, or a local cache (nscd, systemd-resolved)`) +
      '.';
  const impact = timeImpact(
    lostMs / 1000,
    ctx.windowSeconds,
    `${fmtCount(slow.length)} lookups of ~${fmtMs(typical)}, those asked at once counted once: ${fmtMs(lostMs)} waited for DNS`,
    ['latency'],
  );
  return {
    ...makeFinding(
      ctx,
      `slow:${c.pid}:${c.server}`,
      latencySeverity(typical, threshold),
      title,
      {
        pid: c.pid,
        comm: c.comm,
        server: c.server,
        lookups: queries,
        slow: slow.length,
        waitedMs: Math.round(lostMs),
        typicalMs: typical,
        retries,
        unanswered: sum(c.rows, 'unanswered') + waiting,
        ...(nextServer ? { failedOver: failedOverTo.get(nextServer), nextServer } : {}),
        ...(oneType ? { onlyLost: oneType.lost } : {}),
        names: slowNames.slice(0, 10),
        thresholdMs: threshold,
      },
      lostMs / 1000,
      impact,
    ),
    cause: { key: `slow DNS from ${c.server}`, subject: `${c.comm} (pid ${c.pid})` },
    // Its threads blocked in the resolver (offcputime) are these lookups, seen from the other side.
    links: { explains: [`dns-wait-pid:${c.pid}`] },
  };
}

/**
 * One record type alone went unanswered (AAAA, say) while the other type the
 * process asked beside it (A) was answered every time: not a server down,
 * but one type dropped, or one of a pair of queries lost to a race.
 */
function onlyTypeLost(rows: Obj[]): { lost: string; answered: string; unanswered: number } | undefined {
  const byType = new Map<string, { unanswered: number; answered: number }>();
  for (const r of rows) {
    const t = byType.get(str(r.type)) ?? { unanswered: 0, answered: 0 };
    t.unanswered += num(r.unanswered) + num(r.waiting);
    t.answered += num(r.answered);
    byType.set(str(r.type), t);
  }
  const lost = [...byType].filter(([, t]) => t.unanswered > 0);
  const answered = [...byType].filter(([, t]) => t.unanswered === 0 && t.answered > 0);
  // A pattern, not one loss: a few unanswered of the one type.
  if (lost.length !== 1 || lost[0]![1].unanswered < MIN_ONE_TYPE_LOST || !answered.length) return undefined;
  return { lost: lost[0]![0], answered: answered.map(([type]) => type).join(' and '), unanswered: lost[0]![1].unanswered };
}

/**
 * A server the resolver gave up on for its next one: how long each lookup
 * waited for it, what the next one answered, and where the resolver's list
 * comes from (the resolv.conf the process reads).
 */
function failoverTitle(
  c: Client,
  f: { who: string; queries: number; lostMs: number; typical: number; names: string[]; nextServer: string; clients: Client[]; resolvConf?: Obj },
  ctx: AnalysisContext,
): string {
  const answered = sum(c.rows, 'answered');
  const next = f.clients.find((x) => x.pid === c.pid && x.server === f.nextServer);
  const nextWaits = next?.rows.filter((r) => num(r.answered) > 0).flatMap(waitsOf) ?? [];
  const address = hostOf(c.server);
  const nameservers = Array.isArray(f.resolvConf?.nameservers) ? f.resolvConf.nameservers.map(String) : [];
  const options = Array.isArray(f.resolvConf?.options) ? f.resolvConf.options.map(String) : [];
  const place = nameservers.indexOf(address);
  const listed =
    place >= 0
      ? `; ${address} is the ${ORDINALS[place] ?? `no. ${place + 1}`} nameserver of the /etc/resolv.conf it reads (nameserver ${nameservers.join(', ')}${options.length ? `; options ${options.join(' ')}` : ''})`
      : '';
  return (
    `${f.who} waited ${fmtMs(f.lostMs)} for DNS on ${ctx.node}: ${c.server} answered ${answered ? `only ${fmtCount(answered)} of` : 'none of'} its ${plural(f.queries, 'query', 'queries')} ` +
    `(for ${listText(f.names, MAX_NAMES)}); after ~${fmtMs(f.typical)} each its resolver asked ${f.nextServer} instead` +
    (nextWaits.length ? `, which answered in ~${fmtMs(median(nextWaits))}` : '') +
    listed +
    `; next: bring ${address} back or take it out of the resolver's list (${place >= 0 ? "resolv.conf, and what writes it: DHCP, the container runtime, the kubelet's resolvConf" : 'its resolv.conf or resolver settings'}): ` +
    `until then every lookup waits ~${fmtMs(f.typical)} for it before asking the next server` +
    (options.some((o) => o.startsWith('timeout:')) ? '' : ' (options timeout:1 shortens that wait)') +
    '.'
  );
}

const ORDINALS = ['first', 'second', 'third'];
/** "10.0.0.53:53" → "10.0.0.53", "[fd00::53]:53" → "fd00::53". */
const hostOf = (endpoint: string) => endpoint.replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1');

/** Per server and failure code: the names it failed and for whom. */
function serverFailures(rows: Obj[], ctx: AnalysisContext): Finding[] {
  const findings: Finding[] = [];
  for (const code of SERVER_FAILURES) {
    const byServer = new Map<string, Obj[]>();
    for (const r of rows.filter((x) => answersWith(x, code) > 0)) {
      const failed = byServer.get(str(r.server));
      if (failed) failed.push(r);
      else byServer.set(str(r.server), [r]);
    }
    for (const [server, failed] of byServer) {
      const n = failed.reduce((a, r) => a + answersWith(r, code), 0);
      const answers = sum(failed, 'answered');
      const who = listText([...new Set(failed.map((r) => `${str(r.comm)} (pid ${num(r.pid)})`))], 2);
      const names = [...new Set(failed.map(nameOf))];
      findings.push(
        makeFinding(
          ctx,
          `${code}:${server}`,
          'warning',
          `The DNS server ${server} answered ${code} to ${plural(n, 'query', 'queries')} (${fmtPct(n / Math.max(answers, 1))} of their answers) from ${who} on ${ctx.node}, for ${listText(names, MAX_NAMES)}: ` +
            (code === 'SERVFAIL'
              ? 'it could not resolve them (its upstreams, DNSSEC validation, the zone)'
              : 'it refuses to answer this client (its ACLs, rate limiting)') +
            '.',
          { server, rcode: code, failures: n, names: names.slice(0, 10), pids: [...new Set(failed.map((r) => num(r.pid)))] },
          n,
        ),
      );
    }
  }
  return findings;
}

/** A process whose answers are mostly NXDOMAIN: often short names tried under every search domain first. */
function searchListMisses(clients: Client[], ctx: AnalysisContext): Finding[] {
  const findings: Finding[] = [];
  for (const c of clients) {
    const answers = sum(c.rows, 'answered');
    const misses = c.rows.filter((r) => answersWith(r, 'NXDOMAIN') > 0);
    const n = misses.reduce((a, r) => a + answersWith(r, 'NXDOMAIN'), 0);
    if (n < MIN_NXDOMAIN || n < answers * NXDOMAIN_SHARE) continue;
    const names = [...new Set(misses.map((r) => str(r.name)))];
    findings.push(
      makeFinding(
        ctx,
        `nxdomain:${c.pid}:${c.server}`,
        'info',
        `${fmtCount(n)} of ${plural(answers, 'answer')} from ${c.server} to ${c.comm} (pid ${c.pid}) on ${ctx.node} were NXDOMAIN, for ${listText(names, MAX_NAMES)}: ` +
          'names that do not exist, or short names tried under each search domain first (resolv.conf search and options ndots); a trailing dot or a lower ndots saves those lookups.',
        { pid: c.pid, comm: c.comm, server: c.server, nxdomain: n, answers, names: names.slice(0, 10) },
        0,
      ),
    );
  }
  return findings;
}

export const dnslatAnalysis = { checks: 'DNS lookups', analyze: analyzeDnslat };
