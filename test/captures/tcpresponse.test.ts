// tcpresponse: the findings from rows (a client's waits that overlap its own
// slow answers lead them; a poll's timeout and uncorrelated waits are
// information; a request given up is a warning), and on the real kernel, over
// loopback with a server in this process: every answer timed on both sides,
// the slow ones one by one, a request given up, one still awaited at the end,
// a one-way stream and a peer's FIN never counted as waiting, IPv6, and a pid
// target that leaves this process out.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { mergeThresholds } from '../../src/analysis/common.js';
import { linkCauses } from '../../src/analysis/causes.js';
import type { Finding } from '../../src/analysis/types.js';
import { tcpresponse, type TcpresponseData, type TcpresponseRow } from '../../src/captures/tcpresponse/index.js';
import { captureAround } from '../helpers/capture-around.js';
import { bpfHandlesOf, kernelSkipReason } from '../helpers/kernel.js';

const skip = kernelSkipReason();

const analyze = (rows: Partial<TcpresponseRow>[], targetLabel?: string) =>
  tcpresponse.analysis!.analyze({ rows, answers: 0, recordMs: 50, totalRows: rows.length } as never, {
    node: 'n1',
    capture: 'tcpresponse',
    file: 'nodes/n1/tcpresponse.json',
    thresholds: mergeThresholds(),
    windowSeconds: 10,
    ...(targetLabel ? { targetLabel } : {}),
  }).findings;

const side = (over: Partial<TcpresponseRow>): Partial<TcpresponseRow> => ({
  role: 'client',
  pid: 4242,
  comm: 'checkout',
  peer: '10.0.0.9:5432',
  port: 5432,
  answers: 100,
  p99Ms: 524,
  waits: [],
  abandonedWaits: [],
  waitingWaits: [],
  ...over,
});
/** Slow answers ending every second from `from` ms, each `ms` long. */
const spans = (n: number, ms: number, from = 1000): [number, number][] => Array.from({ length: n }, (_, i) => [from + i * 1000, ms]);

describe('tcpresponse findings', () => {
  it("a client's waits during its own slow answers lead them, the answers as their effect", () => {
    const served = side({ role: 'server', peer: '', port: 8080, waits: spans(5, 420) });
    const upstream = side({ waits: spans(5, 400).map(([end, ms]) => [end - 10, ms]) });
    const findings = analyze([served, upstream]);
    // The symptom alone is information in a run over the whole host; its cause is the warning.
    expect(findings.map((f) => f.severity)).toEqual(['info', 'warning']);
    const [service, db] = findings as [Finding, Finding];
    expect(service.links?.shows).toContain('service-pid:4242');
    expect(db.links?.explains).toEqual(['service-pid:4242']);
    expect(db.title).toMatch(
      /^checkout \(pid 4242\) waited on 10\.0\.0\.9:5432 during 5 of its 5 slow answers on port 8080 on n1 \(95% of their time\): 5 of 100 answers/,
    );
    expect(db.impact!.value).toBeCloseTo(0.2, 2); // 2 s of its slow answers over 10 s
    const linked = linkCauses([...findings]);
    expect(linked).toHaveLength(1);
    expect(linked[0]!.id).toBe(db.id);
    expect(linked[0]!.title).toContain('Effect: checkout (pid 4242) answered 5 of 100 requests on port 8080');
  });

  it('a chain on one host (proxy → app → database) is one finding, led by the waits nearest the database', () => {
    const proxyServes = side({ role: 'server', pid: 10, comm: 'nginx', peer: '', port: 443, waits: spans(4, 460) });
    const proxyAsks = side({
      pid: 10,
      comm: 'nginx',
      peer: '127.0.0.1:8080',
      waits: spans(4, 450).map(([e, ms]) => [e - 2, ms]),
      server: { pid: 20, comm: 'app', listener: '0.0.0.0:8080' },
    });
    const appServes = side({ role: 'server', pid: 20, comm: 'app', peer: '', port: 8080, waits: spans(4, 440).map(([e, ms]) => [e - 4, ms]) });
    const appAsks = side({ pid: 20, comm: 'app', peer: '10.0.0.9:5432', waits: spans(4, 420).map(([e, ms]) => [e - 6, ms]) });
    const linked = linkCauses(analyze([proxyServes, proxyAsks, appServes, appAsks]));
    expect(linked).toHaveLength(1);
    expect(linked[0]!.title).toMatch(/^app \(pid 20\) waited on 10\.0\.0\.9:5432 during 4 of its 4 slow answers on port 8080/);
    expect(linked[0]!.title).toContain('Effect: nginx (pid 10) waited on 127.0.0.1:8080 (app, pid 20) during 4 of its 4 slow answers on port 443');
  });

  it('slow answers with its calls to upstreams all fast: the time went inside the process', () => {
    const served = side({ role: 'server', peer: '', port: 8080, waits: spans(3, 900) });
    const fastCalls = side({ answers: 3000, waits: [[9500, 60]] });
    const [f] = analyze([served, fastCalls], 'port 8080');
    expect(f!.title).toContain('none of its calls to its TCP upstreams took 50 ms or more while it answered: the time went inside it; next: its CPU (profile)');
    // Without calls to compare, nothing is said of them.
    expect(analyze([served], 'port 8080')[0]!.title).toContain('next: what it waits for while it answers');
  });

  it('a database on this host answering slowly leads: its slow answers, with the service that waited on them as their effect', () => {
    const db = side({ role: 'server', pid: 30, comm: 'postgres', peer: '', port: 5432, waits: spans(4, 410).map(([e, ms]) => [e - 3, ms]) });
    const served = side({ role: 'server', peer: '', port: 8080, waits: spans(4, 420) });
    const calls = side({
      peer: '127.0.0.1:5432',
      waits: spans(4, 412).map(([e, ms]) => [e - 2, ms]),
      server: { pid: 30, comm: 'postgres', listener: '0.0.0.0:5432' },
    });
    const linked = linkCauses(analyze([db, served, calls]));
    expect(linked).toHaveLength(1);
    expect(linked[0]!.title).toMatch(/^postgres \(pid 30\) answered 4 of 100 requests on port 5432 on n1 in 200 ms or more/);
    expect(linked[0]!.title).toContain('Effect: checkout (pid 4242) waited on 127.0.0.1:5432 (postgres, pid 30) during 4 of its 4 slow answers on port 8080');
    expect(linked[0]!.severity).toBe('warning'); // its own, information alone; its effect's
    expect(linked[0]!.impact!.value).toBeGreaterThan(0.15);
  });

  it('a database owing a request since before the window, its caller waiting on it, leads as hung; alone it may be a long poll', () => {
    const before = { answers: 0, waitingWaits: [[10_000, 10_000]] as [number, number][], waiting: 1, waitingBefore: 1, waitingBeforeMaxMs: 95_000 };
    const db = side({ role: 'server', pid: 30, comm: 'orders-db', peer: '', port: 5432, ...before });
    const served = side({ role: 'server', peer: '', port: 8080, ...before });
    const calls = side({ peer: '127.0.0.1:5432', ...before, server: { pid: 30, comm: 'orders-db', listener: '0.0.0.0:5432' } });
    const linked = linkCauses(analyze([db, served, calls]));
    expect(linked).toHaveLength(1);
    expect(linked[0]!.title).toMatch(
      /^orders-db \(pid 30\) on port 5432 on n1: 1 request unanswered for 95 s \(since before the window\); it answered nothing in the window: hung, not slow\. Effect: /,
    );
    expect(linked[0]!.title).toMatch(/; next: what its threads wait on now \(a thread dump: py-spy dump, jstack, gdb -p 30\)/);
    expect(linked[0]!.title).toContain(
      'Effect: checkout (pid 4242) waited on 127.0.0.1:5432 (orders-db, pid 30) during 1 of its 1 slow answer on port 8080 on n1 (100% of their time): 1 request unanswered for 95 s (since before the window)',
    );
    expect(linked[0]!.evidence).toMatchObject({ unanswered: 1, unansweredSinceBefore: 1, oldestWaitMs: 95_000 });
    // Its time in the window counts, not the 95 s.
    expect(linked[0]!.impact!.value).toBeCloseTo(1, 2);
    // No caller that answers slowly waits on it: hung, or a blocking pop held open by design.
    const [alone] = analyze([
      side({
        role: 'server',
        pid: 31,
        comm: 'redis-server',
        peer: '',
        port: 6379,
        ...before,
        waitingWaits: [
          [10_000, 10_000],
          [10_000, 10_000],
          [10_000, 600],
        ],
        waiting: 3,
        waitingBefore: 2,
      }),
    ]);
    expect(alone!.severity).toBe('info');
    expect(alone!.title).toContain(
      'on port 6379 on n1: 3 requests still unanswered at the end, 2 of them since before the window (the oldest for 95 s); it answered nothing in the window: a hang, or a request held open by design',
    );
    const [gone] = analyze([side({ ...before, waitingUnacked: 1 })], 'pid 4242');
    expect(gone!.title).toContain('1 request unanswered for 95 s (since before the window), not even acknowledged: the peer, or the path to it, is gone');
  });

  it('a process calling its own listener does not explain its slow answers by it', () => {
    const served = side({ role: 'server', peer: '', port: 8080, waits: spans(4, 420) });
    const self = side({ peer: '127.0.0.1:8080', waits: spans(4, 419), server: { pid: 4242, comm: 'checkout', listener: '0.0.0.0:8080' } });
    const [, f] = analyze([served, self]);
    expect(f!.severity).toBe('info');
    expect(f!.links?.explains).toBeUndefined();
  });

  it('a wait held open across its slow answers (a watch beside the work) does not explain them', () => {
    const served = side({ role: 'server', peer: '', port: 8080, waits: spans(5, 420) });
    const watch = side({ peer: '10.0.0.3:8500', waitingWaits: [[9500, 9000]] });
    const [, f] = analyze([served, watch]);
    expect(f!.severity).toBe('info');
    expect(f!.links?.explains).toBeUndefined();
  });

  it('waits that do not overlap its slow answers are information, not a cause', () => {
    const served = side({ role: 'server', peer: '', port: 8080, waits: spans(3, 420, 1000) });
    const upstream = side({ waits: spans(3, 300, 6000) });
    const db = analyze([served, upstream])[1]!;
    expect(db.severity).toBe('info');
    expect(db.impact).toBeUndefined();
    expect(db.title).toContain('none of it while it answered slowly itself');
  });

  it("waits that end at one duration are a poll's timeout, even in a run that targets the process", () => {
    const poll = side({ peer: '10.0.0.7:6379', waits: [5001, 5003, 4998, 5002, 5000, 250].map((ms, i) => [i * 5000 + ms, ms]) });
    const [f] = analyze([poll], 'pid 4242');
    expect(f!.severity).toBe('info');
    expect(f!.title).toContain('nearly all after ~5.00 s: one duration time after time, as a long poll');
    // The same waits, spread: in a targeted run they are its cause.
    const spread = side({
      waits: [
        [1000, 900],
        [3000, 400],
        [5000, 1500],
        [8000, 650],
      ],
    });
    expect(analyze([spread], 'pid 4242')[0]).toMatchObject({ severity: 'warning', cause: { key: 'slow answers from 10.0.0.9:5432' } });
    expect(analyze([spread])[0]!.severity).toBe('info');
  });

  it('requests given up (a client timeout) are a warning, and a local peer shows its CPU and reclaim', () => {
    const gaveUp = side({
      peer: '127.0.0.1:5432',
      abandonedWaits: [
        [2000, 600],
        [4000, 600],
      ],
      server: { pid: 77, comm: 'postgres', listener: '0.0.0.0:5432' },
    });
    const [f] = analyze([gaveUp]);
    expect(f!.severity).toBe('warning');
    expect(f!.title).toContain('waited 1.20 s for answers from 127.0.0.1:5432 (postgres, pid 77)');
    expect(f!.title).toContain('it gave 2 requests up after ~600 ms (closed the connection still waiting: a client timeout)');
    expect(f!.title).toContain('next: what postgres waits for while it answers on 0.0.0.0:5432');
    expect(f!.links?.shows).toEqual(['nagle:4242:127.0.0.1:5432', 'path:127.0.0.1', 'answers-of:77', 'service-pid:77', 'runq-pid:77', 'reclaim-pid:77']);
    expect(f!.impact!.value).toBeCloseTo(0.12, 2);
  });

  it('a server the run looks at answering slowly is a warning; at a fixed timeout, or in a run over the host, information; fast answers nothing', () => {
    const served = side({
      role: 'server',
      peer: '',
      port: 8080,
      waits: [
        [1000, 900],
        [2000, 450],
      ],
      waitingWaits: [[9000, 700]],
    });
    const [slow] = analyze([served], 'port 8080');
    expect(slow!.severity).toBe('warning');
    expect(slow!.impact!.value).toBeCloseTo(0.205, 3);
    const [hostWide] = analyze([served]);
    expect(hostWide!.severity).toBe('info');
    expect(hostWide!.impact).toBeUndefined();
    expect(slow!.title).toContain(
      'answered 2 of 100 requests on port 8080 on n1 in 200 ms or more (~700 ms each, the longest 900 ms; 1 request still unanswered at the end)',
    );
    const [poll] = analyze([side({ role: 'server', peer: '', port: 8500, waits: spans(6, 30_000) })], 'port 8500');
    expect(poll!.severity).toBe('info');
    expect(analyze([side({ role: 'server', waits: [[1000, 150]] }), side({ waits: [[1000, 120]] })])).toEqual([]);
  });
});

/** A line server on this process (on host, or on a unix socket path): each line answered at once, after `slowMs` when it says "slow", never when it says "never". */
async function lineServer(host: string, slowMs: number, path?: string): Promise<Server> {
  const server = createServer((socket) => {
    socket.setNoDelay(true);
    let buffered = '';
    socket.on('data', (data) => {
      buffered += data.toString();
      for (let i = buffered.indexOf('\n'); i >= 0; i = buffered.indexOf('\n')) {
        const line = buffered.slice(0, i);
        buffered = buffered.slice(i + 1);
        if (line === 'never' || line === 'log') continue;
        if (line === 'slow') setTimeout(() => socket.writable && socket.write('ok\n'), slowMs);
        else socket.write('ok\n');
      }
    });
    socket.on('end', () => socket.end());
    socket.on('error', () => {});
  });
  if (path) server.listen(path);
  else server.listen(0, host);
  await once(server, 'listening');
  return server;
}

/** A client of host:port (or of a unix socket path) that sends a line and waits for one back (or not). */
async function connectTo(host: string, port: number, path?: string) {
  const socket = path ? createConnection({ path }) : createConnection({ host, port, noDelay: true });
  await once(socket, 'connect');
  const lines: string[] = [];
  socket.on('data', (d) => lines.push(...d.toString().split('\n').filter(Boolean)));
  return {
    socket,
    async ask(line: string): Promise<void> {
      const before = lines.length;
      socket.write(`${line}\n`);
      while (lines.length === before) await new Promise((r) => setTimeout(r, 2));
    },
    send: (line: string) => socket.write(`${line}\n`),
  };
}

function hasIpv6Loopback(): boolean {
  try {
    return execFileSync('ip', ['-6', 'addr', 'show', 'dev', 'lo'], { encoding: 'utf8' }).includes('::1/128');
  } catch {
    return false;
  }
}

const SLOW_MS = 150;
const portOf = (server: Server) => (server.address() as { port: number }).port;
const mine = (data: TcpresponseData) => data.rows.filter((r) => r.pid === process.pid);
const waitLengths = (r: TcpresponseRow | undefined) => (r?.waits ?? []).map(([, ms]) => ms);

describe.skipIf(skip)(`tcpresponse on the real kernel${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const servers: Server[] = [];
  const sockets: Socket[] = [];

  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    for (const s of servers.splice(0)) s.close();
    expect(bpfHandlesOf()).toEqual({ programIds: [], links: 0, maps: 0 });
  });

  async function timedConversation(host: string) {
    const server = await lineServer(host, SLOW_MS);
    servers.push(server);
    const port = portOf(server);
    const { result } = await captureAround(
      tcpresponse,
      async () => {
        const client = await connectTo(host, port);
        sockets.push(client.socket);
        for (let i = 1; i <= 12; i++) await client.ask(i % 3 === 0 ? 'slow' : 'fast');
        client.socket.end(); // the server's side sees a FIN: no request
        await new Promise((r) => setTimeout(r, SLOW_MS));
      },
      { params: { recordMs: 100 }, target: { pid: [process.pid] } },
    );
    return { result, port };
  }

  it("times every answer on both sides: the peer's from the client's send, the server's own from the request", async () => {
    const { result, port } = await timedConversation('127.0.0.1');
    expect(result.dropped).toBe(0);
    const client = mine(result).find((r) => r.role === 'client' && r.peer === `127.0.0.1:${port}`);
    const served = mine(result).find((r) => r.role === 'server' && r.port === port);
    expect(client).toMatchObject({ comm: expect.any(String), answers: 12, slowAnswers: 4, abandoned: 0, waiting: 0 });
    for (const ms of waitLengths(client)) expect(ms).toBeGreaterThanOrEqual(SLOW_MS - 5);
    for (const ms of waitLengths(client)) expect(ms).toBeLessThan(SLOW_MS * 3);
    // The first request came before the connection's first send: timed from its arrival all the same.
    expect(served).toMatchObject({ answers: 12, slowAnswers: 4, abandoned: 0, waiting: 0 });
    expect(client!.p50Ms).toBeLessThan(10);
    expect(client!.maxMs).toBeGreaterThanOrEqual(SLOW_MS - 5);
    // Each slow answer ends once on each side, the server's first.
    const ends = (r: TcpresponseRow) => r.waits.map(([end]) => end).sort((a, b) => a - b);
    ends(served!).forEach((end, i) => expect(Math.abs(end - ends(client!)[i]!)).toBeLessThan(20));
  }, 30_000);

  it.skipIf(!hasIpv6Loopback())(
    'times answers over IPv6',
    async () => {
      const { result, port } = await timedConversation('::1');
      expect(mine(result).find((r) => r.role === 'client')).toMatchObject({ peer: `[::1]:${port}`, answers: 12, slowAnswers: 4 });
      expect(mine(result).find((r) => r.role === 'server')).toMatchObject({ port, answers: 12, slowAnswers: 4 });
    },
    30_000,
  );

  it.each([
    ['TCP', false],
    ['a unix socket', true],
  ])(
    "times a server's one answer per connection over %s (a client that opens one per request), from the request's arrival",
    async (_, unix) => {
      const dir = mkdtempSync(join(tmpdir(), 'sherlock-tcpresponse-'));
      const path = unix ? join(dir, 'api.sock') : undefined;
      try {
        const server = await lineServer('127.0.0.1', SLOW_MS, path);
        servers.push(server);
        const { result } = await captureAround(
          tcpresponse,
          async () => {
            for (let i = 1; i <= 6; i++) {
              const client = await connectTo('127.0.0.1', portOf(server), path);
              sockets.push(client.socket);
              await client.ask(i % 3 === 0 ? 'slow' : 'fast');
              client.socket.end();
            }
            await new Promise((r) => setTimeout(r, 50));
          },
          { params: { recordMs: 100 }, target: { pid: [process.pid] } },
        );
        const served = mine(result).find((r) => r.role === 'server');
        expect(served).toMatchObject({ answers: 6, slowAnswers: 2, waiting: 0, ...(path ? { path } : { port: portOf(server) }) });
        for (const ms of waitLengths(served)) expect(ms).toBeGreaterThanOrEqual(SLOW_MS - 5);
        // Given by this process's one thread: what that thread did meanwhile (its sleeps) can explain them.
        expect(served!.threads).toEqual([[process.pid, expect.any(Number)]]);
        expect(served!.threads![0]![1]).toBeGreaterThanOrEqual(2 * (SLOW_MS - 5));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
    30_000,
  );

  it('a request given up by closing, one still awaited at the end; a one-way stream awaits nothing', async () => {
    const server = await lineServer('127.0.0.1', SLOW_MS);
    servers.push(server);
    const port = portOf(server);
    const { result } = await captureAround(
      tcpresponse,
      async () => {
        const [gaveUp, awaiting, stream] = await Promise.all([connectTo('127.0.0.1', port), connectTo('127.0.0.1', port), connectTo('127.0.0.1', port)]);
        sockets.push(gaveUp.socket, awaiting.socket, stream.socket);
        await gaveUp.ask('fast'); // answered once: a conversation, not a stream
        await awaiting.ask('fast');
        gaveUp.send('never');
        awaiting.send('never');
        for (let i = 0; i < 5; i++) stream.send('log');
        await new Promise((r) => setTimeout(r, 2 * SLOW_MS));
        gaveUp.socket.destroy(); // a client timeout
        await new Promise((r) => setTimeout(r, 50));
      },
      { params: { recordMs: 100 }, target: { pid: [process.pid] }, settleMs: 100 },
    );
    const client = mine(result).find((r) => r.role === 'client');
    expect(client).toMatchObject({ answers: 2, slowAnswers: 0, abandoned: 1, waiting: 1 });
    expect(client!.abandonedWaits[0]![1]).toBeGreaterThanOrEqual(2 * SLOW_MS - 5);
    expect(client!.waitingWaits[0]![1]).toBeGreaterThanOrEqual(2 * SLOW_MS);
    // The server owes the two "never" requests: the one whose client left is not waited on (its socket got a FIN, and closed).
    const served = mine(result).find((r) => r.role === 'server');
    expect(served?.waiting).toBe(1);
  }, 30_000);

  it('requests sent before the window and never answered are awaited at the end on both sides, for as long as they waited; an idle pooled connection and a quiet stream are not', async () => {
    const server = await lineServer('127.0.0.1', SLOW_MS);
    servers.push(server);
    const port = portOf(server);
    const [pooled, fresh, idle, stream] = await Promise.all([1, 2, 3, 4].map(() => connectTo('127.0.0.1', port)));
    sockets.push(pooled!.socket, fresh!.socket, idle!.socket, stream!.socket);
    await pooled!.ask('fast'); // a conversation, then a request never answered on it
    await idle!.ask('fast'); // answered, then quiet: waits for nothing
    await new Promise((r) => setTimeout(r, 20));
    const sentAt = Date.now();
    pooled!.send('never');
    fresh!.send('never'); // its first request: no byte ever comes back
    for (let i = 0; i < 5; i++) {
      stream!.send('log'); // a one-way stream, quiet since: nothing comes back by design
      await new Promise((r) => setTimeout(r, 10));
    }
    await new Promise((r) => setTimeout(r, 300));
    let liveAt = 0;
    const { result } = await captureAround(
      tcpresponse,
      () => {
        liveAt = Date.now();
        return new Promise((r) => setTimeout(r, 200));
      },
      { params: { recordMs: 100 }, target: { pid: [process.pid] } },
    );
    // Read after the window, which was live 200 ms at least: as old as that at least, no older than now.
    const waitedAtLeast = liveAt - sentAt + 200 - 20;
    const client = mine(result).find((r) => r.role === 'client' && r.peer === `127.0.0.1:${port}`);
    const served = mine(result).find((r) => r.role === 'server' && r.port === port);
    for (const side of [client, served]) {
      expect(side).toMatchObject({ answers: 0, waiting: 2, waitingBefore: 2, waitingUnacked: 0 });
      expect(side!.waitingBeforeMaxMs).toBeGreaterThanOrEqual(waitedAtLeast);
      expect(side!.waitingBeforeMaxMs).toBeLessThan(Date.now() - sentAt + 50);
      // Each fills the window it was seen in.
      for (const [, ms] of side!.waitingWaits) expect(ms).toBeGreaterThanOrEqual(150);
    }
  }, 30_000);

  it('times a conversation over a unix socket the same way, named by its path, the server by its socket', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sherlock-tcpresponse-'));
    const path = join(dir, 'db.sock');
    try {
      const server = await lineServer('', SLOW_MS, path);
      servers.push(server);
      const { result } = await captureAround(
        tcpresponse,
        async () => {
          const client = await connectTo('', 0, path);
          sockets.push(client.socket);
          for (let i = 1; i <= 12; i++) await client.ask(i % 3 === 0 ? 'slow' : 'fast');
        },
        { params: { recordMs: 100 }, target: { pid: [process.pid] } },
      );
      const client = mine(result).find((r) => r.role === 'client' && r.peer === `unix:${path}`);
      // A unix send is seen after its data is queued (an answer from another CPU could come first); this
      // server answers on this thread, after the send returned: every answer is timed.
      expect(client).toMatchObject({ path, answers: 12, slowAnswers: 4, abandoned: 0, waiting: 0 });
      for (const ms of waitLengths(client)) expect(ms).toBeGreaterThanOrEqual(SLOW_MS - 5);
      expect(client!.server).toEqual({ pid: process.pid, comm: expect.any(String), listener: path });
      const served = mine(result).find((r) => r.role === 'server' && r.path === path);
      expect(served).toMatchObject({ port: 0, answers: 12, slowAnswers: 4 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);

  it("with another process's pid as the target: none of this process's conversations", async () => {
    const server = await lineServer('127.0.0.1', SLOW_MS);
    servers.push(server);
    const { result } = await captureAround(
      tcpresponse,
      async () => {
        const client = await connectTo('127.0.0.1', portOf(server));
        sockets.push(client.socket);
        for (let i = 0; i < 3; i++) await client.ask('slow');
      },
      { params: { recordMs: 100 }, target: { pid: [1] } },
    );
    expect(mine(result)).toEqual([]);
  }, 30_000);
});
