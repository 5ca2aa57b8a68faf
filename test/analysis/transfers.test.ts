// tcpflow's findings from results built here: a bulk upload held by the
// network is the path's capacity (information), and the cause when the
// connections beside it to that address wait in its queue (a download too,
// its queue measured by the receiver); a transfer held by
// the peer's receive window or its own send buffer explains its sender's
// wait for room to send. Expectations come from the same numbers.
import { describe, expect, it } from 'vitest';
import { analyzeRun } from '../../src/runs/analyze-run.js';
import { fmtBytes, fmtUs } from '../../src/format/index.js';
import { histogram, kernel, offcpu, on, result, run, stack, user, WINDOW_MS } from './fixtures.js';

const WINDOW_S = WINDOW_MS / 1000;
const MiB = 1024 * 1024;

/** A tcpflow row: seen the whole window unless said, nothing held and nothing sent unless said. */
const flow = (over: Record<string, unknown>) => ({
  local: '10.0.0.1:40000',
  remote: '10.0.0.5:9000',
  inode: 1,
  seconds: WINDOW_S,
  sentBytes: 0,
  receivedBytes: 0,
  networkSeconds: 0,
  rwndSeconds: 0,
  sndbufSeconds: 0,
  retransmits: 0,
  srttAvgUs: 0,
  srttMaxUs: 0,
  srttSamples: 0,
  minRttUs: 0,
  cwndBytes: 0,
  peerWindowBytes: 0,
  ...over,
});
const tcpflow = (flows: Record<string, unknown>[]) => result('tcpflow', { flows, totalFlows: flows.length });

const backup = flow({ pid: 70, comm: 'backup', sentBytes: 6 * MiB, networkSeconds: 5.9, srttAvgUs: 300_000, srttSamples: 2000, minRttUs: 40, retransmits: 4 });
const query = flow({
  pid: 71,
  comm: 'api',
  local: '10.0.0.1:40001',
  remote: '10.0.0.5:5432',
  sentBytes: 12_000,
  srttAvgUs: 250_000,
  srttSamples: 120,
  minRttUs: 60,
});

const send = [user('flush', 'app'), user('send', 'libc.so.6'), kernel('tcp_sendmsg_locked'), kernel('sk_stream_wait_memory'), kernel('schedule')];
/** producer (pid 50) blocked 3 s sending on its connection to 10.0.0.5:9092. */
const blockedSender = {
  ...offcpu([stack(50, 'producer', 3_000_000, send, 60)]),
  socketWriters: [{ pid: 50, sends: [{ fd: 7, local: '10.0.0.1:40112', remote: '10.0.0.5:9092', sendQueue: 2_500_000, blockedNow: true }] }],
};

describe('tcpflow', () => {
  it('answers sent over loopback, their congestion windows full: no path, no finding (a local server writing small answers)', () => {
    const local = (port: number) =>
      flow({
        pid: 90,
        comm: 'redis-server',
        local: `127.0.0.1:${port}`,
        remote: '127.0.0.1:7379',
        sentBytes: 2 * MiB,
        networkSeconds: 5.9,
        srttAvgUs: 40,
        srttSamples: 900,
        minRttUs: 8,
      });
    expect(analyzeRun({ run: run(), results: [on(tcpflow([local(40100), local(40101)]))] }).filter((f) => f.capture === 'tcpflow')).toEqual([]);
    // The same over a path: its capacity, as information.
    const remote = flow({ pid: 90, comm: 'redis-server', sentBytes: 2 * MiB, networkSeconds: 5.9, srttAvgUs: 40, srttSamples: 900, minRttUs: 8 });
    expect(analyzeRun({ run: run(), results: [on(tcpflow([remote]))] }).find((f) => f.capture === 'tcpflow')?.title).toMatch(
      /^The path to 10\.0\.0\.5 carries/,
    );
  });

  it('a transfer filling the path, and a connection to the same address queued behind it: the transfer leads, its RTT and drops as effects', () => {
    const rtt = result('tcprtt', {
      histograms: [{ labels: { remote: '10.0.0.5:5432' }, histogram: histogram({ 18: 120 }) }],
      overall: histogram({ 18: 120 }),
      totalRemotes: 1,
    });
    const findings = analyzeRun({ run: run(), results: [on(tcpflow([backup, query])), on(rtt)] });
    expect(findings).toHaveLength(1);
    const [f] = findings;
    expect(f!.capture).toBe('tcpflow');
    expect(f!.evidence.pid).toBe(70);
    const rate = (6 * MiB) / 5.9;
    expect(f!.evidence.rateBytesPerSecond).toBe(Math.round(rate));
    expect(f!.title).toContain(
      `backup (pid 70) fills the path to 10.0.0.5: it sent 6 MiB to 10.0.0.5:9000 at ${fmtBytes(rate)}/s (${((rate * 8) / 1e6).toFixed(1)} Mbit/s)`,
    );
    expect(f!.title).toContain(`round trips on it took ~${fmtUs(300_000)} against a floor of ${fmtUs(40)}`);
    expect(f!.title).toContain('4 packets retransmitted (that queue overflowing)');
    expect(f!.title).toContain(`api (pid 71)'s connection to 10.0.0.5:5432 (round trips ~${fmtUs(250_000)}, 120 samples) waits in that queue too`);
    expect(f!.title).toContain('Effect: Round-trip time to 10.0.0.5:5432');
    // The victim's round trips over the floor, each a sample: its time lost.
    expect(f!.impact!.value).toBeCloseTo(Math.min(WINDOW_S, (120 * (250_000 - 40)) / 1e6) / WINDOW_S, 3);
    expect(f!.severity).toBe('warning');
  });

  it('a transfer held by the network with nothing queued beside it: information on the path, no impact', () => {
    const alone = flow({ pid: 70, comm: 'backup', sentBytes: 600 * MiB, networkSeconds: 5.5, srttAvgUs: 900, srttSamples: 5000, minRttUs: 700 });
    const [f] = analyzeRun({ run: run(), results: [on(tcpflow([alone]))] }).filter((x) => x.capture === 'tcpflow');
    expect(f!.severity).toBe('info');
    expect(f!.impact).toBeUndefined();
    expect(f!.evidence.pid).toBeUndefined();
    expect(f!.title).toMatch(/^The path to 10\.0\.0\.5 carries ~/);
    expect(f!.title).not.toContain('queue');
  });

  it("a sender's wait for room to send, its transfer held by the network: the wait leads, the path is its cause", () => {
    const transfer = flow({
      pid: 50,
      comm: 'producer',
      local: '10.0.0.1:40112',
      remote: '10.0.0.5:9092',
      sentBytes: 3 * MiB,
      networkSeconds: 5.8,
      srttAvgUs: 2000,
      srttSamples: 900,
      minRttUs: 1800,
    });
    const findings = analyzeRun({ run: run(), results: [on(blockedSender), on(tcpflow([transfer]))] });
    const [f] = findings.filter((x) => x.evidence.pid === 50 || x.capture === 'tcpflow');
    expect(f!.capture).toBe('offcputime');
    expect(f!.title).toContain('waiting for room in its TCP send buffer (fd 7, its connection to 10.0.0.5:9092)');
    expect(f!.title).toContain('Cause: The path to 10.0.0.5 carries ~');
    expect(findings.filter((x) => x.capture === 'tcpflow')).toEqual([]);
  });

  it("held by the peer's receive window: told as the cause of the sender's wait, and not at all without one", () => {
    const slowReader = flow({
      pid: 50,
      comm: 'producer',
      local: '10.0.0.1:40112',
      remote: '10.0.0.5:9092',
      sentBytes: MiB,
      rwndSeconds: 5,
      networkSeconds: 0.3,
      srttAvgUs: 20_000,
      srttSamples: 300,
      minRttUs: 19_000,
      peerWindowBytes: 16_384,
    });
    const [f] = analyzeRun({ run: run(), results: [on(blockedSender), on(tcpflow([slowReader]))] });
    expect(f!.capture).toBe('offcputime');
    expect(f!.title).toContain(`Cause: producer (pid 50)'s connection to 10.0.0.5:9092 was held by the peer's receive window 83% of the 6 s it was seen`);
    expect(f!.title).toContain(`its window was 16 KiB at the end, which allows at most 800 KiB/s (6.6 Mbit/s) over round trips of ${fmtUs(20_000)}`);
    expect(analyzeRun({ run: run(), results: [on(tcpflow([slowReader]))] }).filter((x) => x.capture === 'tcpflow')).toEqual([]);
  });

  it('held by its own send buffer: names the buffer to raise', () => {
    const small = flow({
      pid: 50,
      comm: 'producer',
      local: '10.0.0.1:40112',
      remote: '10.0.0.5:9092',
      sentBytes: 2 * MiB,
      sndbufSeconds: 4,
      networkSeconds: 1,
      srttAvgUs: 40_000,
      srttSamples: 200,
      minRttUs: 39_000,
    });
    const [f] = analyzeRun({ run: run(), results: [on(blockedSender), on(tcpflow([small]))] });
    expect(f!.title).toContain("Cause: producer (pid 50)'s connection to 10.0.0.5:9092 was held by its own send buffer 67% of the 6 s it was seen");
    expect(f!.title).toContain('SO_SNDBUF');
  });

  it('a download through a queue on the way here, and a connection beside it waiting in that queue: the download leads; alone and unqueued, nothing', () => {
    const restore = flow({
      pid: 72,
      comm: 'restore',
      local: '10.0.0.1:40002',
      remote: '10.0.0.5:9001',
      receivedBytes: 5 * MiB,
      sentBytes: 200,
      rcvRttAvgUs: 240_000,
      rcvRttSamples: 900,
      minRttUs: 90,
    });
    const [f] = analyzeRun({ run: run(), results: [on(tcpflow([restore, query]))] });
    expect(f!.capture).toBe('tcpflow');
    expect(f!.evidence.pid).toBe(72);
    expect(f!.title).toContain(`restore (pid 72) fills the path from 10.0.0.5: it received 5 MiB from 10.0.0.5:9001 at ${fmtBytes((5 * MiB) / WINDOW_S)}/s`);
    expect(f!.title).toContain(`round trips on it took ~${fmtUs(240_000)} (as the receiver measures them) against a floor of ${fmtUs(60)}`);
    expect(f!.title).toContain("api (pid 71)'s connection to 10.0.0.5:5432");
    // Its sender on this host too: told from the sender's side, once.
    const source = flow({
      pid: 73,
      comm: 'source',
      local: '10.0.0.5:9001',
      remote: '10.0.0.1:40002',
      sentBytes: 5 * MiB,
      networkSeconds: 5.9,
      srttAvgUs: 240_000,
      srttSamples: 900,
      minRttUs: 90,
    });
    const both = analyzeRun({ run: run(), results: [on(tcpflow([restore, query, source]))] }).filter((x) => x.capture === 'tcpflow');
    expect(both.map((x) => x.id)).toEqual(['tcpflow:web-1:path:10.0.0.1']);
    const unqueued = { ...restore, rcvRttAvgUs: 100 };
    expect(analyzeRun({ run: run(), results: [on(tcpflow([unqueued, query]))] }).filter((x) => x.capture === 'tcpflow')).toEqual([]);
  });

  it('a slow server beside an upload that shows no queue: its round trips (delayed ACKs) make no victim', () => {
    const fast = flow({ pid: 70, comm: 'backup', sentBytes: 600 * MiB, networkSeconds: 5.5, srttAvgUs: 900, srttSamples: 5000, minRttUs: 700 });
    const [f] = analyzeRun({ run: run(), results: [on(tcpflow([fast, query]))] }).filter((x) => x.capture === 'tcpflow');
    expect(f!.severity).toBe('info');
    expect(f!.title).not.toContain('api (pid 71)');
  });

  it('small connections and short transfers are no transfer: nothing', () => {
    const short = flow({ pid: 70, comm: 'backup', sentBytes: 10 * MiB, networkSeconds: 0.4, srttAvgUs: 900, srttSamples: 50, minRttUs: 700 });
    expect(analyzeRun({ run: run(), results: [on(tcpflow([short, query]))] }).filter((x) => x.capture === 'tcpflow')).toEqual([]);
  });
});
