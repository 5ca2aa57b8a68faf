// tcpreset against the real kernel: resets this test provokes with a
// namespace (a connect to a closed port, an abortive close) are counted on
// their flows, in the right direction and state, and owned by the process
// whose socket it was. And writes on connections a server had closed (a
// stale keep-alive connection) read as such on both ends.
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { tcpreset, type ResetRow } from '../../src/captures/tcpreset/index.js';
import { analyzeRun } from '../../src/runs/analyze-run.js';
import { on, result as resultOf, run } from '../analysis/fixtures.js';
import { captureAround, type CaptureAroundOptions } from '../helpers/capture-around.js';
import { bpfHandlesOf, kernelSkipReason, stillLoaded } from '../helpers/kernel.js';
import { createTestNetwork, type TestNetwork } from '../helpers/netns.js';

const skip = kernelSkipReason();
const myComm = readFileSync('/proc/self/comm', 'utf8').trim();

const captureDuring = (during: () => Promise<void>, request: CaptureAroundOptions = {}) => captureAround(tcpreset, during, { settleMs: 100, ...request });

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A connect that must be refused; resolves with the error code. */
function refusedConnect(host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`connect to ${host}:${port} neither failed nor succeeded`));
    }, 5000);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.destroy();
      reject(new Error(`connect to ${host}:${port} succeeded`));
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve(err.code ?? String(err));
    });
  });
}

/**
 * Connects, sends a few bytes the server reads, then closes abortively
 * (SO_LINGER 0: the kernel sends RST instead of FIN). Returns the client's "ip:port".
 */
async function abortiveClose(net: TestNetwork, port: number): Promise<string> {
  const socket: Socket = connect({ host: net.peerAddress, port });
  await once(socket, 'connect');
  const local = `${socket.localAddress}:${socket.localPort}`;
  socket.write('hello');
  // Until the server has read it (its Recv-Q is empty): its socket then has an owner.
  const until = Date.now() + 3000;
  do await sleep(20);
  while (recvQ(net, `${net.peerAddress}:${port}`, local) !== 0 && Date.now() < until);
  socket.resetAndDestroy();
  await once(socket, 'close');
  return local;
}

/** Recv-Q of the namespace's socket local → remote (undefined while it is not there). */
function recvQ(net: TestNetwork, local: string, remote: string): number | undefined {
  const line = net.exec(['ss', '-tnH', 'src', local, 'dst', remote]).trim().split('\n')[0];
  const cols = line?.trim().split(/\s+/) ?? [];
  return cols.length >= 3 ? Number(cols[1]) : undefined;
}

/**
 * A request on a connection its server closed: the server closes at once (its
 * FIN, then a timewait sock once acknowledged); the client sees the end, writes
 * anyway from CLOSE_WAIT, and takes the reset. Resolves with the client's error.
 */
async function writeAfterServerClosed(port: number): Promise<string> {
  const socket = connect({ host: '127.0.0.1', port, allowHalfOpen: true });
  // After the server's end has become a timewait sock; the reset comes back for the first write, the second fails on it.
  socket.on('end', () => setTimeout(() => socket.write('GET / HTTP/1.1\r\n\r\n', () => setTimeout(() => socket.write('again'), 50)), 20));
  const [err] = (await Promise.race([once(socket, 'error'), sleep(3000).then(() => [new Error('no reset')])])) as [NodeJS.ErrnoException];
  socket.destroy();
  return err.code ?? err.message;
}

/** The namespace's pid of the server process spawned by net.listen (ip netns exec execs node). */
const serverPid = async (net: TestNetwork, port: number) => (await net.listen(port)).pid!;

const byFlow = (rows: ResetRow[], direction: ResetRow['direction'], local: string, remote: string) =>
  rows.filter((r) => r.direction === direction && r.local === local && r.remote === remote);

describe.skipIf(skip)(`tcpreset on the real kernel${skip ? ` (skipped: ${skip})` : ''}`, () => {
  afterEach(() => {
    expect(bpfHandlesOf()).toEqual({ programIds: [], links: 0, maps: 0 });
  });

  it('counts a refused connect on both ends and an abortive close in both directions', async () => {
    const net = createTestNetwork();
    const closedPort = 18_091;
    const openPort = 18_092;
    try {
      const server = await serverPid(net, openPort);
      let refusal = '';
      let client = '';
      const { result, programIds } = await captureDuring(async () => {
        refusal = await refusedConnect(net.peerAddress, closedPort);
        client = await abortiveClose(net, openPort);
      });
      expect(stillLoaded(programIds)).toEqual([]);
      expect(refusal).toBe('ECONNREFUSED');

      // Closed port: the namespace's kernel answers the SYN with a RST (no
      // socket, no owner); this process's socket takes it in SYN_SENT.
      const closed = `${net.peerAddress}:${closedPort}`;
      const received = result.rows.filter((r) => r.direction === 'received' && r.remote === closed);
      expect(received).toHaveLength(1);
      expect(received[0]).toMatchObject({ state: 'SYN_SENT', socket: 'full', pid: process.pid, comm: myComm, count: 1 });
      expect(received[0]!.local.startsWith(`${net.hostAddress}:`)).toBe(true);
      const answered = byFlow(result.rows, 'sent', closed, received[0]!.local);
      expect(answered).toHaveLength(1);
      expect(answered[0]).toMatchObject({ state: '-', socket: 'none', pid: 0, comm: '', count: 1, family: 'ipv4' });
      expect(answered[0]!.reason).toBe('NO_SOCKET');

      // Abortive close: this process sends the RST from its ESTABLISHED
      // socket (the kernel sets CLOSE just before); the namespace's server takes it.
      const open = `${net.peerAddress}:${openPort}`;
      const sent = byFlow(result.rows, 'sent', client, open);
      expect(sent).toHaveLength(1);
      expect(sent[0]).toMatchObject({
        state: 'CLOSE',
        closedFrom: 'ESTABLISHED',
        socket: 'full',
        pid: process.pid,
        comm: myComm,
        count: 1,
      });
      expect(sent[0]!.reason).toBeTruthy();
      const taken = byFlow(result.rows, 'received', open, client);
      expect(taken).toHaveLength(1);
      expect(taken[0]).toMatchObject({ state: 'ESTABLISHED', socket: 'full', pid: server, comm: 'node', count: 1 });

      expect(result.sent).toBeGreaterThanOrEqual(2);
      expect(result.received).toBeGreaterThanOrEqual(2);
      expect(result.drops.map_full ?? 0).toBe(0);
    } finally {
      net.destroy();
    }
  });

  it('reads IPv6 addresses: a refused connect to [::1]', async () => {
    // A port nothing listens on: bound, then closed.
    const probe = createServer().listen(0, '::1');
    await once(probe, 'listening');
    const port = (probe.address() as AddressInfo).port;
    probe.close();
    await once(probe, 'close');

    let refusal = '';
    const { result } = await captureDuring(async () => {
      refusal = await refusedConnect('::1', port);
    });
    expect(refusal).toBe('ECONNREFUSED');
    const closed = `[::1]:${port}`;
    const received = result.rows.filter((r) => r.direction === 'received' && r.remote === closed);
    expect(received).toHaveLength(1);
    expect(received[0]).toMatchObject({ family: 'ipv6', state: 'SYN_SENT', pid: process.pid, count: 1 });
    expect(received[0]!.local).toMatch(/^\[::1\]:\d+$/);
    const answered = byFlow(result.rows, 'sent', closed, received[0]!.local);
    expect(answered).toHaveLength(1);
    expect(answered[0]).toMatchObject({ family: 'ipv6', state: '-', socket: 'none', reason: 'NO_SOCKET', count: 1 });
  });

  it('with a pid target: only the resets of that process’s sockets', async () => {
    const net = createTestNetwork();
    const closedPort = 18_093;
    const openPort = 18_094;
    try {
      await net.listen(openPort);
      let client = '';
      const { result } = await captureDuring(
        async () => {
          await refusedConnect(net.peerAddress, closedPort);
          client = await abortiveClose(net, openPort);
        },
        { target: { pid: [process.pid] } },
      );
      const open = `${net.peerAddress}:${openPort}`;
      const closed = `${net.peerAddress}:${closedPort}`;
      // This process's sockets: the refused connect's RST, the abortive close's RST.
      expect(result.rows.filter((r) => r.direction === 'received' && r.remote === closed)).toHaveLength(1);
      expect(byFlow(result.rows, 'sent', client, open)).toHaveLength(1);
      // The namespace's: its answer without a socket, its server's socket.
      expect(result.rows.filter((r) => r.local === closed)).toEqual([]);
      expect(byFlow(result.rows, 'received', open, client)).toEqual([]);
      expect(result.rows.every((r) => r.pid === process.pid)).toBe(true);
    } finally {
      net.destroy();
    }
  });

  it('a write on a connection the server had closed: taken in CLOSE_WAIT, answered from a timewait sock, told as a stale keep-alive connection', async () => {
    const server = createServer((c) => c.destroy()).listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as AddressInfo).port;
    const errors: string[] = [];
    try {
      const { result } = await captureDuring(async () => {
        for (let i = 0; i < 5; i++) errors.push(await writeAfterServerClosed(port));
      });
      expect(errors.every((e) => e === 'ECONNRESET' || e === 'EPIPE')).toBe(true);
      const service = `127.0.0.1:${port}`;
      const taken = result.rows.filter((r) => r.direction === 'received' && r.remote === service);
      expect(taken.map((r) => r.state)).toEqual(Array(5).fill('CLOSE_WAIT'));
      expect(taken.every((r) => r.pid === process.pid)).toBe(true);
      const answered = result.rows.filter((r) => r.direction === 'sent' && r.local === service);
      expect(answered.map((r) => [r.socket, r.state])).toEqual(Array(5).fill(['timewait', 'TIME_WAIT']));
      // The server is named from its listener, found from its clients' side.
      expect(result.servers?.[service]).toEqual({ pid: process.pid, comm: myComm });
      const findings = analyzeRun({ run: run(), results: [on(resultOf('tcpreset', result as unknown as Record<string, unknown>))] });
      const stale = findings.filter((f) => f.capture === 'tcpreset');
      expect(stale).toHaveLength(1);
      expect(stale[0]!.title).toContain(`got 5 TCP resets from ${service} (${myComm}, pid ${process.pid})`);
      expect(stale[0]!.title).toContain('a keep-alive pool reusing connections after the server closed them for idling');
      expect(stale[0]!.severity).toBe('warning');
    } finally {
      server.close();
    }
  });
});
