// One cause, one finding, ranked by impact on the runbook's symptom: a symptom
// and the cause the data links it to become one finding with the other as a
// step; findings of one pattern merge with every subject kept; a process on
// CPU leads the waits it explains; severity never outruns the impact.
import { describe, expect, it } from 'vitest';
import { linkCauses } from '../../src/analysis/causes.js';
import type { Finding } from '../../src/analysis/types.js';
import type { Frame } from '../../src/symbolize/types.js';
import { analyzeRun } from '../../src/runs/analyze-run.js';
import { dnsLookupRow, histogram, kernel, on, result, run, stack, user } from './fixtures.js';

const DEST = '10.0.3.7:5432';
const connlat = (destination: string, slots: Record<number, number>) =>
  result('tcpconnlat', { histograms: [{ labels: { destination }, histogram: histogram(slots) }], slowest: [], failures: [] });
const synRetransmits = (destination: string, n: number) =>
  result('tcpretrans', {
    rows: Array.from({ length: n }, (_, i) => ({
      local: `10.0.0.1:${40000 + i}`,
      remote: destination,
      family: 'ipv4',
      state: 'SYN_SENT',
      type: 'segment',
      pid: 7,
      comm: 'checkout',
      cgroupId: '1',
      retransmits: 1,
      failed: 0,
      firstSeen: '',
      lastSeen: '',
    })),
    processes: [],
    totalRows: n,
  });

describe('cause chains and same-cause merges', () => {
  it('slow connects to D and SYN retransmits to D are one finding: the slow connects, with the retransmits as their cause', () => {
    const findings = analyzeRun({ run: run({ symptom: 'latency' }), results: [on(connlat(DEST, { 6: 6, 19: 3 })), on(synRetransmits(DEST, 6))] });
    const network = findings.filter((f) => f.capture === 'tcpconnlat' || f.capture === 'tcpretrans');
    expect(network).toHaveLength(1);
    const [top] = network;
    expect(top!.capture).toBe('tcpconnlat');
    expect(top!.title).toContain(`to ${DEST} take`);
    expect(top!.title).toContain(`Cause: TCP from checkout (pid 7) to ${DEST} was retransmitted 6 times`);
    expect(top!.evidence.steps).toEqual([expect.objectContaining({ role: 'cause', link: `syn-loss:${DEST}`, capture: 'tcpretrans' })]);
    // One impact: the time the connects lost (the retransmits are the same seconds).
    expect(top!.impact!.unit).toBe('s/s');
    expect(top!.impact!.value).toBeCloseTo(1, 0); // 6 SYNs × 1 s over 6 s
  });

  it('slow connects to three backends of one port with the same SYN retries are one finding naming all three', () => {
    const findings = analyzeRun({
      run: run({ symptom: 'latency' }),
      results: [
        on(
          result('tcpconnlat', {
            histograms: ['10.0.0.1:5432', '10.0.0.2:5432', '10.0.0.3:5432'].map((destination, i) => ({
              labels: { destination },
              histogram: histogram({ 6: 6, 19: 1 + i }),
            })),
            slowest: [],
            failures: [],
          }),
        ),
      ],
    });
    const slow = findings.filter((f) => f.capture === 'tcpconnlat');
    expect(slow).toHaveLength(1);
    expect(slow[0]!.evidence.destination).toBe('10.0.0.3:5432'); // the one that lost most leads
    expect(slow[0]!.title).toMatch(/The same on 2 more \(10\.0\.0\.2:5432, 10\.0\.0\.1:5432\)/);
    expect((slow[0]!.evidence.sameCause as { count: number; subjects: unknown[] }).count).toBe(3);
    expect((slow[0]!.evidence.sameCause as { subjects: unknown[] }).subjects).toHaveLength(3);
  });

  it('tasks waiting for a CPU: the process on CPU most leads, with the waits as its effect', () => {
    const HZ = 99;
    const findings = analyzeRun({
      run: run({ symptom: 'cpu' }),
      results: [
        on(
          result('profile', {
            stacks: [
              stack(100, 'hog', 550, [user('main', 'hog'), user('checksum_spin', 'hog')]),
              stack(200, 'nginx', 50, [user('main', 'nginx'), kernel('tcp_sendmsg')]),
            ],
            total: 600,
            frequency: HZ,
          }),
        ),
        on(result('runqlat', { histograms: [{ labels: { scope: 'all' }, histogram: histogram({ 3: 500, 15: 40 }) }], groupBy: 'process', top: 10 })),
      ],
    });
    const [top] = findings;
    expect(top!.evidence.pid).toBe(100);
    expect(top!.title).toContain('checksum_spin');
    expect(top!.title).toContain('Effect: Runnable tasks waited');
    expect(findings.filter((f) => f.capture === 'runqlat')).toEqual([]);
    // Its impact is its own CPU, not the others' waits.
    expect(top!.impact!.value).toBeCloseTo(550 / HZ / 6, 2);
  });

  describe('an exec storm and its parent on CPU forking it', () => {
    const HZ = 99;
    const PARENT = 4000;
    // 600 short children of one script (2 ms each: 0.2 s/s), the script itself on CPU 0.3 of a CPU (fork/exec).
    const storm = (execs = 600) =>
      on(
        result('execsnoop', {
          events: Array.from({ length: execs }, (_, i) => ({
            time: '',
            pid: 5000 + i,
            tid: 5000 + i,
            ppid: PARENT,
            uid: 0,
            comm: 'true',
            pcomm: 'storm.sh',
            filename: '/usr/bin/true',
            argv: ['true'],
            argsTruncated: false,
            retval: 0,
            cgroupId: '1',
            lifetimeMs: 2,
            exitCode: 0,
          })),
        }),
      );
    const parentOnCpu = (cpus = 0.3) =>
      on(
        result('profile', {
          stacks: [
            stack(PARENT, 'storm.sh', Math.round(cpus * HZ * 6), [user('main', 'bash'), kernel('copy_process')]),
            stack(77, 'idle-ish', 60, [user('main', 'other'), user('poll', 'other')]),
          ],
          total: Math.round(cpus * HZ * 6) + 60,
          frequency: HZ,
        }),
      );
    const waits = () =>
      on(result('runqlat', { histograms: [{ labels: { scope: 'all' }, histogram: histogram({ 3: 500, 15: 40 }) }], groupBy: 'process', top: 10 }));

    for (const [order, results] of [
      ['storm first', () => [storm(), parentOnCpu(), waits()]],
      ['waits first', () => [waits(), parentOnCpu(), storm()]],
    ] as const) {
      it(`is one finding led by the storm, its parent's CPU added to its impact (${order})`, () => {
        const findings = analyzeRun({ run: run({ symptom: 'cpu' }), results: results() });
        const [top] = findings;
        expect(top!.capture).toBe('execsnoop');
        expect(top!.evidence.ppid).toBe(PARENT);
        expect(top!.title).toContain('storm.sh (pid 4000) started 600 processes');
        expect(top!.title).toMatch(/Its own cost: .*storm\.sh \(pid 4000\).* 0\.30 CPUs/);
        // 600 × 2 ms of children over 6 s, and the parent's 0.3 CPUs.
        expect(top!.impact!.value).toBeCloseTo(0.2 + 0.3, 2);
        expect(findings.filter((f) => f.capture === 'profile' && f.evidence.pid === PARENT)).toEqual([]);
        // The waits the parent's CPU explained are the storm's now, whichever was linked first.
        expect(findings.filter((f) => f.capture === 'runqlat')).toEqual([]);
        expect(JSON.stringify(top!.evidence.steps)).toContain('Runnable tasks waited');
      });
    }

    it('a parent busy beyond what its starts can cost (5 ms each) is its own finding: its CPU has a cause of its own', () => {
      // 130 starts in 6 s (over the 20/s threshold) can cost ~0.11 CPUs; the parent used 1.5.
      const findings = analyzeRun({ run: run({ symptom: 'cpu' }), results: [storm(130), parentOnCpu(1.5)] });
      const top = findings[0]!;
      expect(top.capture).toBe('profile');
      expect(top.evidence.pid).toBe(PARENT);
      expect(top.title).not.toContain('Its own cost');
      const stormFinding = findings.find((f) => f.capture === 'execsnoop')!;
      expect(stormFinding.title).toContain('started 130 processes');
      expect(stormFinding.title).not.toContain('Its own cost');
    });

    it("a parent that is not on CPU adds nothing: the storm alone, its children's time its impact", () => {
      const findings = analyzeRun({ run: run({ symptom: 'cpu' }), results: [storm()] });
      const top = findings.find((f) => f.capture === 'execsnoop')!;
      expect(top.title).not.toContain('Its own cost');
      expect(top.impact!.value).toBeCloseTo(0.2, 2);
    });
  });

  it('a frequent harmless event does not outrank a rare expensive one: the CPU hog ranks above 40 failed execs', () => {
    const execs = Array.from({ length: 40 }, (_, i) => ({
      time: '',
      pid: 1000 + i,
      tid: 1000 + i,
      ppid: 9,
      uid: 0,
      comm: 'cron',
      pcomm: 'cron',
      filename: '/opt/missing.sh',
      argv: ['/opt/missing.sh'],
      argsTruncated: false,
      retval: -2,
      error: 'ENOENT',
      cgroupId: '1',
    }));
    const findings = analyzeRun({
      run: run({ symptom: 'cpu' }),
      results: [
        on(result('execsnoop', { events: execs })),
        on(result('profile', { stacks: [stack(100, 'hog', 590, [user('main', 'hog'), user('checksum_spin', 'hog')])], total: 590, frequency: 99 })),
      ],
    });
    expect(findings[0]!.title).toContain('checksum_spin');
    const failed = findings.find((f) => f.id.includes('failed-exec'))!;
    expect(failed.severity).toBe('info'); // 40 × ~1 ms over 6 s
    expect(failed.score).toBeLessThan(findings[0]!.score);
  });
});

describe('a same-cause merge keeps what each of its findings was linked to', () => {
  const finding = (id: string, pid: number, impact: number, links: Finding['links']): Finding => ({
    id,
    severity: 'warning',
    title: `hog (pid ${pid}) is busy; next: its flame graph.`,
    node: 'n',
    capture: id.split(':')[0]!,
    evidence: { pid },
    file: 'f',
    score: impact,
    impact: { value: impact, unit: 's/s', basis: '', bears: ['cpu', 'latency'] },
    cause: { key: 'hog is busy', subject: `pid ${pid}` },
    links,
  });
  it("the smaller one's effect (a process that waited behind it) stays a step of the merged finding, in its title", () => {
    const waits: Finding = {
      ...finding('runqlat:n:group', 9, 0.3, { shows: ['runq-behind:2'] }),
      title: 'api (pid 9) waited 4 ms for a CPU at p99.',
      cause: undefined,
      evidence: { pid: 9 },
    };
    const merged = linkCauses([
      finding('profile:n:1', 1, 0.9, { explains: ['runq-behind:1'] }),
      finding('profile:n:2', 2, 0.8, { explains: ['runq-behind:2'] }),
      waits,
    ]);
    expect(merged).toHaveLength(1);
    expect(merged[0]!.title).toBe(
      // Merged first (one cause), then linked: the effect follows the merged sentence.
      'hog (pid 1) is busy. The same on 1 more (pid 2), 1.70 s/s in all. Effect: api (pid 9) waited 4 ms for a CPU at p99; next: its flame graph.',
    );
    expect((merged[0]!.evidence.steps as { link: string }[]).map((s) => s.link)).toEqual(['runq-behind:2']);
  });
});

describe('a restart loop and the call that fails before each end', () => {
  const CONFIG = '/etc/billing/config.yaml';
  const starts = [101, 102, 103, 104, 105, 106];
  const exits = result('signals', {
    events: starts.map((pid, i) => ({
      kind: 'exit',
      time: `2026-01-01T00:00:0${i}.000Z`,
      pid,
      ppid: 9,
      uid: 0,
      comm: 'billing-api',
      cgroupId: '1',
      exitCode: 78,
      lifetimeMs: 12,
    })),
    exits: starts.length,
  });
  const failedOpens = (pids: number[], other?: { comm: string; path: string }) =>
    result('syscallerrors', {
      rows: [
        ...pids.map((pid) => ({ pid, comm: 'billing-api', syscall: 'openat', errno: 'ENOENT', path: CONFIG, count: 1, firstSeen: '', lastSeen: '' })),
        ...(other ? [{ pid: 77, comm: other.comm, syscall: 'openat', errno: 'ENOENT', path: other.path, count: 1, firstSeen: '', lastSeen: '' }] : []),
      ],
      failures: pids.length,
      normalFailures: 0,
    });

  it('each start failing openat(config) with ENOENT is the cause of the exit loop: one finding naming the file', () => {
    const findings = analyzeRun({ run: run({ symptom: 'health' }), results: [on(exits), on(failedOpens(starts))] });
    const loop = findings.filter((f) => f.capture === 'signals' || f.capture === 'syscallerrors');
    expect(loop).toHaveLength(1);
    expect(loop[0]!.title).toMatch(/^billing-api \(pids .*\) exited with code 78 6 times/);
    expect(loop[0]!.title).toContain(`Cause: every start of billing-api failed openat("${CONFIG}") with ENOENT (6 processes`);
    expect(loop[0]!.severity).toBe('warning');
  });

  it("the same exits as execsnoop saw them (by the program's file, started by the same parent) are told by the loop, adding nothing to it", () => {
    const execEvents = (ppid: number) =>
      starts.map((pid, i) => ({
        time: `2026-01-01T00:00:0${i}.000Z`,
        pid,
        ppid,
        uid: 0,
        comm: 'python3',
        pcomm: 'supervisor',
        filename: '/usr/bin/python3',
        argv: ['/usr/bin/python3', '/srv/billing/app.py'],
        retval: 0,
        exitCode: 78,
        lifetimeMs: 12,
      }));
    const alone = analyzeRun({ run: run({ symptom: 'health' }), results: [on(exits), on(failedOpens(starts))] });
    const findings = analyzeRun({
      run: run({ symptom: 'health' }),
      results: [on(exits), on(failedOpens(starts)), on(result('execsnoop', { events: execEvents(9) }))],
    });
    const loop = findings.filter((f) => ['signals', 'syscallerrors', 'execsnoop'].includes(f.capture));
    expect(loop).toHaveLength(1);
    expect(loop[0]!.capture).toBe('signals');
    expect(loop[0]!.title).toContain(`Cause: every start of billing-api failed openat("${CONFIG}")`);
    expect(loop[0]!.title).toContain(
      'Also seen: /usr/bin/python3 exited with code 78 6 times in 6 s (threshold 3), each after 12 ms or less, started by supervisor (pid 9)',
    );
    // Its severity, impact and rank are the loop's own.
    expect([loop[0]!.severity, loop[0]!.impact, loop[0]!.score]).toEqual([alone[0]!.severity, alone[0]!.impact, alone[0]!.score]);
    // Another parent's python3 exiting is another loop.
    const other = analyzeRun({ run: run({ symptom: 'health' }), results: [on(exits), on(result('execsnoop', { events: execEvents(10) }))] });
    expect(other.filter((f) => f.capture === 'execsnoop').map((f) => f.title)).toEqual([expect.stringContaining('/usr/bin/python3 exited')]);
  });

  it('a failure of too few processes, or of another program, is not made a cause (and is no finding alone)', () => {
    const findings = analyzeRun({ run: run({ symptom: 'health' }), results: [on(exits), on(failedOpens([101, 102], { comm: 'cron', path: '/etc/x' }))] });
    expect(findings.map((f) => f.capture)).toEqual(['signals']);
    expect(findings[0]!.title).not.toContain('Cause:');
  });
});

describe('a listener out of file descriptors', () => {
  const PORT = 8080;
  // accept4() on the listener fails with EMFILE a few times a second (a server backing off between tries).
  const failedAccepts = (count: number) =>
    result('syscallerrors', {
      rows: [
        {
          pid: 4242,
          comm: 'orders-api',
          syscall: 'accept4',
          errno: 'EMFILE',
          fd: 5,
          fdTarget: { kind: 'socket', protocol: 'tcp', family: 4, name: `TCP socket 10.0.0.9:${PORT}`, local: `10.0.0.9:${PORT}` },
          fdCensus: { open: 64, limit: 64, kinds: [{ kind: 'TCP socket', count: 61 }], tcpStates: [{ state: 'CLOSE_WAIT', count: 60 }], files: [] },
          count,
          firstSeen: '',
          lastSeen: '',
        },
      ],
      failures: count,
      normalFailures: 0,
    });
  const fullQueue = result('tcpdrop', {
    rows: [],
    listeners: [{ port: PORT, pid: 4242, comm: 'orders-api', namespaceOverflows: 120, maxAcceptQueue: 129, backlog: 128, netns: '1' }],
  });
  const slowConnects = connlat(`10.0.0.9:${PORT}`, { 6: 20, 19: 10 }); // ~1 s: a SYN retried

  it('its failing accept leads the full accept queue and the slow connects and retransmits behind it, with their impact and severity', () => {
    // Data after a handshake whose last ACK the full queue dropped: the client thinks it is connected.
    const clientRetransmits = result('tcpretrans', {
      rows: [
        {
          local: '10.0.0.1:40000',
          remote: `10.0.0.9:${PORT}`,
          family: 'ipv4',
          state: 'ESTABLISHED',
          type: 'segment',
          pid: 7,
          comm: 'client',
          cgroupId: '1',
          retransmits: 12,
          failed: 0,
          firstSeen: '',
          lastSeen: '',
        },
      ],
      processes: [],
      totalRows: 1,
    });
    const findings = analyzeRun({ run: run({ symptom: 'latency' }), results: [on(slowConnects), on(clientRetransmits), on(fullQueue), on(failedAccepts(6))] });
    const top = findings[0]!;
    expect(top.capture).toBe('syscallerrors');
    expect(top.title).toMatch(/^orders-api \(pid 4242\) failed accept4\(\) on TCP socket 10\.0\.0\.9:8080 \(fd 5\) with EMFILE 6 times/);
    expect(top.title).toContain('holding 64 of its 64 descriptors: 61 TCP sockets (60 in CLOSE_WAIT');
    expect(top.title).toContain(`Effect: The listener on port ${PORT} of orders-api (pid 4242)`);
    expect(top.severity).toBe('critical');
    // The refused SYNs' cost (120 × 1 s over the window) is its impact; the slow connects are its effect too, not a finding apart.
    expect(top.impact?.value).toBeGreaterThan(1);
    expect(findings.filter((f) => ['tcpconnlat', 'tcpdrop', 'tcpretrans'].includes(f.capture))).toEqual([]);
    expect(JSON.stringify(top.evidence.steps)).toContain('syn-loss-port:8080');
  });

  it('below the failed-calls threshold it is still a finding alone; EAGAIN on accept stays normal', () => {
    const alone = analyzeRun({ run: run({ symptom: 'latency' }), results: [on(failedAccepts(2))] });
    expect(alone.map((f) => [f.capture, f.severity])).toEqual([['syscallerrors', 'warning']]);
    const eagain = failedAccepts(2) as unknown as { rows: { errno: string; normal?: string }[] };
    Object.assign(eagain.rows[0]!, { errno: 'EAGAIN', normal: 'EAGAIN on a non-blocking call: nothing ready yet' });
    expect(analyzeRun({ run: run({ symptom: 'latency' }), results: [on(eagain as never)] }).filter((f) => f.capture !== '*')).toEqual([]);
  });
});

describe('a process waiting for DNS answers', () => {
  const lookups = result('dnslat', {
    rows: [dnsLookupRow({ queries: 20, answered: 18, unanswered: 2, retries: 2, rcodes: { NOERROR: 18 }, totalWaitMs: 2030, waitsMs: [1001, 1002, 2, 1] })],
    queries: 20,
    answered: 18,
    unanswered: 2,
    waiting: 0,
    unmatchedAnswers: 0,
    totalRows: 1,
  });
  // glibc's getaddrinfo blocked in poll() inside send_dg for those answers.
  const blocked = (resolver: string) =>
    result('offcputime', {
      stacks: [
        stack(
          4242,
          'checkout',
          2_000_000,
          [
            user('main'),
            user('getaddrinfo', 'libc.so.6'),
            user(resolver, 'libc.so.6'),
            user('__poll', 'libc.so.6'),
            kernel('do_sys_poll'),
            kernel('poll_schedule_timeout.constprop.0'),
            kernel('schedule'),
          ],
          2,
        ),
      ],
    });

  it('its slow lookups lead, its threads blocked in the resolver (offcputime) their effect', () => {
    const findings = analyzeRun({ run: run({ symptom: 'latency' }), results: [on(blocked('send_dg')), on(lookups)] });
    expect(findings.map((f) => f.capture)).toEqual(['dnslat']);
    expect(findings[0]!.title).toMatch(/^checkout \(pid 4242\) waited 2\.00 s for DNS answers from 10\.0\.0\.53:53/);
    expect(findings[0]!.title).toContain('Effect: checkout (pid 4242) spent 2.00 s');
    expect(findings[0]!.title).toContain('waiting for a DNS answer in poll_schedule_timeout');
  });

  it('a poll wait without a resolver frame is an idle one: the lookups alone', () => {
    const findings = analyzeRun({ run: run({ symptom: 'latency' }), results: [on(blocked('handle_request')), on(lookups)] });
    expect(findings.map((f) => f.capture)).toEqual(['dnslat']);
    expect(findings[0]!.title).not.toContain('Effect:');
  });
});

describe('a client with no local port left', () => {
  it('its connect() failing with EADDRNOTAVAIL leads the connects tcpconnlat saw closed before they connected', () => {
    const closed = result('tcpconnlat', {
      histograms: [],
      slowest: [],
      failures: [{ destination: '10.0.0.9:5432', error: 'closed', errno: 0, count: 300, pid: 77, comm: 'billing-client' }],
    });
    const failedConnects = result('syscallerrors', {
      rows: [
        {
          pid: 77,
          comm: 'billing-client',
          syscall: 'connect',
          errno: 'EADDRNOTAVAIL',
          fd: 4,
          fdTarget: { kind: 'socket', protocol: 'tcp', family: 4, name: 'an unbound TCP socket', local: '0.0.0.0:0' },
          portCensus: { tcpStates: [{ state: 'TIME_WAIT', count: 28000 }], timeWaitTo: [{ destination: '10.0.0.9:5432', count: 27900 }] },
          count: 300,
          firstSeen: '',
          lastSeen: '',
        },
      ],
      failures: 300,
      normalFailures: 0,
    });
    const findings = analyzeRun({ run: run({ symptom: 'latency' }), results: [on(closed), on(failedConnects)] });
    expect(findings.map((f) => f.capture)).toEqual(['syscallerrors']);
    expect(findings[0]!.title).toMatch(
      /^billing-client \(pid 77\) failed connect\(\) on an unbound TCP socket \(fd 4\) with EADDRNOTAVAIL 300 times .* with 28,000 TCP connections in TIME_WAIT in its network namespace \(27,900 to 10\.0\.0\.9:5432\): no local port was free/,
    );
    expect(findings[0]!.title).toContain('Effect: 300 connects from billing-client (pid 77) to 10.0.0.9:5432 failed (closed ×300)');
  });

  it("a server's slow answers: its calls to an upstream inside them explain them first, else its threads blocked at work (offcputime)", () => {
    const offcpu = result('offcputime', {
      stacks: [
        stack(42, 'orders-api', 2_400_000, [user('write_audit', 'app'), kernel('ext4_sync_file'), kernel('jbd2_log_wait_commit'), kernel('schedule')], 300),
      ],
      sampleType: { type: 'off-cpu', unit: 'microseconds' },
      total: 2_400_000,
      lostStacks: { kernel: 0, user: 0 },
      top: 20,
      states: 'SD',
      blocks: 300,
    });
    const side = (over: object) => ({ pid: 42, comm: 'orders-api', answers: 500, p99Ms: 524, waits: [], abandonedWaits: [], waitingWaits: [], ...over });
    const spans = (n: number, ms: number, shift = 0) => Array.from({ length: n }, (_, i) => [1000 + i * 1000 - shift, ms]);
    const served = side({ role: 'server', peer: '', port: 8080, waits: spans(5, 480) });
    const answers = (rows: object[]) => result('tcpresponse', { rows, answers: 1000, recordMs: 50, totalRows: rows.length });
    const target = { symptom: 'latency' as const, target: { port: 8080 } };
    // Its threads blocked in fsync: the disk waits lead, the slow answers their effect.
    const blocked = analyzeRun({ run: run(target), results: [on(offcpu), on(answers([served]))] });
    expect(blocked[0]!.capture).toBe('offcputime');
    expect(blocked[0]!.title).toContain('Effect: orders-api (pid 42) answered 5 of 500 requests on port 8080');
    // The same, and its calls to a database inside each slow answer: those explain them (timed, not inferred).
    const calls = side({ role: 'client', peer: '10.0.0.9:5432', port: 5432, waits: spans(5, 450, 5) });
    const both = analyzeRun({ run: run(target), results: [on(offcpu), on(answers([served, calls]))] });
    const lead = both.find((f) => f.title.includes('answered 5 of 500'))!;
    expect(lead.capture).toBe('tcpresponse');
    expect(lead.title).toMatch(/^orders-api \(pid 42\) waited on 10\.0\.0\.9:5432 during 5 of its 5 slow answers/);
  });

  it("a server's slow answers ← the commands it ran most of the window (execSync); commands of a process with no slow answers are no finding", () => {
    const t0 = Date.parse('2026-12-07T05:00:00Z');
    // 90 commands of ~55 ms, one after another from 0.1 s: 4.95 s of the 6 s window.
    const commands = (ppid: number, pcomm: string) =>
      on(
        result('execsnoop', {
          events: Array.from({ length: 90 }, (_, i) => ({
            time: new Date(t0 + 100 + i * 55).toISOString(),
            pid: 6000 + i,
            tid: 6000 + i,
            ppid,
            uid: 0,
            comm: 'sh',
            pcomm,
            filename: '/bin/sh',
            argv: ['/bin/sh', '-c', 'git rev-parse HEAD'],
            argsTruncated: false,
            retval: 0,
            cgroupId: '1',
            lifetimeMs: 55,
            exitCode: 0,
          })),
        }),
      );
    const slowAnswers = on(
      result('tcpresponse', {
        rows: [
          {
            pid: 42,
            comm: 'node',
            role: 'server',
            peer: '',
            port: 8080,
            answers: 80,
            p99Ms: 480,
            waits: [
              [1000, 400],
              [2000, 450],
              [3000, 420],
            ],
            abandonedWaits: [],
            waitingWaits: [],
          },
        ],
        answers: 80,
        recordMs: 50,
        totalRows: 1,
      }),
    );
    const target = { symptom: 'latency' as const, target: { pid: [42] } };
    const [top] = analyzeRun({ run: run(target), results: [slowAnswers, commands(42, 'node')] });
    expect(top!.capture).toBe('execsnoop');
    expect(top!.title).toMatch(
      /^node \(pid 42\) had a command of its own running 83% of the 6 s window: 90 processes it started ended in it \(~55 ms each, one at a time\), mostly \/bin\/sh -c git rev-parse HEAD: .*node's whole event loop/,
    );
    expect(top!.title).toContain('Effect: node (pid 42) answered 3 of 80 requests on port 8080');
    expect(top!.evidence).toMatchObject({ ppid: 42, commands: 90, ranMs: 4950 });
    // A shell script running commands, no server: nothing said.
    const alone = analyzeRun({ run: run({ symptom: 'latency' }), results: [commands(77, 'deploy.sh')] });
    expect(alone.filter((f) => f.capture === 'execsnoop')).toEqual([]);
  });

  it("a server's slow answers ← the sleeps of the threads that gave them (a retry's backoff); a poller thread's sleeps beside them explain nothing", () => {
    const sleepStack = (where: Frame[], value: number, blocks: number, tids: number[]) => ({
      ...stack(42, 'python3', value, [...where, user('clock_nanosleep', 'libc.so.6'), kernel('do_nanosleep'), kernel('schedule')], blocks),
      threads: tids.map((tid) => [tid, value / tids.length]),
    });
    const py = (name: string, file: string, line: number): Frame => ({ name, kind: 'user', module: file, file: `/srv/${file}`, line });
    const sleeps = result('offcputime', {
      stacks: [
        // The poller: one thread asleep the whole window, 120 × 50 ms.
        sleepStack([py('heartbeat', 'app.py', 3), user('python3.11+0x1d64b4', 'python3.11')], 6_000_000, 120, [50]),
        // The requests: 16 threads, each asleep 300 ms once, in backoff ← do_GET.
        sleepStack([py('H.do_GET', 'app.py', 8), py('backoff', 'app.py', 12), user('python3.11+0x1d64b4', 'python3.11')], 4_800_000, 16, [
          ...Array.from({ length: 16 }, (_, i) => 60 + i),
        ]),
      ],
      sampleType: { type: 'off-cpu', unit: 'microseconds' },
      total: 10_800_000,
    });
    const slowAnswers = (threads: [number, number][]) =>
      result('tcpresponse', {
        rows: [
          {
            pid: 42,
            comm: 'python3',
            role: 'server',
            peer: '',
            port: 8080,
            answers: 32,
            p99Ms: 512,
            waits: Array.from({ length: 16 }, (_, i) => [300 * (i + 1), 301]),
            abandonedWaits: [],
            waitingWaits: [],
            threads,
          },
        ],
        answers: 32,
        recordMs: 50,
        totalRows: 1,
      });
    const [top] = analyzeRun({ run: run({ symptom: 'latency' }), results: [on(sleeps), on(slowAnswers([61, 62, 63].map((tid) => [tid, 301])))] });
    expect(top!.capture).toBe('offcputime');
    expect(top!.severity).toBe('warning');
    expect(top!.title).toMatch(
      /^python3 \(pid 42\) slept 4\.80 s \(80% of the 6 s window, summed over 16 threads\) in timed sleeps called from backoff \(app\.py:12\) ← H\.do_GET \(app\.py:8\) \(16 sleeps of ~300 ms each\)/,
    );
    expect(top!.title).toContain('Effect: python3 (pid 42) answered 16 of 32 requests on port 8080');
    expect(top!.title).toContain('next: find why backoff sleeps');
    // Answers given by threads that never slept (the CPU, an upstream): no sleep explains them, the poller's least of all.
    const apart = analyzeRun({
      run: run({ symptom: 'latency' }),
      results: [
        on(sleeps),
        on(
          slowAnswers([
            [7, 301],
            [8, 301],
          ]),
        ),
      ],
    });
    expect(apart.filter((f) => f.capture === 'offcputime')).toEqual([]);
    // Answers of 4 s by threads that slept 300 ms in them (queued behind others first): the sleeps are not what made them slow.
    const small = analyzeRun({
      run: run({ symptom: 'latency' }),
      results: [
        on(sleeps),
        on(
          slowAnswers([
            [61, 4000],
            [62, 4000],
          ]),
        ),
      ],
    });
    expect(small.filter((f) => f.capture === 'offcputime')).toEqual([]);
    // Sleeps and no slow answers: nothing said.
    expect(analyzeRun({ run: run({ symptom: 'latency' }), results: [on(sleeps)] }).filter((f) => f.capture === 'offcputime')).toEqual([]);
  });

  it("a server's slow answers ← the parked waits of the threads that gave them (a pool with nothing free); a job's parks and an idle pool worker's beside them explain nothing", () => {
    const py = (name: string, file: string, line: number): Frame => ({ name, kind: 'user', module: file, file: `/srv/${file}`, line });
    const stdlib = (name: string, file: string, line: number): Frame => ({ name, kind: 'user', module: file, file: `/usr/lib/python3.11/${file}`, line });
    // Python's Condition.wait: its waiter lock's acquire, a semaphore wait in libc, a futex in the kernel.
    const condition = [
      stdlib('Condition.wait', 'threading.py', 324),
      user('lock_PyThread_acquire_lock', 'python3.11'),
      user('PyThread_acquire_lock_timed', 'python3.11'),
      user('__new_sem_wait_slow64', 'libc.so.6'),
      kernel('futex_do_wait'),
      kernel('schedule'),
    ];
    const parkStack = (where: Frame[], value: number, blocks: number, tids: number[]) => ({
      ...stack(42, 'python3', value, [...where, ...condition], blocks),
      threads: tids.map((tid) => [tid, value / tids.length]),
    });
    const parks = result('offcputime', {
      stacks: [
        // The requests: 8 threads parked 4 s in all, in Queue.get ← checkout ← handle.
        parkStack([py('handle', 'orders-api.py', 54), py('checkout', 'orders-api.py', 44), stdlib('Queue.get', 'queue.py', 171)], 4_000_000, 800, [
          ...Array.from({ length: 8 }, (_, i) => 60 + i),
        ]),
        // The job checking the pool's connections out: parked too, in its own thread.
        parkStack([py('sync', 'orders-api.py', 70), stdlib('Queue.get', 'queue.py', 171)], 1_000_000, 50, [80]),
        // A pool's worker waiting for its next task (concurrent.futures): idle, whichever thread it is.
        parkStack([stdlib('_worker', 'concurrent/futures/thread.py', 81), stdlib('Queue.get', 'queue.py', 171)], 5_000_000, 10, [61]),
        // The request threads taking the GIL back after I/O: a condition variable's wait, and lockwait's finding.
        {
          ...stack(
            42,
            'python3',
            5_000_000,
            [
              py('handle', 'orders-api.py', 56),
              user('PyEval_RestoreThread', 'python3.11'),
              user('take_gil', 'python3.11'),
              user('pthread_cond_timedwait', 'libc.so.6'),
              kernel('futex_do_wait'),
            ],
            900,
          ),
          threads: [60, 61, 62].map((tid) => [tid, 5_000_000 / 3]),
        },
      ],
      sampleType: { type: 'off-cpu', unit: 'microseconds' },
      total: 15_000_000,
    });
    const slowAnswers = (threads: [number, number][]) =>
      result('tcpresponse', {
        rows: [
          {
            pid: 42,
            comm: 'python3',
            role: 'server',
            peer: '',
            port: 8080,
            answers: 400,
            p99Ms: 512,
            waits: Array.from({ length: 8 }, (_, i) => [600 * (i + 1), 510]),
            abandonedWaits: [],
            waitingWaits: [],
            threads,
          },
        ],
        answers: 400,
        recordMs: 50,
        totalRows: 1,
      });
    const findings = analyzeRun({ run: run({ symptom: 'latency' }), results: [on(parks), on(slowAnswers([60, 61, 62].map((tid) => [tid, 510])))] });
    const top = findings[0]!;
    expect(top.capture).toBe('offcputime');
    expect(top.severity).toBe('warning');
    expect(top.title).toMatch(
      /^python3 \(pid 42\) waited 4\.00 s \(67% of the 6 s window, summed over 8 threads\) in parked waits called from Queue\.get \(queue\.py:171\) ← checkout \(orders-api\.py:44\) ← handle \(orders-api\.py:54\) \(800 waits of ~5 ms each\), in the threads that answered its slow requests/,
    );
    expect(top.title).toContain('Effect: python3 (pid 42) answered 8 of 400 requests on port 8080');
    expect(top.title).toContain('next: what Queue.get waits for: a pool with nothing free');
    // The job's parks and the idle worker's: never a finding of their own.
    expect(findings.filter((f) => f.capture === 'offcputime')).toHaveLength(1);
    // Answers given by threads that never parked (the job's thread is not among them): no park explains them.
    const apart = analyzeRun({ run: run({ symptom: 'latency' }), results: [on(parks), on(slowAnswers([[7, 510]]))] });
    expect(apart.filter((f) => f.capture === 'offcputime')).toEqual([]);
  });

  it("a JVM's Thread.sleep in the threads that gave the slow answers is a timed sleep (a park underneath), named by the Java frames above it", () => {
    const jvm = (name: string): Frame => user(name, 'libjvm.so');
    const java = (name: string): Frame => ({ name, kind: 'jit', module: '[anon]' });
    const sleeps = result('offcputime', {
      stacks: [
        {
          ...stack(
            43,
            'pool-1-thread-1',
            3_000_000,
            [
              jvm('JavaThread::thread_main_inner()'),
              java('void Quotes.handle(com.sun.net.httpserver.HttpExchange)'),
              java('java.lang.String Quotes.fetchRates()'),
              java('void java.lang.Thread.sleep(long)'),
              jvm('JVM_Sleep'),
              jvm('JavaThread::sleep(long)'),
              jvm('os::PlatformEvent::park(long)'),
              user('pthread_cond_timedwait', 'libc.so.6'),
              kernel('futex_do_wait'),
            ],
            30,
          ),
          threads: [
            [70, 1_500_000],
            [71, 1_500_000],
          ],
        },
      ],
      processNames: { 43: 'java' },
      sampleType: { type: 'off-cpu', unit: 'microseconds' },
      total: 3_000_000,
    });
    const answers = result('tcpresponse', {
      rows: [
        {
          pid: 43,
          comm: 'java',
          role: 'server',
          peer: '',
          port: 8080,
          answers: 40,
          p99Ms: 360,
          waits: Array.from({ length: 8 }, (_, i) => [400 * (i + 1), 350]),
          abandonedWaits: [],
          waitingWaits: [],
          threads: [
            [70, 1400],
            [71, 1400],
          ],
        },
      ],
      answers: 40,
      recordMs: 50,
      totalRows: 1,
    });
    const [top] = analyzeRun({ run: run({ symptom: 'latency' }), results: [on(sleeps), on(answers)] });
    expect(top!.capture).toBe('offcputime');
    expect(top!.title).toMatch(
      /^java \(pid 43\) slept 3\.00 s \(50% of the 6 s window, summed over 2 threads\) in timed sleeps called from Quotes\.fetchRates ← Quotes\.handle \(30 sleeps of ~100 ms each\)/,
    );
  });

  it("a full connection-tracking table leads netfilter's drops to D and the connects to D given up behind them", () => {
    const closed = result('tcpconnlat', {
      histograms: [],
      slowest: [],
      failures: [{ destination: '10.0.0.9:8618', error: 'closed', errno: 0, count: 12, pid: 78, comm: 'cart-client' }],
    });
    const drops = result('tcpdrop', {
      rows: [{ reason: 'NETFILTER_DROP', drops: 24, protocol: 'tcp', destination: '10.0.0.9:8618', location: 'nf_hook_slow', port: 0, pid: 0 }],
      listeners: [],
      conntrack: [{ netns: 'net:[4026532999]', host: false, pid: 90, comm: 'orders-api', entries: 64, max: 64, drops: 24, earlyDrops: 0 }],
    });
    const findings = analyzeRun({ run: run({ symptom: 'latency' }), results: [on(closed), on(drops)] });
    expect(findings).toHaveLength(1);
    expect(findings[0]!.title).toMatch(/^The connection-tracking table of the network namespace of orders-api \(pid 90\)/);
    // The connects took the drops as their cause, and so the table's too.
    expect(findings[0]!.title).toContain('Effect: 12 connects from cart-client (pid 78) to 10.0.0.9:8618 failed (closed ×12)');
    expect(findings[0]!.title).toContain('Cause: 24 TCP packets to 10.0.0.9:8618 were dropped');
  });
});

describe('a process per connection and a client per query', () => {
  it("postgres's backends answering slowly, each its own pid, and the psql clients that waited, each its own: one finding, the server's, the clients its effect", () => {
    const backends = [41, 42, 43, 44];
    const clients = [61, 62, 63, 64];
    const rows = [
      ...backends.map((pid, i) => ({
        role: 'server',
        pid,
        comm: 'postgres',
        peer: '',
        port: 5432,
        answers: 3,
        p99Ms: 800,
        waits: [[1000 + i * 900, 780 + i]],
        abandonedWaits: [],
        waitingWaits: [],
      })),
      ...clients.map((pid, i) => ({
        role: 'client',
        pid,
        comm: 'psql',
        peer: '127.0.0.1:5432',
        port: 0,
        answers: 3,
        p99Ms: 800,
        server: { pid: backends[i], comm: 'postgres' },
        waits: [[1000 + i * 900, 781 + i]],
        abandonedWaits: [],
        waitingWaits: [],
      })),
    ];
    const findings = analyzeRun({
      run: run({ symptom: 'latency' }),
      results: [on(result('tcpresponse', { rows, answers: 24, recordMs: 50, totalRows: rows.length }))],
    });
    const about = findings.filter((f) => f.capture === 'tcpresponse');
    expect(about).toHaveLength(1);
    expect(about[0]!.title).toMatch(/^postgres \(pid 4\d\) answered 1 of 3 requests on port 5432 .*The same on 3 more \(postgres \(pid 4\d\), .*\)/);
    expect(about[0]!.title).toMatch(/Effect: psql \(pid 6\d\) waited .* The same on 3 more/);
  });
});
