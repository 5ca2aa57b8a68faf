// tcpresponse and Nagle's algorithm: the findings from rows (a client's
// requests held lead its slow answers from that peer; a server's answers
// held; holds too few, too short or on a one-way stream are nothing), and on
// the real kernel over loopback (test/helpers/nagle.py): requests written in
// two pieces, answers written in two pieces, and neither, each hold timed
// from the write to the ACK that let it go.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { mergeThresholds } from '../../src/analysis/common.js';
import { linkCauses } from '../../src/analysis/causes.js';
import { tcpresponse, type TcpresponseRow } from '../../src/captures/tcpresponse/index.js';
import { captureAround } from '../helpers/capture-around.js';
import { bpfHandlesOf, kernelSkipReason } from '../helpers/kernel.js';

const skip = kernelSkipReason();

const analyze = (rows: Partial<TcpresponseRow>[]) =>
  tcpresponse.analysis!.analyze({ rows, answers: 0, recordMs: 50, totalRows: rows.length } as never, {
    node: 'n1',
    capture: 'tcpresponse',
    file: 'nodes/n1/tcpresponse.json',
    thresholds: mergeThresholds(),
    windowSeconds: 10,
  }).findings;

const side = (over: Partial<TcpresponseRow>): Partial<TcpresponseRow> => ({
  role: 'client',
  pid: 4242,
  comm: 'checkout',
  peer: '10.0.0.9:6379',
  port: 6379,
  answers: 200,
  waits: [],
  abandonedWaits: [],
  waitingWaits: [],
  held: 0,
  heldMs: 0,
  heldMaxMs: 0,
  ...over,
});

describe('tcpresponse: writes held by Nagle', () => {
  it("a client's requests held until the peer's delayed ACK: a finding that leads its slow answers from that peer", () => {
    const held = side({ held: 180, heldMs: 7920, heldMaxMs: 44.2, waits: [[3000, 250]] });
    const findings = analyze([held]);
    const nagle = findings.find((f) => f.id.includes(':nagle:'))!;
    expect(nagle.title).toMatch(
      /^checkout \(pid 4242\) waited on Nagle's algorithm in its requests to 10\.0\.0\.9:6379 on n1: 180 writes held until the peer acknowledged the one before, ~44 ms each, a delayed ACK each time \(7\.92 s in all, the longest 44\.2 ms\), over 200 answers/,
    );
    expect(nagle.title).toContain('next: set TCP_NODELAY on its connections to 10.0.0.9:6379');
    expect(nagle.severity).toBe('critical');
    expect(nagle.impact!.value).toBeCloseTo(0.792, 3);
    expect(nagle.links?.explains).toEqual(['nagle:4242:10.0.0.9:6379', 'service-pid:4242']);
    // The answers that took 200 ms or more from that peer are its effect.
    const linked = linkCauses([...findings]);
    expect(linked).toHaveLength(1);
    expect(linked[0]!.id).toBe(nagle.id);
    expect(linked[0]!.title).toContain('Effect: checkout (pid 4242) waited 250 ms for answers from 10.0.0.9:6379');
  });

  it("a server's answers held: a finding on its port, though its own answer times look fast", () => {
    const served = side({ role: 'server', peer: '', port: 8080, p99Ms: 0.5, held: 40, heldMs: 1000, heldMaxMs: 41 });
    const [f] = analyze([served]);
    expect(f!.title).toMatch(
      /^checkout \(pid 4242\) held back its answers on port 8080 on n1 with Nagle's algorithm: 40 writes held until the client acknowledged the one before, ~25 ms each \(1\.00 s in all/,
    );
    expect(f!.title).toContain('its clients get the rest of each answer that late');
    expect(f!.severity).toBe('warning'); // shorter than a delayed-ACK timer: an RTT's wait each
    expect(f!.links?.explains).toEqual(['answers-of:4242']);
    expect(f!.evidence).toMatchObject({ role: 'server', held: 40, heldMs: 1000, meanHeldMs: 25 });
    expect(f!.title).not.toContain('sun.net.httpserver.nodelay');
    // A JVM: the JDK's own HTTP server has its switch.
    const [jvm] = analyze([side({ role: 'server', comm: 'java', peer: '', port: 8080, p99Ms: 0.5, held: 40, heldMs: 1000, heldMaxMs: 41 })]);
    expect(jvm!.title).toMatch(/; the JDK's HttpServer \(com\.sun\.net\.httpserver\) sets it with -Dsun\.net\.httpserver\.nodelay=true$/);
  });

  it('holds too few, too short, or on a stream nobody answers are nothing', () => {
    expect(analyze([side({ held: 2, heldMs: 88, heldMaxMs: 44 })])).toEqual([]);
    expect(analyze([side({ held: 500, heldMs: 60, heldMaxMs: 1 })])).toEqual([]);
    expect(analyze([side({ held: 50, heldMs: 2000, heldMaxMs: 40, answers: 0 })])).toEqual([]);
  });
});

/** test/helpers/nagle.py: ROUNDS exchanges over loopback, `split` writing its messages in two pieces. */
async function exchanges(children: ChildProcess[], split: 'request' | 'answer' | 'none', rounds: number) {
  const child = spawn('python3', ['test/helpers/nagle.py', String(rounds), split], { stdio: ['pipe', 'pipe', 'inherit'] });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  while (!out.includes('\n')) {
    if (child.exitCode !== null) throw new Error(`nagle.py ${split} exited ${child.exitCode}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  const port = Number(out.split('\n')[0]);
  const { result } = await captureAround(
    tcpresponse,
    async () => {
      child.stdin!.write('\n');
      await once(child, 'exit');
    },
    { target: { pid: [child.pid!] } },
  );
  const times = out.trim().split('\n')[1]!.split(' ').map(Number);
  const row = (role: 'client' | 'server') => result.rows.find((r) => r.role === role && r.port === port);
  return { result, times, client: row('client'), server: row('server') };
}

describe.skipIf(skip)(`tcpresponse and Nagle on the real kernel${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const c of children.splice(0)) c.kill('SIGKILL');
    expect(bpfHandlesOf()).toEqual({ programIds: [], links: 0, maps: 0 });
  });

  const ROUNDS = 12;
  /** Exchanges that took a delayed ACK's time: the first goes out before the peer delays its ACKs. */
  const stalled = (times: number[]) => times.filter((ms) => ms >= 30).length;

  it.each(['request', 'answer'] as const)(
    'times each hold of a %s written in two pieces, to the ACK that let it go',
    async (split) => {
      const { result, times, client, server } = await exchanges(children, split, ROUNDS);
      expect(result.dropped).toBe(0);
      const holder = split === 'request' ? client : server;
      const other = split === 'request' ? server : client;
      // Every stalled exchange is one hold; the peer's side holds nothing.
      expect(stalled(times)).toBeGreaterThanOrEqual(ROUNDS - 2);
      expect(holder!.held).toBe(stalled(times));
      expect(holder!.heldMs / holder!.held).toBeGreaterThanOrEqual(30);
      expect(holder!.heldMaxMs).toBeLessThan(Math.max(...times) + 5);
      expect(other!.held).toBe(0);
      const findings = tcpresponse.analysis!.analyze(result as never, {
        node: 'n1',
        capture: 'tcpresponse',
        file: 'f',
        thresholds: mergeThresholds(),
        windowSeconds: 2,
      }).findings;
      expect(findings.map((f) => f.evidence.role)).toEqual([split === 'request' ? 'client' : 'server']);
    },
    30_000,
  );

  it('with neither written in pieces, nothing is held', async () => {
    const { times, client, server } = await exchanges(children, 'none', ROUNDS);
    expect(stalled(times)).toBe(0);
    expect(client).toMatchObject({ answers: ROUNDS, held: 0 });
    expect(server).toMatchObject({ held: 0 });
  }, 30_000);
});
