// dnslat: DNS messages parsed from what the program copies, queries paired
// with answers (retries under the same id and under a new one, a packet seen
// twice, answers to nobody), the findings and baseline from rows; and on the
// real kernel, every query this process sends to a test DNS server on loopback
// (IPv4 and IPv6) is seen
// with its answer's code, a query nobody answers stays waiting, and a pid
// target leaves other processes' lookups out.
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { mergeThresholds } from '../../src/analysis/common.js';
import { dnslat, type DnslatData } from '../../src/captures/dnslat/index.js';
import { parseDnsMessage, type DnsPacket } from '../../src/captures/dnslat/decode.js';
import { Lookups } from '../../src/captures/dnslat/lookups.js';
import { captureAround } from '../helpers/capture-around.js';
import { bpfHandlesOf, kernelSkipReason } from '../helpers/kernel.js';
import { programsDir } from '../eval/incidents.js';
import { dnsLookupRow } from '../analysis/fixtures.js';

const skip = kernelSkipReason();
const TYPES = { A: 1, AAAA: 28 } as const;

/** A DNS query (RD set) for name and type. */
function query(id: number, name: string, type: keyof typeof TYPES = 'A'): Buffer {
  const labels = name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)]));
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(0x0100, 2);
  header.writeUInt16BE(1, 4);
  const tail = Buffer.alloc(4);
  tail.writeUInt16BE(TYPES[type], 0);
  tail.writeUInt16BE(1, 2);
  return Buffer.concat([header, ...labels, Buffer.from([0]), tail]);
}

/** The same message as a response with rcode (0 NOERROR, 2 SERVFAIL, 3 NXDOMAIN). */
function answer(q: Buffer, rcode = 0): Buffer {
  const a = Buffer.from(q);
  a.writeUInt16BE(0x8180 | rcode, 2);
  return a;
}

const CLIENT = '10.0.0.5';
const SERVER = '10.0.0.53';
let clock = 1_000_000_000n;
/** A packet as decode.ts makes it, at t ms after the test's epoch. */
function packet(direction: DnsPacket['direction'], message: Buffer, tMs: number, clientPort = 40000): DnsPacket {
  const [source, sourcePort, destination, destinationPort] = direction === 'query' ? [CLIENT, clientPort, SERVER, 53] : [SERVER, 53, CLIENT, clientPort];
  return {
    tsNs: clock + BigInt(tMs) * 1_000_000n,
    direction,
    pid: direction === 'query' ? 4242 : 0,
    tid: 4242,
    cgroupId: 1n,
    comm: direction === 'query' ? 'checkout' : '',
    source,
    sourcePort,
    destination,
    destinationPort,
    message: parseDnsMessage(message),
  };
}

describe('dnslat: messages and pairing', () => {
  it('parses the header and the question; a cut message keeps its header', () => {
    expect(parseDnsMessage(query(0x1234, 'api.orders.internal', 'AAAA'))).toEqual({
      id: 0x1234,
      response: false,
      truncated: false,
      rcode: 'NOERROR',
      answers: 0,
      name: 'api.orders.internal',
      type: 'AAAA',
    });
    expect(parseDnsMessage(answer(query(7, 'x.invalid'), 3))).toMatchObject({ id: 7, response: true, rcode: 'NXDOMAIN', name: 'x.invalid', type: 'A' });
    const cut = parseDnsMessage(query(9, 'api.orders.internal').subarray(0, 16));
    expect(cut).toMatchObject({ id: 9, rcode: 'NOERROR' });
    expect(cut!.name).toBeUndefined();
    expect(parseDnsMessage(Buffer.alloc(11))).toBeUndefined();
  });

  it('pairs answers; a resend under the same id is one lookup tried twice, under a new id the first one given up', () => {
    clock += 10_000_000_000n;
    const lookups = new Lookups(100);
    // id 1: answered in 2 ms.
    lookups.add(packet('query', query(1, 'api.orders.internal'), 0));
    lookups.add(packet('response', answer(query(1, 'api.orders.internal')), 2));
    // id 2: resent under its id after 1 s (glibc), answered 3 ms later: one lookup of 1,003 ms, one retry.
    lookups.add(packet('query', query(2, 'api.orders.internal'), 100));
    lookups.add(packet('query', query(2, 'api.orders.internal'), 101)); // the same packet again (a container's, forwarded): not a retry
    lookups.add(packet('query', query(2, 'api.orders.internal'), 1100));
    lookups.add(packet('response', answer(query(2, 'api.orders.internal')), 1103));
    // id 3 unanswered, asked again as id 4 after 5 s (Go): 3 given up after 5,000 ms; 4 answered SERVFAIL.
    lookups.add(packet('query', query(3, 'api.orders.internal'), 2000));
    lookups.add(packet('query', query(4, 'api.orders.internal'), 7000));
    lookups.add(packet('response', answer(query(4, 'api.orders.internal'), 2), 7001));
    // id 5 still waiting when the window ends 500 ms later; an answer to a query never seen.
    lookups.add(packet('query', query(5, 'api.orders.internal'), 8000));
    lookups.add(packet('response', answer(query(99, 'other.internal')), 8001));
    const rows = lookups.finish(clock + 8_500_000_000n);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      pid: 4242,
      comm: 'checkout',
      server: `${SERVER}:53`,
      name: 'api.orders.internal',
      type: 'A',
      queries: 5,
      answered: 3,
      unanswered: 1,
      waiting: 1,
      retries: 2,
      rcodes: { NOERROR: 2, SERVFAIL: 1 },
      waitsMs: [5000, 1003, 500, 2, 1],
    });
    expect(rows[0]!.totalWaitMs).toBeCloseTo(6506, 5);
    expect(lookups.unmatched).toBe(1);
  });

  it('an unanswered query ends when the resolver asks the same question of its next server after a timeout, not when a forwarder asks it beside it', () => {
    clock += 10_000_000_000n;
    const lookups = new Lookups(100, clock);
    const other = '10.0.0.54';
    const to = (p: DnsPacket, server: string): DnsPacket => (p.direction === 'query' ? { ...p, destination: server } : { ...p, source: server });
    // A and AAAA at once to the first server, never answered; after 1 s both to the second, answered in 1 ms.
    for (const [id, type] of [
      [1, 'A'],
      [2, 'AAAA'],
    ] as const) {
      lookups.add(packet('query', query(id, 'api.orders.internal', type), 0));
      lookups.add(to(packet('query', query(id + 10, 'api.orders.internal', type), 1000), other));
      lookups.add(to(packet('response', answer(query(id + 10, 'api.orders.internal', type)), 1001), other));
    }
    // A forwarder asking both servers at once: the first's silence lasts until the window's end.
    lookups.add(packet('query', query(3, 'cdn.example'), 2000));
    lookups.add(to(packet('query', query(13, 'cdn.example'), 2005), other));
    const rows = lookups.finish(clock + 3_000_000_000n);
    const first = rows.filter((r) => r.server === `${SERVER}:53` && r.name === 'api.orders.internal');
    expect(first.map((r) => [r.type, r.unanswered, r.retries, r.failedOverTo, r.waitsMs, r.waitStartsMs])).toEqual([
      ['A', 1, 0, { [`${other}:53`]: 1 }, [1000], [0]],
      ['AAAA', 1, 0, { [`${other}:53`]: 1 }, [1000], [0]],
    ]);
    expect(rows.find((r) => r.server === `${SERVER}:53` && r.name === 'cdn.example')).toMatchObject({ waiting: 1, failedOverTo: {}, waitsMs: [1000] });
  });

  it('past maxPending a query is counted, not followed', () => {
    const lookups = new Lookups(2);
    for (let id = 1; id <= 3; id++) lookups.add(packet('query', query(id, 'a.internal'), id, 40000 + id));
    expect(lookups.overCap).toBe(1);
    // The first never answered and asked again: given up; the second still waiting.
    expect(lookups.finish(clock + 10_000_000n)[0]).toMatchObject({ queries: 2, unanswered: 1, waiting: 1, retries: 1 });
  });
});

const analyze = (data: Partial<DnslatData>, windowSeconds = 10) =>
  dnslat.analysis!.analyze({ queries: 0, answered: 0, unanswered: 0, waiting: 0, unmatchedAnswers: 0, totalRows: 0, ...data } as never, {
    node: 'n1',
    capture: 'dnslat',
    file: 'nodes/n1/dnslat.json',
    thresholds: mergeThresholds(),
    windowSeconds,
  });

const row = dnsLookupRow;

describe('dnslat findings', () => {
  it('lookups waiting past dnsSlowMs are one finding per process and server, their wait its impact; fast ones none', () => {
    const slow = row({ waitsMs: [1003, 1001, 998, 5, 2], retries: 3, waiting: 1 });
    const { findings } = analyze({ rows: [slow, row({ type: 'AAAA', waitsMs: [1002, 3] }), row({ pid: 7, comm: 'cron' })] as never });
    expect(findings).toHaveLength(1);
    const [f] = findings;
    expect(f!.title).toMatch(
      /^checkout \(pid 4242\) waited 4\.00 s for DNS answers from 10\.0\.0\.53:53 on n1: 4 of 200 queries took 200 ms or more \(~1\.00 s each; 3 queries asked again after a timeout; 1 still unanswered at the end\), for api\.orders\.internal \(A\) and api\.orders\.internal \(AAAA\); next: where DNS packets/,
    );
    expect(f!.severity).toBe('critical');
    expect(f!.impact).toMatchObject({ unit: 's/s', bears: ['latency'] });
    expect(f!.impact!.value).toBeCloseTo(0.4, 2); // 4 s waited over a 10 s window
    expect(f!.cause).toEqual({ key: 'slow DNS from 10.0.0.53:53', subject: 'checkout (pid 4242)' });
  });

  it('a nameserver the resolver gave up on for the next one is named with the resolv.conf that lists it first; A and AAAA waited at once count once', () => {
    const dead = (type: string, starts: number[]) =>
      row({
        type,
        queries: 4,
        answered: 0,
        unanswered: 4,
        rcodes: {},
        failedOverTo: { '10.0.0.54:53': 4 },
        waitsMs: [1001, 1000, 1000, 999],
        waitStartsMs: starts,
      });
    const next = (type: string) => row({ server: '10.0.0.54:53', type, queries: 4, answered: 4, waitsMs: [2, 1, 1, 1] });
    const { findings } = analyze({
      rows: [dead('A', [0, 2000, 4000, 6000]), dead('AAAA', [1, 2001, 4001, 6001]), next('A'), next('AAAA')] as never,
      resolvConf: { 4242: { nameservers: ['10.0.0.53', '10.0.0.54'], options: ['timeout:1'] } },
    });
    expect(findings).toHaveLength(1);
    expect(findings[0]!.title).toBe(
      'checkout (pid 4242) waited 4.00 s for DNS on n1: 10.0.0.53:53 answered none of its 8 queries (for api.orders.internal (A) and api.orders.internal (AAAA)); ' +
        'after ~1.00 s each its resolver asked 10.0.0.54:53 instead, which answered in ~1 ms; 10.0.0.53 is the first nameserver of the /etc/resolv.conf it reads ' +
        "(nameserver 10.0.0.53, 10.0.0.54; options timeout:1); next: bring 10.0.0.53 back or take it out of the resolver's list (resolv.conf, and what writes it: DHCP, the container runtime, the kubelet's resolvConf): " +
        'until then every lookup waits ~1.00 s for it before asking the next server.',
    );
    expect(findings[0]!.evidence).toMatchObject({ waitedMs: 4004, failedOver: 8, nextServer: '10.0.0.54:53' });
    expect(findings[0]!.impact!.value).toBeCloseTo(0.4, 2);
  });

  it('only AAAA queries unanswered while the A queries beside them are answered: says so, and how to ask them one after another', () => {
    const { findings } = analyze({
      rows: [
        row({ type: 'AAAA', queries: 10, answered: 7, unanswered: 3, retries: 3, waitsMs: [5002, 5001, 5000, 1] }),
        row({ type: 'A', queries: 10, answered: 10, waitsMs: [2, 1, 1] }),
      ] as never,
    });
    expect(findings).toHaveLength(1);
    expect(findings[0]!.title).toContain(
      'next: only its AAAA queries went unanswered (3), while the server answered its A queries: a server or firewall on the way that drops AAAA queries, or connection tracking losing one of two queries sent at once from one socket; options single-request-reopen',
    );
    expect(findings[0]!.evidence.onlyLost).toBe('AAAA');
    // Both types lost: the path, not a type.
    const both = analyze({
      rows: [row({ type: 'AAAA', unanswered: 2, retries: 2, waitsMs: [5000, 5000] }), row({ type: 'A', unanswered: 1, retries: 1, waitsMs: [5000] })] as never,
    });
    expect(both.findings[0]!.title).toContain('next: where DNS packets to 10.0.0.53:53 are lost');
  });

  it('a server answering SERVFAIL is a warning naming it and the names; mostly NXDOMAIN is info about search lists', () => {
    const { findings } = analyze({
      rows: [
        row({ name: 'fail.example', rcodes: { SERVFAIL: 30, NOERROR: 10 }, queries: 40, answered: 40 }),
        row({ pid: 9, comm: 'worker', name: 'db.svc.cluster.local', rcodes: { NXDOMAIN: 40 }, queries: 50, answered: 40, unanswered: 10 }),
        row({ pid: 9, comm: 'worker', name: 'db', rcodes: { NOERROR: 10 }, queries: 10, answered: 10 }),
      ] as never,
    });
    expect(findings.map((f) => f.severity)).toEqual(['warning', 'info']);
    expect(findings[0]!.title).toContain('The DNS server 10.0.0.53:53 answered SERVFAIL to 30 queries (75% of their answers) from checkout (pid 4242)');
    expect(findings[1]!.title).toContain('40 of 50 answers from 10.0.0.53:53 to worker (pid 9) on n1 were NXDOMAIN, for db.svc.cluster.local');
  });
});

describe.skipIf(skip)(`dnslat on the real kernel${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let server: ChildProcess | undefined;
  const sockets: Socket[] = [];

  afterEach(async () => {
    for (const s of sockets.splice(0)) s.close();
    server?.kill('SIGKILL');
    if (server && server.exitCode === null && server.signalCode === null) await once(server, 'exit');
    server = undefined;
    expect(bpfHandlesOf()).toEqual({ programIds: [], links: 0, maps: 0 });
  });

  /** The test server on 127.0.0.1 (or ::1), on a port of its own (the capture's dnsPort). */
  async function startServer(address = '127.0.0.1'): Promise<number> {
    server = spawn(join(programsDir, 'dns-server.py'), [address, '0'], { stdio: ['ignore', 'pipe', 'ignore'] });
    return Number((await once(server.stdout!, 'data'))[0]);
  }

  /** Sends each query from one socket to host:port; resolves with the answers that came within 300 ms. */
  async function ask(host: string, port: number, messages: Buffer[]): Promise<Buffer[]> {
    const v6 = host.includes(':');
    const socket = createSocket(v6 ? 'udp6' : 'udp4');
    sockets.push(socket);
    const answers: Buffer[] = [];
    socket.on('message', (m) => answers.push(m));
    socket.on('error', () => {}); // ICMP port unreachable for 127.0.0.2
    await new Promise<void>((resolve) => socket.bind(0, v6 ? '::1' : '127.0.0.1', resolve));
    for (const m of messages) await new Promise<void>((resolve, reject) => socket.send(m, port, host, (err) => (err ? reject(err) : resolve())));
    const until = Date.now() + 300;
    while (answers.length < messages.length && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    return answers;
  }

  it('sees every query with its answer: NOERROR, NXDOMAIN and SERVFAIL counted; a query nobody answers still waiting', async () => {
    const port = await startServer();
    let answered = 0;
    const { result } = await captureAround(
      dnslat,
      async () => {
        const messages = [
          ...Array.from({ length: 30 }, (_, i) => query(100 + i, 'api.test.internal')),
          ...Array.from({ length: 5 }, (_, i) => query(200 + i, 'gone.invalid', 'AAAA')),
          ...Array.from({ length: 3 }, (_, i) => query(300 + i, 'fail.example')),
        ];
        answered = (await ask('127.0.0.1', port, messages)).length;
        await ask('127.0.0.2', port, [query(400, 'nobody.internal'), query(401, 'nobody.internal')]);
      },
      { params: { dnsPort: port }, settleMs: 100 },
    );
    expect(answered).toBe(38);
    const mine = result.rows.filter((r) => r.pid === process.pid);
    const of = (name: string) => mine.find((r) => r.name === name);
    expect(of('api.test.internal')).toMatchObject({ server: `127.0.0.1:${port}`, type: 'A', queries: 30, answered: 30, rcodes: { NOERROR: 30 } });
    expect(of('gone.invalid')).toMatchObject({ type: 'AAAA', queries: 5, answered: 5, rcodes: { NXDOMAIN: 5 } });
    expect(of('fail.example')).toMatchObject({ queries: 3, answered: 3, rcodes: { SERVFAIL: 3 } });
    expect(of('nobody.internal')).toMatchObject({ server: `127.0.0.2:${port}`, queries: 2, answered: 0, waiting: 1, unanswered: 1 });
    // Each query was seen once (leaving by lo), each answer once (arriving on lo).
    expect(result.queries).toBeGreaterThanOrEqual(40);
    expect(result.unmatchedAnswers).toBe(0);
  }, 30_000);

  it('sees lookups over IPv6', async () => {
    const port = await startServer('::1');
    let answered = 0;
    const { result } = await captureAround(
      dnslat,
      async () => {
        answered = (await ask('::1', port, [query(1, 'v6.internal', 'AAAA'), query(2, 'v6.internal', 'AAAA')])).length;
      },
      { params: { dnsPort: port }, settleMs: 100 },
    );
    expect(answered).toBe(2);
    expect(result.rows.filter((r) => r.pid === process.pid)).toMatchObject([
      { server: `[::1]:${port}`, name: 'v6.internal', type: 'AAAA', queries: 2, answered: 2 },
    ]);
  }, 30_000);

  it("with a pid target: only that process's lookups", async () => {
    const port = await startServer();
    const child = spawn(
      'python3',
      [
        '-c',
        `import socket, sys\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\ns.settimeout(1)\nsys.stdin.readline()\n` +
          `for i in range(10):\n  s.sendto(bytes.fromhex('${query(1, 'child.internal').toString('hex')}'), ('127.0.0.1', ${port}))\n  s.recv(512)\n`,
      ],
      { stdio: ['pipe', 'ignore', 'ignore'] },
    );
    try {
      const { result } = await captureAround(
        dnslat,
        async () => {
          await ask('127.0.0.1', port, [query(1, 'parent.internal')]);
          child.stdin!.end('go\n');
          if (child.exitCode === null) await once(child, 'exit');
        },
        { target: { pid: [child.pid!] }, params: { dnsPort: port }, settleMs: 100 },
      );
      expect(result.rows.map((r) => [r.pid, r.name, r.queries, r.answered])).toEqual([[child.pid, 'child.internal', 10, 10]]);
    } finally {
      child.kill('SIGKILL');
    }
  }, 30_000);
});

describe('dnslat baseline', () => {
  it('per server: the p99 answer time from the kept waits, and unanswered queries per minute', () => {
    const waits = Array.from({ length: 200 }, (_, i) => 200 - i); // 200 ms down to 1 ms, of 300 lookups
    const metrics = dnslat.baseline!({ durationMs: 30_000, rows: [row({ queries: 300, waitsMs: waits, unanswered: 2, waiting: 1 })] });
    expect(metrics).toEqual([
      { metric: 'p99 DNS answer time from 10.0.0.53:53', unit: 'us', capture: 'dnslat', value: 198_000, samples: 300 },
      { metric: 'unanswered DNS queries to 10.0.0.53:53', unit: 'per_min', capture: 'dnslat', value: 6, samples: 3 },
    ]);
    // Too many lookups for the kept waits to hold the p99: no latency number, rather than a wrong one.
    expect(dnslat.baseline!({ durationMs: 30_000, rows: [row({ queries: 100_000, waitsMs: waits })] }).map((m) => m.unit)).toEqual(['per_min']);
  });
});
