// Network findings from results built here, with expectations computed from
// the same numbers: slow and failed connects per destination, retransmit and
// reset hot spots, high RTT; and the "No problems found" finding of a quiet run.
import { describe, expect, it } from 'vitest';
import { analyzeRun } from '../../src/runs/analyze-run.js';
import { fmtUs } from '../../src/format/index.js';
import { expectedQuantile, histogram, NODE, on, result, run } from './fixtures.js';

const DEST = '10.0.3.7:5432';
const FAST_SLOT = 6; // 64..128 µs
const SYN_SLOT = 19; // 524288..1048576 µs: a dropped SYN, retried after 1 s

function connlat(histograms: { destination: string; slots: Record<number, number> }[], extra: Record<string, unknown> = {}) {
  return result('tcpconnlat', {
    histograms: histograms.map((h) => ({ labels: { destination: h.destination }, histogram: histogram(h.slots) })),
    slowest: [],
    failures: [],
    missedRuns: 0,
    ...extra,
  });
}

/** One reset on one flow (a tcpreset row), its socket full unless said. */
const reset = (direction: string, local: string, remote: string, over: Record<string, unknown>) => ({
  direction,
  local,
  remote,
  family: 'ipv4',
  socket: 'full',
  cgroupId: '1',
  count: 1,
  firstSeen: '',
  lastSeen: '',
  ...over,
});

describe('tcpconnlat', () => {
  it('a third of the connects to one destination in the 2^19..2^20 µs bucket: p99 ≈ 1 s, the share slow, the rest fast', () => {
    const slots = { [FAST_SLOT]: 6, [SYN_SLOT]: 3 };
    const slowest = [0, 1, 2].map((i) => ({
      time: '',
      pid: 4242,
      tid: 4242,
      comm: 'checkout',
      cgroupId: '1',
      source: `10.0.0.1:4000${i}`,
      destination: DEST,
      latencyUs: 1_003_000 + i * 1000,
    }));
    const findings = analyzeRun({
      run: run(),
      results: [
        on(
          connlat(
            [
              { destination: DEST, slots },
              { destination: '10.0.0.9:80', slots: { 7: 40 } },
            ],
            { slowest },
          ),
        ),
      ],
    });

    const top = findings[0]!;
    const p99 = expectedQuantile(slots, 0.99);
    expect(p99).toBeGreaterThan(900_000);
    expect(p99).toBeLessThan(1_048_576);
    expect(top.severity).toBe('critical'); // ~1 s is over 5 × the 100 ms default
    expect(top.capture).toBe('tcpconnlat');
    expect(top.node).toBe(NODE);
    expect(top.file).toBe(`nodes/${NODE}/tcpconnlat.json`);
    expect(top.title).toContain(`to ${DEST}`);
    expect(top.title).toContain(`from checkout (pid 4242)`);
    expect(top.title).toContain(`take ${fmtUs(p99)} at p99 (threshold 100 ms)`);
    expect(top.title).toContain('3 of 9 (33%)');
    expect(top.title).toContain('the rest were fast (the other 6 under 128 µs)');
    expect(top.title).toMatch(/dropped SYN/);
    expect(top.evidence).toMatchObject({ destination: DEST, connects: 9, slowConnects: 3, fastConnects: 6, restWereFast: true, thresholdMs: 100 });
    expect(top.evidence.p99Ms).toBeCloseTo(p99 / 1000, 2);
    expect(top.evidence.slowShare).toBeCloseTo(1 / 3, 2);
    // The healthy destination has no finding, and no "No problems found" with a problem present.
    expect(findings.filter((f) => f.capture === 'tcpconnlat')).toHaveLength(1);
    expect(findings.some((f) => f.title.startsWith('No problems found'))).toBe(false);
  });

  it('without slowest records it still names the destination and the bucket range, and the target from the plan', () => {
    const slots = { [FAST_SLOT]: 6, [SYN_SLOT]: 3 };
    const [top] = analyzeRun({ run: run({ params: { service: 'checkout' } }), results: [on(connlat([{ destination: DEST, slots }]))] });
    expect(top!.title).toContain('Connects from checkout to 10.0.3.7:5432');
    expect(top!.title).toContain(`${fmtUs(524288)}–${fmtUs(1048576)}`);
  });

  it('every connect slow: warning under 5× the threshold, "all were slow"', () => {
    const slots = { 17: 20 }; // 131..262 ms
    const [top] = analyzeRun({ run: run(), results: [on(connlat([{ destination: DEST, slots }]))] });
    expect(top!.severity).toBe('warning');
    expect(top!.title).toContain('all 20 were slow');
    expect(top!.title).toContain(fmtUs(expectedQuantile(slots, 0.99)));
  });

  it('runbook thresholds apply: the same data under a 2 s threshold is quiet', () => {
    const r = connlat([{ destination: DEST, slots: { [FAST_SLOT]: 6, [SYN_SLOT]: 3 } }]);
    const findings = analyzeRun({ run: run({ thresholds: { connectP99Ms: 2000 } }), results: [on(r)] });
    expect(findings.map((f) => f.title)).toEqual([expect.stringMatching(/^No problems found on web-1: checked connect latency/)]);
    // An explicit argument wins over the plan's.
    expect(analyzeRun({ run: run({ thresholds: { connectP99Ms: 2000 } }), results: [on(r)], thresholds: { connectP99Ms: 100 } })[0]!.severity).not.toBe('info'); // 3 × ~1 s over 6 s: a warning by the time lost
  });

  it('failed connects per destination, with what the error means', () => {
    const failures = [
      { destination: '10.0.0.5:6379', error: 'ECONNREFUSED', errno: 111, count: 7, pid: 10, comm: 'worker' },
      { destination: '10.0.0.5:6379', error: 'ETIMEDOUT', errno: 110, count: 2, pid: 10, comm: 'worker' },
    ];
    const [top] = analyzeRun({ run: run(), results: [on(connlat([], { failures }))] });
    expect(top!.severity).toBe('warning'); // none connected, but 7 refused × 10 ms + 2 timed out × 1 s over 6 s is 0.35 s/s
    expect(top!.title).toContain('9 connects from worker (pid 10) to 10.0.0.5:6379 failed (ECONNREFUSED ×7, ETIMEDOUT ×2)');
    expect(top!.title).toContain('nothing listens there');
  });

  it('refused connects, the packets to no socket and the resets they got (and this host sent) are one finding, led by the connects', () => {
    const dest = '127.0.0.1:18990';
    const failures = [{ destination: dest, error: 'ECONNREFUSED', errno: 111, count: 494, pid: 10, comm: 'client' }];
    const drops = [{ reason: 'NO_SOCKET', protocol: 'tcp', destination: dest, source: '127.0.0.1', location: 'tcp_v4_rcv', drops: 501 }];
    const resets = [
      { direction: 'received', local: '127.0.0.1:40001', remote: dest, family: 'ipv4', state: 'SYN_SENT', socket: 'full', pid: 10, comm: 'client', count: 100 },
      // The kernel's answers to the SYNs (no socket): the same refusals seen from the port's end.
      reset('sent', dest, '127.0.0.1:40001', { state: '-', socket: 'none', reason: 'NO_SOCKET', pid: 0, comm: '', count: 100 }),
    ];
    const findings = analyzeRun({
      run: run(),
      results: [
        on(connlat([], { failures })),
        on(result('tcpdrop', { rows: drops, listeners: [] })),
        on(result('tcpreset', { rows: resets, sent: 100, received: 100, totalRows: 2 })),
      ],
    });
    const network = findings.filter((f) => ['tcpconnlat', 'tcpdrop', 'tcpreset'].includes(f.capture));
    expect(network).toHaveLength(1);
    const [top] = network;
    expect(top!.capture).toBe('tcpconnlat');
    expect(findings[0]).toBe(top);
    expect(top!.severity).toBe('critical'); // the drops' severity: 501 in 6 s
    expect(top!.title).toMatch(/^494 connects from client \(pid 10\) to 127\.0\.0\.1:18990 failed \(ECONNREFUSED ×494\): refused: nothing listens there/);
    expect(top!.title).toContain('Cause: 501 TCP packets to 127.0.0.1:18990 were dropped');
    expect(top!.title).toContain('Cause: client (pid 10) got 100 TCP resets from 127.0.0.1:18990');
    expect(top!.title).toContain('Cause: This host sent 100 TCP resets from 127.0.0.1:18990 to 127.0.0.1');
    expect((top!.evidence.steps as { capture: string }[]).map((s) => s.capture).sort()).toEqual(['tcpdrop', 'tcpreset', 'tcpreset']);
  });

  it('a quiet result: one info finding, "No problems found", listing what was checked', () => {
    const findings = analyzeRun({ run: run(), results: [on(connlat([{ destination: DEST, slots: { [FAST_SLOT]: 30 } }]))] });
    expect(findings).toHaveLength(1);
    expect(findings[0]!.severity).toBe('info');
    expect(findings[0]!.title).toBe('No problems found on web-1: checked connect latency.');
    expect(findings[0]!.evidence.checked).toEqual([{ node: NODE, capture: 'tcpconnlat', what: 'connect latency (30 connects to 1 destination)' }]);
  });
});

describe('tcpretrans and tcpreset', () => {
  const flow = (i: number, retransmits: number, state = 'SYN_SENT') => ({
    local: `10.0.0.1:${40000 + i}`,
    remote: DEST,
    family: 'ipv4',
    state,
    type: 'segment',
    pid: 7,
    comm: 'checkout',
    cgroupId: '1',
    retransmits,
    failed: 0,
    firstSeen: '',
    lastSeen: '',
  });

  it('retransmits summed per remote over short flows: a SYN hot spot', () => {
    const rows = [flow(1, 2), flow(2, 2), flow(3, 1), flow(4, 1), flow(5, 1, 'ESTABLISHED')];
    const [top] = analyzeRun({ run: run(), results: [on(result('tcpretrans', { rows, processes: [], totalRows: rows.length }))] });
    expect(top!.severity).toBe('warning');
    expect(top!.title).toContain(`TCP from checkout (pid 7) to ${DEST} was retransmitted 7 times over 5 connections`);
    expect(top!.title).toContain('mostly SYNs');
    expect(top!.evidence).toMatchObject({ retransmits: 7, flows: 5, maxPerFlow: 2, states: { SYN_SENT: 6, ESTABLISHED: 1 } });
  });

  it('only full-size segments, one timed out again and again after the handshake: an MTU black hole, under the threshold too', () => {
    const stalled = { ...flow(1, 4, 'ESTABLISHED'), fullSize: 4, mss: 1448, pmtu: 1500, maxTimeouts: 4 };
    const [top] = analyzeRun({ run: run(), results: [on(result('tcpretrans', { rows: [stalled], processes: [], totalRows: 1 }))] });
    expect(top!.severity).toBe('critical');
    expect(top!.title).toMatch(
      /^TCP from checkout \(pid 7\) to 10\.0\.3\.7:5432 stalled on full-size segments: all 4 retransmits over 1 connection in 6 s were full 1448-byte segments \(one segment timed out 4 times in a row\), after a handshake that got through: packets as large as 1500 bytes are dropped on the path while small ones pass \(an MTU black hole/,
    );
    expect(top!.title).toContain("next: find the path's MTU (tracepath 10.0.3.7; ping -M do -s 1472 10.0.3.7)");
    // 200 + 400 + 800 + 1600 ms of timeouts over 6 s.
    expect(top!.impact!.value).toBeCloseTo(0.5, 3);
    expect(top!.evidence.blackHole).toMatchObject({ flows: 1, mss: 1448, pmtu: 1500, maxTimeouts: 4 });
    // On connections their programs had closed, no one waits: named, but it costs nothing here (ranked as information).
    const closed = analyzeRun({
      run: run(),
      results: [on(result('tcpretrans', { rows: [{ ...stalled, retransmits: 1, fullSize: 1, orphaned: 1 }], processes: [], totalRows: 1 }))],
    }).find((f) => f.capture === 'tcpretrans');
    expect(closed!.title).toContain('its one retransmit over 1 connection in 6 s was a full 1448-byte segment');
    expect(closed!.title).toContain('on connections their program had already closed');
    expect(closed!.severity).toBe('info');
    // Loss that also hits smaller segments, or that timed out twice at most, is loss.
    for (const lossy of [
      { ...stalled, retransmits: 12, fullSize: 9 },
      { ...stalled, retransmits: 12, fullSize: 12, maxTimeouts: 2 },
    ]) {
      const [f] = analyzeRun({ run: run(), results: [on(result('tcpretrans', { rows: [lossy], processes: [], totalRows: 1 }))] });
      expect(f!.title).toContain('was retransmitted 12 times');
      expect(f!.evidence.blackHole).toBeUndefined();
    }
  });

  it('data retransmitted over loopback: no wire lost it, its receiver here acknowledged late; information, not a path losing packets', () => {
    const rows = [1, 2].map((i) => ({ ...flow(i, 6, 'ESTABLISHED'), local: '127.0.0.1:8950', remote: `127.0.0.1:${57880 + i}` }));
    const findings = analyzeRun({ run: run(), results: [on(result('tcpretrans', { rows, processes: [], totalRows: 2 }))] });
    const local = findings.filter((f) => f.capture === 'tcpretrans');
    expect(local.map((f) => f.severity)).toEqual(['info', 'info']);
    expect(local[0]!.title).toMatch(
      /^TCP from checkout \(pid 7\) to 127\.0\.0\.1:5788[12] was retransmitted 6 times over 1 connection in 6 s \(threshold 5\): data segments over loopback, where no wire loses them: the receiving process on this host took the retransmit timeout/,
    );
    expect(local[0]!.title).toMatch(/; next: the receiving side's waits for a CPU \(runqlat\) and drops on lo \(tcpdrop\)\.$/);
    // A drop seen on this host still explains them (loss:<endpoint>).
    expect(local[0]!.links?.shows).toContain(`loss:${String(local[0]!.evidence.endpoint)}`);
  });

  it('under the threshold per remote: nothing', () => {
    const rows = [flow(1, 1), flow(2, 1)];
    const findings = analyzeRun({ run: run(), results: [on(result('tcpretrans', { rows, processes: [], totalRows: 2 }))] });
    expect(findings.map((f) => f.severity)).toEqual(['info']);
  });

  it('resets received from a peer, and sent for a closed port', () => {
    const rows = [
      {
        direction: 'received',
        local: '10.0.0.1:40001',
        remote: DEST,
        family: 'ipv4',
        state: 'ESTABLISHED',
        socket: 'full',
        pid: 7,
        comm: 'checkout',
        cgroupId: '1',
        count: 12,
        firstSeen: '',
        lastSeen: '',
      },
      ...[1, 2, 3].map((i) =>
        reset('sent', '10.0.0.1:9999', `10.0.0.8:5000${i}`, { state: '-', socket: 'none', reason: 'NO_SOCKET', pid: 0, comm: '', cgroupId: '0', count: 4 }),
      ),
    ];
    const findings = analyzeRun({ run: run(), results: [on(result('tcpreset', { rows, sent: 12, received: 12, totalRows: rows.length }))] });
    const received = findings.find((f) => f.evidence.direction === 'received')!;
    expect(received.title).toBe(`checkout (pid 7) got 12 TCP resets from ${DEST} in 6 s (threshold 5), in ESTABLISHED: the peer aborted the connections.`);
    const sent = findings.find((f) => f.evidence.direction === 'sent')!;
    expect(sent.title).toContain('This host sent 12 TCP resets from 10.0.0.1:9999 to 10.0.0.8');
    expect(sent.title).toContain('NO_SOCKET: nothing listens on that port here');
  });

  it('resets a server here sent by closing with unread data are the cause of those its client here took while connected', () => {
    const ports = [1, 2, 3, 4, 5, 6];
    const client = ports.map((i) => reset('received', `127.0.0.1:4200${i}`, '127.0.0.1:8955', { state: 'ESTABLISHED', pid: 7, comm: 'uploader' }));
    const server = ports.map((i) =>
      reset('sent', '127.0.0.1:8955', `127.0.0.1:4200${i}`, {
        state: 'CLOSE',
        closedFrom: 'ESTABLISHED',
        reason: 'TCP_ABORT_ON_CLOSE',
        pid: 40,
        comm: 'upload-api',
      }),
    );
    const findings = analyzeRun({ run: run(), results: [on(result('tcpreset', { rows: [...client, ...server], sent: 6, received: 6, totalRows: 12 }))] });
    const resets = findings.filter((f) => f.capture === 'tcpreset');
    expect(resets).toHaveLength(1);
    expect(resets[0]!.title).toMatch(
      /^uploader \(pid 7\) got 6 TCP resets from 127\.0\.0\.1:8955 in 6 s \(threshold 5\), in ESTABLISHED: the peer aborted the connections\. Cause: /,
    );
    expect(resets[0]!.title).toContain(
      'Cause: upload-api (pid 40) reset 6 connections from 127.0.0.1:8955 to 127.0.0.1 in 6 s (threshold 5) by closing them with data it had not read (TCP_ABORT_ON_CLOSE)',
    );
    expect(resets[0]!.title).toMatch(/; next: read the rest of the request .*\.$/);
  });

  it("resets taken in CLOSE_WAIT are writes on connections the server had closed (a keep-alive pool): a warning, leading the server's own resets", () => {
    const ports = [1, 2, 3, 4, 5, 6, 7];
    const client = ports.map((i) =>
      reset('received', `127.0.0.1:4100${i}`, '127.0.0.1:8951', { state: 'CLOSE_WAIT', socket: 'full', pid: 7 + (i % 2), comm: 'billing' }),
    );
    const server = ports.map((i) =>
      reset('sent', '127.0.0.1:8951', `127.0.0.1:4100${i}`, { state: 'TIME_WAIT', socket: 'timewait', reason: 'TCP_TIMEWAIT_SOCKET', pid: 0, comm: '' }),
    );
    const servers = { '127.0.0.1:8951': { pid: 40, comm: 'invoice-api' } };
    const both = analyzeRun({
      run: run(),
      results: [on(result('tcpreset', { rows: [...client, ...server], sent: 7, received: 7, totalRows: 14, servers }))],
    });
    const [top] = both;
    expect(top!.severity).toBe('warning');
    expect(top!.title).toMatch(
      /^billing \(pid 8\) and billing \(pid 7\) got 7 TCP resets from 127\.0\.0\.1:8951 \(invoice-api, pid 40\) in 6 s \(threshold 5\), each on a connection 127\.0\.0\.1:8951 had already closed \(its FIN came first: CLOSE_WAIT\).*a keep-alive pool reusing connections after the server closed them for idling\. Effect: This host sent 7 TCP resets from 127\.0\.0\.1:8951 \(invoice-api, pid 40\) to 127\.0\.0\.1/,
    );
    expect(top!.title).toMatch(/; next: close pooled connections before the server does .*\.$/);
    expect(top!.evidence.server).toEqual({ pid: 40, comm: 'invoice-api' });
    expect(both.filter((f) => f.capture === 'tcpreset')).toHaveLength(1);
    // The server alone (its clients elsewhere): the same story from its side.
    const [alone] = analyzeRun({ run: run(), results: [on(result('tcpreset', { rows: server, sent: 7, received: 0, totalRows: 7 }))] });
    expect(alone!.severity).toBe('warning');
    expect(alone!.title).toContain(
      'This host sent 7 TCP resets from 127.0.0.1:8951 to 127.0.0.1 in 6 s (threshold 5), answering data that came for connections it had already closed (TIME_WAIT, TCP_TIMEWAIT_SOCKET: data for a connection it had closed)',
    );
    // Resets taken while established stay what they were: the peer aborted.
    const established = client.map((r) => ({ ...r, state: 'ESTABLISHED' }));
    const [aborted] = analyzeRun({ run: run(), results: [on(result('tcpreset', { rows: established, sent: 0, received: 7, totalRows: 7 }))] });
    expect(aborted!.title).toContain('in ESTABLISHED: the peer aborted the connections.');
  });
});

describe('tcprtt', () => {
  it('p99 RTT per remote over the threshold', () => {
    const slots = { 13: 90, 18: 10 }; // 8..16 ms mostly, 10% at 262..524 ms
    const [top] = analyzeRun({
      run: run(),
      results: [on(result('tcprtt', { histograms: [{ labels: { remote: DEST }, histogram: histogram(slots) }], overall: histogram(slots), totalRemotes: 1 }))],
    });
    expect(top!.severity).toBe('warning');
    expect(top!.title).toContain(`Round-trip time to ${DEST} is ${fmtUs(expectedQuantile(slots, 0.99))} at p99 (threshold 200 ms) over 100 samples`);
  });
});
