// CPU findings from results built here: hot functions with their process and
// share of samples, busy processes, off-CPU waits outside ordinary idle waits,
// run-queue latency p99.
import { describe, expect, it } from 'vitest';
import { analyzeRun } from '../../src/runs/analyze-run.js';
import { fmtUs } from '../../src/format/index.js';
import { expectedQuantile, histogram, kernel, offcpu, on, result, run, stack, user, WINDOW_MS } from './fixtures.js';

const HZ = 99;
const seconds = WINDOW_MS / 1000;

function profile(stacks: ReturnType<typeof stack>[], extra: Record<string, unknown> = {}) {
  const total = stacks.reduce((n, s) => n + s.value, 0);
  return result('profile', {
    ...extra,
    stacks,
    sampleType: { type: 'samples', unit: 'count' },
    periodNs: 1e9 / HZ,
    total,
    lostStacks: { kernel: 0, user: 0 },
    top: 20,
    frequency: HZ,
    processes: new Set(stacks.map((s) => s.pid)).size,
  });
}

describe('profile', () => {
  it('a hot function: its share of all samples, its process and the CPUs that process used', () => {
    // gzip: 450 samples in crc32, 100 elsewhere; another process 200.
    const stacks = [
      stack(100, 'gzip', 450, [user('main', 'gzip'), user('deflate', 'gzip'), user('crc32', 'libz.so.1')]),
      stack(100, 'gzip', 100, [user('main', 'gzip'), user('fill_window', 'gzip')]),
      stack(200, 'nginx', 200, [user('main', 'nginx'), kernel('do_syscall_64'), kernel('tcp_sendmsg')]),
    ];
    const findings = analyzeRun({ run: run(), results: [on(profile(stacks))] });
    const hot = findings.find((f) => f.evidence.pid === 100)!;
    const share = 450 / 750;
    const cpus = 550 / HZ / seconds;
    expect(hot.severity).toBe('warning');
    expect(hot.title).toBe(
      `${Math.round(share * 100)}% of the CPU samples are in crc32 (libz.so.1) in gzip (pid 100) (threshold 20%); the process used ${cpus.toFixed(2)} CPUs over 6 s; next: its stacks under crc32 in the flame graph (flamegraph.svg).`,
    );
    // Its impact: the CPU it used, in seconds per second of window.
    expect(hot.impact).toMatchObject({ unit: 's/s', value: Math.round(cpus * 1e4) / 1e4, bears: ['cpu', 'latency'] });
    expect(hot.impact!.basis).toContain(`${cpus.toFixed(2)} CPUs: 550 samples at ${HZ} Hz`);
    expect(hot.evidence.topFunctions).toEqual([
      expect.objectContaining({ function: 'crc32', module: 'libz.so.1', samples: 450 }),
      expect.objectContaining({ function: 'fill_window', samples: 100 }),
    ]);
    expect((hot.evidence.hotStacks as { frames: string[] }[])[0]!.frames[0]).toBe('crc32 (libz.so.1)');
    // nginx: 27% in tcp_sendmsg, 0.34 CPUs: worth knowing, not a problem.
    const light = findings.find((f) => f.evidence.pid === 200)!;
    expect(light.severity).toBe('info');
    expect(light.title).toContain('tcp_sendmsg [kernel]');
  });

  it('a low-priority process (nice 10 or more) is said to yield the CPU, and its CPU bears on CPU, not on latency', () => {
    const stacks = [stack(300, 'report-batch', 580, [user('main', 'python3'), user('aggregate', 'python3')])];
    const niced: ReturnType<typeof profile> = { ...profile(stacks), niceness: { 300: 19 } } as ReturnType<typeof profile>;
    const runs = (symptom: 'latency' | 'cpu', data = niced) => analyzeRun({ run: run({ symptom }), results: [on(data)] })[0]!;
    const latency = runs('latency');
    expect(latency.title).toContain('in report-batch (pid 300) (at nice 19: it yields the CPU to other work)');
    expect(latency.impact!.bears).toEqual(['cpu']);
    expect(latency.evidence.nice).toBe(19);
    // A quarter on a latency run, in full on a CPU run; at nice 0, in full on both.
    expect(latency.score).toBeCloseTo(runs('cpu').score * 0.25, 3);
    expect(runs('latency', profile(stacks)).score).toBeCloseTo(runs('cpu').score, 3);
  });

  it('hot JIT code without a perf map: one function, and the advice to name it', () => {
    const jit = { name: '[JIT code]', kind: 'jit' as const, module: '[anon]' };
    const stacks = [stack(400, 'node', 500, [user('main', 'node'), jit]), stack(400, 'node', 50, [user('main', 'node'), user('uv_run', 'node')])];
    const [top] = analyzeRun({ run: run(), results: [on(profile(stacks))] });
    expect(top!.evidence.pid).toBe(400);
    expect(top!.title).toMatch(/^91% of the CPU samples are in \[JIT code\] \(\[anon\]\) in node \(pid 400\)/);
    expect(top!.title).toContain('next: name its JIT functions with a perf map (node --perf-basic-prof');
  });

  it('a busy process without one hot function', () => {
    const fns = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'];
    const stacks = fns.map((f) => stack(300, 'java', 60, [user('main', 'java'), user(f, 'libjvm.so')]));
    const [top] = analyzeRun({ run: run(), results: [on(profile(stacks))] });
    expect(top!.severity).toBe('warning');
    expect(top!.title).toBe(
      `java (pid 300) used ${(600 / HZ / seconds).toFixed(2)} CPUs on average over 6 s (threshold 0.9), spread over many functions: a 10%, b 10%, c 10%; next: its part of the flame graph (flamegraph.svg).`,
    );
  });

  it('too few samples to say anything', () => {
    const findings = analyzeRun({ run: run(), results: [on(profile([stack(1, 'x', 30, [user('spin')])]))] });
    expect(findings.map((f) => f.title)).toEqual(['No problems found on web-1: checked CPU profile.']);
  });
});

describe('profile: garbage collection', () => {
  const v8 = (name: string) => user(`v8::internal::${name}`, 'node');
  const scavenge = [
    user('uv_run', 'node'),
    v8('Heap::CollectGarbage(v8::internal::AllocationSpace)'),
    v8('ScavengerCollector::CollectGarbage()'),
    v8('Scavenger::ScavengePage(v8::internal::MemoryChunk*)'),
  ];
  const mark = [
    user('start_thread', 'libc.so.6'),
    v8('ConcurrentMarking::Run(v8::JobDelegate*)'),
    v8('ConcurrentMarkingVisitor::ShouldVisit(v8::internal::HeapObject)'),
  ];
  const js = { name: '[JIT code]', kind: 'jit' as const, module: '[anon]' };

  it("a process collecting garbage for a large share of its CPU: the share, the runtime and its kinds of collection, its busiest thread's name", () => {
    const stacks = [
      stack(300, 'render-api', 150, scavenge),
      stack(300, 'node', 50, mark), // a helper thread keeps the binary's name
      stack(300, 'render-api', 290, [user('uv_run', 'node'), js]),
      stack(301, 'cron', 60, [user('main', 'cron')]),
    ];
    const [top] = analyzeRun({ run: run(), results: [on(profile(stacks))] });
    expect(top!.title).toBe(
      `render-api (pid 300) spent 41% of its CPU in garbage collection (V8: 75% scavenges of the young generation, 25% mark-compact of the old generation), ${(200 / HZ / seconds).toFixed(2)} CPUs over 6 s of the ${(490 / HZ / seconds).toFixed(2)} it used: while it collects, the program's threads wait; outside it, 53% of the CPU samples are in [JIT code] ([anon]); next: what allocates (the JavaScript frames under Heap::CollectGarbage in the flame graph), and the heap limits: --max-semi-space-size when scavenges dominate, --max-old-space-size when mark-compact does (a heap near its limit).`,
    );
    expect(top!.severity).toBe('warning');
    expect(top!.evidence.gc).toEqual({
      runtime: 'V8',
      samples: 200,
      shareOfProcess: 0.408,
      cpus: Math.round((200 / HZ / seconds) * 1000) / 1000,
      phases: { 'scavenges of the young generation': 150, 'mark-compact of the old generation': 50 },
    });
    // GC's frames are not hot functions of their own: its work is the one finding.
    expect((top!.evidence.topFunctions as { function: string }[]).map((f) => f.function)).toEqual(['[JIT code]']);
  });

  it("Go's collector by its frames and the JVM's by its threads' names; a little GC is not a finding", () => {
    const go = [
      stack(400, 'api', 120, [user('runtime.goexit'), user('runtime.gcBgMarkWorker'), user('runtime.gcDrain'), user('runtime.scanobject')]),
      stack(400, 'api', 180, [user('main.handle')]),
    ];
    const jvm = [stack(500, 'GC Thread#0', 100, [user('WorkerThread::run', 'libjvm.so')]), stack(500, 'java', 150, [user('Interpreter', 'libjvm.so')])];
    const little = [stack(600, 'svc', 20, scavenge), stack(600, 'svc', 280, [user('main', 'svc')])];
    const findings = analyzeRun({ run: run(), results: [on(profile([...go, ...jvm, ...little]))] });
    const of = (pid: number) => findings.find((f) => f.evidence.pid === pid);
    expect(of(400)!.title).toMatch(
      /^api \(pid 400\) spent 40% of its CPU in garbage collection \(Go\), .*; next: its allocations \(pprof alloc_space\), GOGC and GOMEMLIMIT\.$/,
    );
    expect(of(500)!.title).toMatch(/^java \(pid 500\) spent 40% of its CPU in garbage collection \(the JVM\), /);
    expect(of(600)?.evidence.gc).toBeUndefined();
  });
});

describe('profile: TLS handshakes', () => {
  const py = (name: string) => ({ name, kind: 'user' as const, module: 'ssl.py', file: '/usr/lib/python3.11/ssl.py', line: 1 });
  const libcrypto = (name: string) => user(name, 'libcrypto.so.3');
  const serverHandshake = [
    py('SSLContext.wrap_socket'),
    py('SSLSocket.do_handshake'),
    user('libssl.so.3+0x4a1f0', 'libssl.so.3'),
    libcrypto('EVP_DigestSignFinal'),
    libcrypto('libcrypto.so.3+0x129991'),
  ];
  const clientHandshake = [
    user('main.call'),
    user('crypto/tls.(*Conn).HandshakeContext'),
    user('crypto/tls.(*Conn).clientHandshake'),
    user('crypto/ecdsa.Verify'),
  ];

  it('a process whose CPU goes to full handshakes: the share, its side (a server signs, a client connects), and what to do on that side', () => {
    const stacks = [
      stack(700, 'quote-api', 300, serverHandshake),
      stack(700, 'quote-api', 200, [py('SSLSocket.recv'), libcrypto('libcrypto.so.3+0x22d714')]),
      stack(701, 'checkout', 240, clientHandshake),
      stack(701, 'checkout', 160, [user('main.handle')]),
    ];
    const findings = analyzeRun({ run: run(), results: [on(profile(stacks))] });
    const of = (pid: number) => findings.find((f) => f.evidence.pid === pid)!;
    expect(of(700).title).toMatch(
      /^quote-api \(pid 700\) spent 60% of its CPU in TLS handshakes \(as a server\), [\d.]+ CPUs over 6 s of the [\d.]+ it used: a full handshake \(a key exchange and a signature\) for each new connection; .*next: as a server: its clients open a connection \(and a full handshake\) per request/,
    );
    expect(of(700).evidence.tlsHandshakes).toMatchObject({ samples: 300, shareOfProcess: 0.6, side: 'server' });
    expect(of(700).severity).toBe('warning');
    expect(of(701).title).toMatch(/^checkout \(pid 701\) spent 60% of its CPU in TLS handshakes \(as a client\), .*next: as a client: it opens a connection/);
    // Handshake frames are not hot functions of their own.
    expect((of(700).evidence.topFunctions as { function: string }[]).map((f) => f.function)).toEqual(['libcrypto.so.3+0x22d714']);
  });

  it('a few handshakes in a busy process are not its story', () => {
    const stacks = [stack(702, 'api', 30, serverHandshake), stack(702, 'api', 570, [user('main'), user('render_page')])];
    const [top] = analyzeRun({ run: run(), results: [on(profile(stacks))] });
    expect(top!.evidence.tlsHandshakes).toBeUndefined();
    expect(top!.title).toMatch(/in render_page/);
  });
});

describe('profile: a server at its capacity', () => {
  /** render-loop (pid 500): 6 s of samples at 99 Hz, one CPU all the window. */
  const busy = [stack(500, 'render-loop', 300, [user('main'), user('render')]), stack(500, 'render-loop', 294, [user('main'), user('sha256')])];
  /** Its answers: 8 of 276 over 200 ms, just over it (~214 ms: the tail of a queue's waits), one after another. */
  const answers = result('tcpresponse', {
    rows: [
      {
        role: 'server',
        pid: 500,
        comm: 'render-loop',
        peer: '',
        port: 7901,
        answers: 276,
        p99Ms: 214,
        waits: Array.from({ length: 8 }, (_, i) => [1000 + i * 600, 210 + (i % 4) * 2]),
        abandonedWaits: [],
        waitingWaits: [],
      },
    ],
    answers: 276,
    recordMs: 50,
    totalRows: 1,
  });

  it('its only thread on a CPU all the window leads, its slow answers its effect, not a fixed wait', () => {
    const threads = { busiestThreads: { 500: { tid: 500, comm: 'render-loop', share: 1, threads: 1 } } };
    const findings = analyzeRun({ run: run({ symptom: 'latency', target: { port: 7901 } }), results: [on(profile(busy, threads)), on(answers)] });
    const top = findings[0]!;
    expect(top.capture).toBe('profile');
    expect(top.title).toMatch(
      /^51% of the CPU samples are in render \(app\) in render-loop \(pid 500\) .*; the process used 1\.00 CPUs over 6 s; one thread does its work \(its only thread\): on a CPU all the window, it can go no faster, and what it is asked to do queues for it .*\. Effect: render-loop \(pid 500\) answered 8 of 276 requests on port 7901/,
    );
    expect(top.title).not.toMatch(/one duration time after time/);
  });

  it('a thread among several that share the work is no one thread at its capacity', () => {
    const threads = { busiestThreads: { 500: { tid: 501, comm: 'worker', share: 0.3, threads: 4 } } };
    const [top] = analyzeRun({ run: run(), results: [on(profile(busy, threads))] });
    expect(top!.title).not.toMatch(/one thread does its work/);
  });
});

describe('profile: kernel time by what it was for', () => {
  const k = (...names: string[]) => names.map(kernel);
  const syscall = k('entry_SYSCALL_64_after_hwframe', 'do_syscall_64');

  it('page faults, a system call and the crossing itself, each summed over its leaves (a timer-sampled leaf is where interrupts came back on)', () => {
    const stacks = [
      stack(70, 'ingest', 120, [user('parse'), ...k('asm_exc_page_fault', 'exc_page_fault', 'do_user_addr_fault', 'pvm_irq_enable')]),
      stack(70, 'ingest', 60, [user('parse'), ...k('asm_exc_page_fault', 'exc_page_fault', 'handle_mm_fault', 'clear_page_erms')]),
      stack(70, 'ingest', 40, [user('__write', 'libc.so.6'), ...syscall, ...k('ksys_write', 'vfs_write')]),
      stack(70, 'ingest', 30, [user('__write', 'libc.so.6'), ...syscall, ...k('ksys_write', 'fdget_pos')]),
      stack(70, 'ingest', 50, [user('__write', 'libc.so.6'), ...syscall, ...k('__raw_callee_save_pvm_irq_enable', 'pvm_irq_enable')]),
      stack(70, 'ingest', 100, [user('parse')]),
    ];
    const [top] = analyzeRun({ run: run(), results: [on(profile(stacks))] });
    expect(top!.title).toMatch(
      /^45% of the CPU samples are in page faults \[kernel\] in ingest \(pid 70\) \(threshold 20%\), then parse 25%; the process used 0\.67 CPUs over 6 s; next: its stacks under exc_page_fault in the flame graph: first touches of memory it allocates .* \(flamegraph\.svg\)\.$/,
    );
    expect((top!.evidence.topFunctions as { function: string; samples: number }[]).map((f) => [f.function, f.samples])).toEqual([
      ['page faults', 180],
      ['parse', 100],
      ['write system calls', 70],
      ['system call entry and exit', 50],
    ]);
  });

  it('a page fault that compacts memory for a huge page, or reclaims, is named so, not a page fault', () => {
    const fault = k('asm_exc_page_fault', 'exc_page_fault', 'do_huge_pmd_anonymous_page', '__alloc_pages_slowpath');
    const stacks = [
      stack(90, 'cache', 200, [
        user('alloc_slab'),
        ...fault,
        ...k('__alloc_pages_direct_compact', 'try_to_compact_pages', 'compact_zone', 'isolate_migratepages_block'),
      ]),
      stack(90, 'cache', 60, [user('alloc_slab'), ...fault, ...k('__alloc_pages_direct_reclaim', 'try_to_free_pages', 'shrink_node')]),
      stack(90, 'cache', 40, [user('alloc_slab'), ...fault, ...k('clear_page_erms')]),
    ];
    const [top] = analyzeRun({ run: run(), results: [on(profile(stacks))] });
    expect((top!.evidence.topFunctions as { function: string; samples: number }[]).map((f) => [f.function, f.samples])).toEqual([
      ['memory compaction (moving pages to make room for huge pages)', 200],
      ['memory reclaim in its own allocations', 60],
      ['page faults', 40],
    ]);
    expect(top!.title).toContain('next: transparent_hugepage/defrag');
  });

  const forking = [user('rdbSaveBackground', 'redis-server'), user('fork', 'libc.so.6'), ...syscall, ...k('__x64_sys_clone', 'kernel_clone', 'copy_process')];
  const copying = [...forking, ...k('dup_mm', 'dup_mmap', 'copy_page_range', 'copy_pte_range')];

  it("a large process's forks copying its page tables: a stop of its own, with its memory (a snapshot like BGSAVE); a thread's clone is a clone", () => {
    const stacks = [
      stack(60, 'redis-server', 25, copying),
      stack(60, 'redis-server', 5, [...forking, ...k('dup_mm', 'dup_mmap', 'anon_vma_fork')]),
      stack(60, 'redis-server', 30, [user('pthread_create', 'libc.so.6'), ...syscall, ...k('__x64_sys_clone3', 'kernel_clone', 'copy_process', 'copy_thread')]),
      stack(61, 'batch', 200, [user('main'), user('crunch')]),
    ];
    const forkers = { 60: { residentBytes: 9.5 * 2 ** 30, pageTableBytes: 19.3 * 2 ** 20 } };
    const findings = analyzeRun({ run: run({ symptom: 'latency' }), results: [on(profile(stacks, { forkers }))] });
    const fork = findings.find((f) => f.evidence.pid === 60)!;
    expect(fork.severity).toBe('warning');
    expect(fork.title).toMatch(
      /^redis-server \(pid 60\) spent ~303 ms of the 6 s window copying its page tables in fork \(it holds 9\.5 GiB, in 19\.3 MiB of page tables\): a fork copies the tables .*; next: fork less often, or from a smaller process: Redis forks for each BGSAVE/,
    );
    expect(fork.evidence).toMatchObject({ forkMs: 303, samples: 30 });
    expect(fork.links?.explains).toEqual(['stalled-pid:60']);
    // The copy is not among its hot functions: its thread creation is, below the threshold.
    expect(findings.filter((f) => f.evidence.pid === 60)).toHaveLength(1);
  });

  it("a few forks' copies (under 50 ms) are one of its functions, named whole", () => {
    const stacks = [
      stack(60, 'redis-server', 4, copying),
      stack(60, 'redis-server', 50, [user('main'), user('serve')]),
      stack(61, 'batch', 10, [user('crunch')]),
    ];
    const [top] = analyzeRun({ run: run(), results: [on(profile(stacks))] });
    expect((top!.evidence.topFunctions as { function: string; samples: number }[]).map((f) => [f.function, f.samples])).toEqual([
      ['serve', 50],
      ["forks copying the process's memory map (page tables: the more memory, the longer each fork)", 4],
    ]);
  });

  it('its slow answers while it forked are the fork, not a long poll (all let go at once)', () => {
    const stacks = [stack(60, 'redis-server', 25, copying), stack(61, 'batch', 200, [user('crunch')])];
    // Five requests in flight when the fork began, all answered when it ended (~250 ms later).
    const answers = result('tcpresponse', {
      rows: [
        {
          role: 'server',
          pid: 60,
          comm: 'redis-server',
          peer: '',
          port: 6379,
          answers: 8000,
          p99Ms: 4,
          waits: [251.2, 250.8, 250.1, 249.6, 249.3].map((ms, i) => [3000.4 + i * 0.3, ms]),
          abandonedWaits: [],
          waitingWaits: [],
        },
      ],
      answers: 8000,
      recordMs: 50,
      totalRows: 1,
    });
    const findings = analyzeRun({ run: run({ symptom: 'latency', target: { port: 6379 } }), results: [on(profile(stacks)), on(answers)] });
    const top = findings[0]!;
    expect(top.capture).toBe('profile');
    expect(top.title).toMatch(/copying its page tables in fork.*\. Effect: redis-server \(pid 60\) answered 5 of 8,000 requests on port 6379/);
    expect(top.title).not.toMatch(/one duration time after time/);
  });

  it("a softirq inside a system call is the softirq's time; a call whose own frame was inlined keeps its leaf", () => {
    const stacks = [
      stack(80, 'proxy', 200, [user('send'), ...syscall, ...k('__sys_sendto', 'tcp_sendmsg', '__do_softirq', 'net_rx_action', '__netif_receive_skb_core')]),
      stack(80, 'proxy', 100, [user('send'), ...syscall, ...k('tcp_sendmsg', 'tcp_push')]),
    ];
    const [top] = analyzeRun({ run: run(), results: [on(profile(stacks))] });
    expect((top!.evidence.topFunctions as { function: string }[]).map((f) => f.function)).toEqual(['network receive softirqs', 'tcp_push']);
  });
});

describe('offcputime', () => {
  /** postgres waiting for pages from disk, called from FileRead. */
  const DISK_WAIT = [
    user('FileRead', 'postgres'),
    kernel('filemap_fault'),
    kernel('folio_wait_bit_common'),
    kernel('io_schedule'),
    kernel('schedule'),
    kernel('__schedule'),
  ];
  it('time blocked on disk I/O, with idle waits (epoll, parked futexes) left out', () => {
    const stacks = [
      // An event loop idling all window on 4 threads, and a parked pool: normal.
      stack(
        7,
        'postgres',
        4 * 6_000_000,
        [user('WaitEventSetWait', 'postgres'), kernel('do_epoll_wait'), kernel('schedule_hrtimeout_range'), kernel('schedule'), kernel('__schedule')],
        40,
      ),
      stack(7, 'postgres', 6_000_000, [user('pthread_cond_wait', 'libc.so.6'), kernel('futex_wait'), kernel('schedule'), kernel('__schedule')], 3),
      // The problem: 3 s waiting for pages from disk, in 600 waits.
      stack(7, 'postgres', 3_000_000, DISK_WAIT, 600),
      stack(7, 'postgres', 200_000, [user('LWLockAcquire', 'postgres'), kernel('futex_wait'), kernel('schedule')], 400),
    ];
    const findings = analyzeRun({ run: run(), results: [on(offcpu(stacks))] });
    const top = findings[0]!;
    expect(top.capture).toBe('offcputime');
    expect(top.severity).toBe('warning');
    expect(top.evidence).toMatchObject({ pid: 7, waitingIn: 'folio_wait_bit_common', userFrame: 'FileRead', kind: 'waiting for disk I/O', blocks: 600 });
    expect(top.evidence.shareOfWork).toBeCloseTo(3_000_000 / 3_200_000, 3);
    expect(top.title).toBe(
      `postgres (pid 7) spent 3.00 s (50% of the 6 s window, summed over threads) waiting for disk I/O in folio_wait_bit_common called from FileRead: 94% of the non-idle off-CPU time seen (threshold 30%), 600 waits of 5 ms on average.`,
    );
    expect(findings.filter((f) => f.capture === 'offcputime')).toHaveLength(1);
  });

  it("a wait is named the same when sched_switch has other probes too (the tracepoint's iterator on the stack)", () => {
    const stacks = [stack(7, 'postgres', 3_000_000, [...DISK_WAIT, kernel('__traceiter_sched_switch')], 600)];
    const [f] = analyzeRun({ run: run(), results: [on(offcpu(stacks))] }).filter((x) => x.capture === 'offcputime');
    expect(f!.evidence).toMatchObject({ waitingIn: 'folio_wait_bit_common', kind: 'waiting for disk I/O' });
  });

  it("page faults waiting on the process's address-space lock name it (mmap_lock), not a kernel lock", () => {
    const fault = [user('parse_rows', 'app'), kernel('exc_page_fault'), kernel('do_user_addr_fault'), kernel('lock_mm_and_find_vma')];
    const stacks = [
      stack(9, 'app', 2_000_000, [...fault, kernel('rwsem_down_read_slowpath'), kernel('schedule'), kernel('__schedule')], 500),
      stack(9, 'app', 100_000, [user('free', 'libc.so.6'), kernel('__vm_munmap'), kernel('rwsem_down_write_slowpath'), kernel('schedule')], 20),
      stack(10, 'daemon', 1_000_000, [user('tick'), kernel('inode_lock'), kernel('down_write'), kernel('rwsem_down_write_slowpath'), kernel('schedule')], 50),
    ];
    const findings = analyzeRun({ run: run(), results: [on(offcpu(stacks))] }).filter((f) => f.capture === 'offcputime');
    expect(findings.find((f) => f.evidence.pid === 9)!.title).toContain(
      'waiting for its address-space lock (mmap_lock: another of its threads maps, unmaps or changes memory, with mmap, munmap, mprotect, madvise or brk) in rwsem_down_read_slowpath called from parse_rows',
    );
    expect(findings.find((f) => f.evidence.pid === 10)!.evidence.kind).toBe('waiting for a kernel lock');
  });

  it('a futex wait is a lock only when its caller is one: condition variables are idle, an unnamed caller is info', () => {
    const futex = [kernel('futex_wait'), kernel('futex_do_wait'), kernel('schedule'), kernel('__schedule')];
    const stacks = [
      // Threads contending on a glibc mutex: 4 s in 4,000 short waits.
      stack(11, 'ledger', 4_000_000, [user('main', 'ledger'), user('ledger_append', 'ledger'), user('__lll_lock_wait', 'libc.so.6'), ...futex], 4000),
      // A pool's timed condition variable, woken every 50 ms all window: not contention.
      stack(12, 'pool', 6_000_000, [user('worker_loop', 'pool'), user('pthread_cond_timedwait', 'libc.so.6'), ...futex], 120),
      // A stripped binary's timed futex sleeps: nothing says lock or park.
      stack(13, 'agent', 6_000_000, [user('agent+0xc584f', 'agent'), ...futex], 120),
    ];
    const findings = analyzeRun({ run: run(), results: [on(offcpu(stacks))] }).filter((f) => f.capture === 'offcputime');
    expect(findings.map((f) => [f.evidence.pid, f.severity, f.evidence.kind])).toEqual([
      [11, 'warning', 'waiting for a lock (futex)'],
      [13, 'info', 'waiting on a futex (a lock or a condition variable: no user frame says which)'],
    ]);
  });

  it("threads entering a contended Java monitor park on a condition variable of their own: a lock, named as a monitor, with jstack next; Object.wait's park stays idle", () => {
    const park = [user('pthread_cond_wait', 'libc.so.6'), kernel('futex_wait'), kernel('futex_do_wait'), kernel('schedule')];
    const jvm = (name: string) => user(name, 'libjvm.so');
    const stacks = [
      // Five request threads taking turns in a synchronized method: 20 s in 75 waits.
      stack(
        20,
        'pool-1-thread-7',
        20_000_000,
        [
          { name: 'Ledger.handle', kind: 'jit' as const },
          jvm('_complete_monitor_locking_Java'),
          jvm('ObjectSynchronizer::enter(Handle, BasicLock*, JavaThread*)'),
          jvm('ObjectMonitor::enter(JavaThread*)'),
          jvm('ObjectMonitor::EnterI(JavaThread*)'),
          jvm('os::PlatformEvent::park()'),
          ...park,
        ],
        75,
      ),
      // A consumer in Object.wait() all window: a condition wait, not contention.
      stack(21, 'consumer', 6_000_000, [jvm('ObjectMonitor::wait(long, bool, JavaThread*)'), jvm('os::PlatformEvent::park()'), ...park], 2),
    ];
    // The process by its own name, not its waiting thread's (the capture reads its main thread's).
    const findings = analyzeRun({ run: run(), results: [on(offcpu(stacks, { processNames: { 20: 'java' } }))] }).filter((f) => f.capture === 'offcputime');
    expect(findings.map((f) => f.evidence.pid)).toEqual([20]);
    expect(findings[0]!.severity).toBe('warning');
    expect(findings[0]!.title).toMatch(
      /^java \(pid 20\) spent 20 s \(333% of the 6 s window, summed over threads\) waiting to enter a Java monitor \(a synchronized method or block: one thread in it at a time\) in futex_do_wait called from Ledger\.handle, 75 waits of [\d.]+ ms on average: .*next: jstack 20 names the thread holding the monitor/,
    );
  });

  describe('a writer blocked on a full pipe', () => {
    const write = [user('main', 'app'), user('write', 'libc.so.6'), kernel('ksys_write'), kernel('vfs_write'), kernel('anon_pipe_write'), kernel('schedule')];
    const pipeWriters = (state: string, waitingIn?: string) => [
      {
        pid: 30,
        pipes: [{ name: 'pipe:[4242]', fd: 1, blockedNow: true, readers: [{ pid: 31, comm: 'log-shipper', state, ...(waitingIn ? { waitingIn } : {}) }] }],
      },
    ];
    const withPipes = (stacks: ReturnType<typeof stack>[], writers: unknown) => {
      const r = offcpu(stacks);
      return { ...r, pipeWriters: writers };
    };

    it('names the pipe and its reader, and what the reader was doing', () => {
      const r = withPipes([stack(30, 'api', 4_500_000, write, 90)], pipeWriters('S', 'do_nanosleep'));
      const [f] = analyzeRun({ run: run(), results: [on(r)] }).filter((x) => x.capture === 'offcputime');
      expect(f!.title).toBe(
        'api (pid 30) spent 4.50 s (75% of the 6 s window, summed over threads) blocked writing into a full pipe (fd 1, pipe:[4242]) in anon_pipe_write called from write: ' +
          'its reader log-shipper (pid 31) does not keep up (when the capture ended it was asleep in do_nanosleep, not reading); 90 waits of 50 ms on average.',
      );
      expect(f!.evidence.pipe).toMatchObject({ name: 'pipe:[4242]', fd: 1 });
      const stopped = analyzeRun({ run: run(), results: [on(withPipes([stack(30, 'api', 4_500_000, write, 90)], pipeWriters('T')))] });
      expect(stopped[0]!.title).toContain('when the capture ended it was stopped (SIGSTOP or job control)');
      // Its pipes not read (the writer gone by the end): the wait is still named.
      const unread = analyzeRun({ run: run(), results: [on(offcpu([stack(30, 'api', 4_500_000, write, 90)]))] });
      expect(unread[0]!.title).toContain('blocked writing into a full pipe in anon_pipe_write called from write: its reader does not keep up;');
    });

    it("the reader's own wait leads: the writer's is its effect", () => {
      const readerDisk = [user('ship', 'log-shipper'), kernel('filemap_fault'), kernel('folio_wait_bit_common'), kernel('io_schedule'), kernel('schedule')];
      const r = withPipes(
        [stack(30, 'api', 4_500_000, write, 90), stack(31, 'log-shipper', 5_000_000, readerDisk, 900)],
        pipeWriters('D', 'folio_wait_bit_common'),
      );
      const findings = analyzeRun({ run: run(), results: [on(r)] }).filter((x) => x.capture === 'offcputime');
      expect(findings).toHaveLength(1);
      expect(findings[0]!.evidence.pid).toBe(31);
      expect(findings[0]!.title).toMatch(
        /^log-shipper \(pid 31\) spent 5\.00 s .* waiting for disk I\/O .*\. Effect: api \(pid 30\) spent 4\.50 s .* blocked writing into a full pipe/,
      );
    });
  });

  it("a wait for a file lock names the file and its holder; the holder's own wait leads", () => {
    const flock = [user('main', 'api'), user('flock', 'libc.so.6'), kernel('__do_sys_flock'), kernel('locks_lock_inode_wait'), kernel('schedule')];
    const lock = (holder: Record<string, unknown>) => ({ type: 'FLOCK', mode: 'WRITE', file: 'fe:00:42', path: '/var/lib/app/app.lock', holder, seen: 8 });
    const r = {
      ...offcpu([stack(40, 'api', 3_000_000, flock, 30)]),
      lockWaiters: [{ pid: 40, locks: [lock({ pid: 41, comm: 'backup', state: 'R' })] }],
    };
    const [f] = analyzeRun({ run: run(), results: [on(r)] }).filter((x) => x.capture === 'offcputime');
    expect(f!.title).toBe(
      'api (pid 40) spent 3.00 s (50% of the 6 s window, summed over threads) waiting for a file lock (flock, on /var/lib/app/app.lock) in locks_lock_inode_wait called from flock: ' +
        'held exclusively by backup (pid 41) (when the capture ended it was on a CPU); 30 waits of 100 ms on average.',
    );
    expect(f!.evidence.lock).toMatchObject({ path: '/var/lib/app/app.lock', holder: { pid: 41 } });
    // The holder itself waits on the disk while it holds the lock: that leads.
    const disk = [user('copy', 'backup'), kernel('filemap_fault'), kernel('folio_wait_bit_common'), kernel('io_schedule'), kernel('schedule')];
    const chained = {
      ...offcpu([stack(40, 'api', 3_000_000, flock, 30), stack(41, 'backup', 4_000_000, disk, 800)]),
      lockWaiters: [{ pid: 40, locks: [lock({ pid: 41, comm: 'backup', state: 'D', waitingIn: 'folio_wait_bit_common' })] }],
    };
    const findings = analyzeRun({ run: run(), results: [on(chained)] }).filter((x) => x.capture === 'offcputime');
    expect(findings.map((x) => x.evidence.pid)).toEqual([41]);
    expect(findings[0]!.title).toContain('Effect: api (pid 40) spent 3.00 s');
    expect(findings[0]!.title).toContain(
      'held exclusively by backup (pid 41) (when the capture ended it was in an uninterruptible wait in folio_wait_bit_common)',
    );
  });

  it('a wait for room in a TCP send buffer names the connection and its peer, on this host or not', () => {
    const send = [
      user('flush', 'app'),
      user('send', 'libc.so.6'),
      kernel('tcp_sendmsg'),
      kernel('tcp_sendmsg_locked'),
      kernel('sk_stream_wait_memory'),
      kernel('wait_woken'),
      kernel('schedule'),
    ];
    const connection = { fd: 7, local: '127.0.0.1:40112', remote: '127.0.0.1:9000', sendQueue: 2_500_000, blockedNow: true };
    const local = {
      ...offcpu([stack(50, 'producer', 3_000_000, send, 60)]),
      socketWriters: [
        { pid: 50, sends: [{ ...connection, peer: { pid: 51, comm: 'sink', state: 'S', waitingIn: 'do_nanosleep', receiveQueue: 3 * 1024 * 1024 } }] },
      ],
    };
    const [f] = analyzeRun({ run: run(), results: [on(local)] }).filter((x) => x.capture === 'offcputime');
    expect(f!.title).toBe(
      'producer (pid 50) spent 3.00 s (50% of the 6 s window, summed over threads) waiting for room in its TCP send buffer (fd 7, its connection to 127.0.0.1:9000) in sk_stream_wait_memory called from send: ' +
        'its peer sink (pid 51) does not read fast enough (3 MiB unread in its receive queue; when the capture ended it was asleep in do_nanosleep, not reading); 60 waits of 50 ms on average.',
    );
    const remote = {
      ...offcpu([stack(50, 'producer', 3_000_000, send, 60)]),
      socketWriters: [{ pid: 50, sends: [{ ...connection, remote: '10.0.0.5:9092' }] }],
    };
    expect(analyzeRun({ run: run(), results: [on(remote)] })[0]!.title).toContain(
      'its connection to 10.0.0.5:9092) in sk_stream_wait_memory called from send: the peer does not take the data as fast as it is sent (2.4 MiB unacknowledged when the capture ended: a slow reader there, or a slow or lossy path)',
    );
  });

  it('only idle waits: nothing', () => {
    const stacks = [
      stack(9, 'node', 24_000_000, [user('uv_run', 'node'), kernel('do_epoll_wait'), kernel('schedule')], 100),
      // A filter in a shell pipeline waiting for its input (the kernel's name since 6.14).
      stack(10, 'sed', 6_000_000, [user('read', 'libc.so.6'), kernel('anon_pipe_read'), kernel('schedule')], 3),
      // A kernel thread's own sleep, whatever its name (hwrng waits for the hardware RNG in D state): those it holds up wait where they are.
      stack(
        11,
        'hwrng',
        6_000_000,
        [kernel('ret_from_fork_asm'), kernel('ret_from_fork'), kernel('kthread'), kernel('hwrng_fillfn'), kernel('schedule_timeout'), kernel('schedule')],
        1,
      ),
      // A daemon idle in poll() and one in select(): the kernel's compiler copies of the function they sleep in.
      ...[
        ['__poll', 'do_sys_poll', 'do_poll.constprop.0'],
        ['select', 'core_sys_select', 'do_select'],
      ].map(([libc, a, b], i) =>
        stack(
          20 + i,
          'daemon',
          6_000_000,
          [
            user(libc!, 'libc.so.6'),
            kernel(a!),
            kernel(b!),
            kernel('poll_schedule_timeout.constprop.0'),
            kernel('schedule_hrtimeout_range_clock'),
            kernel('schedule'),
          ],
          6,
        ),
      ),
    ];
    expect(analyzeRun({ run: run(), results: [on(offcpu(stacks))] }).map((f) => f.severity)).toEqual(['info']);
  });
});

describe('runqlat', () => {
  it('run-queue latency p99 over the threshold, overall and for the worst process', () => {
    const all = { 3: 900, 15: 100 }; // 10% of waits at 32..65 ms
    const mine = { 3: 50, 15: 50 };
    const r = result('runqlat', {
      histograms: [
        { labels: { scope: 'all' }, histogram: histogram(all) },
        { labels: { pid: 55, comm: 'worker' }, histogram: histogram(mine) },
        { labels: { pid: 56, comm: 'quiet' }, histogram: histogram({ 3: 500 }) },
      ],
      groupBy: 'process',
      top: 10,
    });
    const findings = analyzeRun({ run: run(), results: [on(r)] });
    const overall = findings.find((f) => f.evidence.scope === 'all')!;
    expect(overall.severity).toBe('critical'); // ~65 ms ≥ 5 × 10 ms
    expect(overall.title).toBe(
      `Runnable tasks waited ${fmtUs(expectedQuantile(all, 0.99))} for a CPU at p99 (threshold 10 ms) over 1,000 wakeups: the CPUs are saturated or something hogs them.`,
    );
    const worker = findings.find((f) => f.evidence.pid === 55)!;
    expect(worker.title).toBe(`worker (pid 55) waited ${fmtUs(expectedQuantile(mine, 0.99))} for a CPU at p99 (threshold 10 ms) over 100 wakeups.`);
    expect(findings.some((f) => f.evidence.pid === 56)).toBe(false);
  });

  it('a p99 over the threshold from a handful of slow wakeups (a busy moment) is no finding', () => {
    // Slot 14 is 16..33 ms: 4 of 250 wakeups there put the p99 past 10 ms; 30 of 1,000 are a pattern.
    const few = result('runqlat', { histograms: [{ labels: { scope: 'all' }, histogram: histogram({ 3: 246, 14: 4 }) }], groupBy: 'process', top: 10 });
    expect(analyzeRun({ run: run(), results: [on(few)] }).filter((f) => f.capture === 'runqlat')).toEqual([]);
    const many = result('runqlat', { histograms: [{ labels: { scope: 'all' }, histogram: histogram({ 3: 970, 14: 30 }) }], groupBy: 'process', top: 10 });
    expect(analyzeRun({ run: run(), results: [on(many)] }).filter((f) => f.capture === 'runqlat')).toHaveLength(1);
  });
});
