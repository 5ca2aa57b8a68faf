// A program's threads waiting for its garbage collector (a JVM whose heap is
// full: allocations wait for a collection or for the heap lock one holds,
// threads stop at its safepoints): the collector's finding, from lockwait and
// offcputime, linked under the collector's CPU (profile), not a lock's.
import { describe, expect, it } from 'vitest';
import { analyzeRun } from '../../src/runs/analyze-run.js';
import { gcWaitClassifier } from '../../src/captures/gc-frames.js';
import { kernel, offcpu, on, result, run, stack, user, WINDOW_MS } from './fixtures.js';

const HZ = 99;
const PID = 700;
const jvm = (name: string) => user(name, 'libjvm.so');
const futexWait = [user('__futex_abstimed_wait_common', 'libc.so.6'), kernel('futex_wait'), kernel('futex_do_wait'), kernel('schedule')];

/** An allocation that found no room: its slow path waits on the heap lock a collection holds. */
const heapLock = [
  jvm('JavaThread::thread_main_inner()'),
  jvm('MemAllocator::allocate() const'),
  jvm('G1CollectedHeap::attempt_allocation_slow(unsigned long)'),
  jvm('Mutex::lock_contended(Thread*)'),
  user('pthread_mutex_lock', 'libc.so.6'),
];
/** A thread stopped at a safepoint while a collection runs (it parks on a condition variable). */
const safepoint = [jvm('JavaThread::thread_main_inner()'), jvm('SafepointSynchronize::block(JavaThread*)'), user('pthread_cond_wait', 'libc.so.6')];
/** A collector's worker, idle between collections: its own wait, not the program's. */
const gcWorkerIdle = [jvm('GangWorker::loop()'), jvm('PosixSemaphore::wait()'), user('sem_wait', 'libc.so.6')];
/** A lock of the program's own, contended. */
const appLock = [jvm('JavaThread::thread_main_inner()'), user('ledger_append', 'libledger.so'), user('pthread_mutex_lock', 'libc.so.6')];

function lockwait() {
  const row = (lock: string, kind: string, frames: ReturnType<typeof user>[], comm: string, us: number, waits: number) => ({
    pid: PID,
    comm,
    frames,
    value: us,
    waits,
    maxUs: 60_000,
    lock,
    kind,
  });
  const stacks = [
    row('0xheap', 'mutex', heapLock, 'pool-1-thread-1', 3_000_000, 600),
    row('0xheap', 'mutex', heapLock, 'pool-1-thread-2', 1_500_000, 300),
    row('0xsafe', 'other', safepoint, 'pool-1-thread-3', 1_000_000, 200),
    row('0xgang', 'other', gcWorkerIdle, 'GC Thread#0', 5_000_000, 900),
    row('0xledger', 'mutex', appLock, 'pool-1-thread-4', 900_000, 90),
  ];
  const locks = [
    { pid: PID, comm: 'java', lock: '0xheap', kind: 'mutex', totalUs: 4_500_000, waits: 900, maxUs: 60_000, stacks: 2 },
    { pid: PID, comm: 'java', lock: '0xledger', kind: 'mutex', totalUs: 900_000, waits: 90, maxUs: 60_000, stacks: 1 },
    { pid: PID, comm: 'java', lock: '0xsafe', kind: 'other', totalUs: 1_000_000, waits: 200, maxUs: 60_000, stacks: 1 },
    { pid: PID, comm: 'java', lock: '0xgang', kind: 'other', totalUs: 5_000_000, waits: 900, maxUs: 60_000, stacks: 1 },
  ];
  return result('lockwait', { stacks, locks, total: 11_400_000, sampleType: { type: 'lock-wait', unit: 'microseconds' } });
}

/** The JVM's CPU: its collector's threads, and the busiest of the others a compiler thread (the process is "java", its main thread). */
function profile() {
  const stacks = [
    stack(PID, 'GC Thread#0', 300, [jvm('GangWorker::loop()'), jvm('G1ParScanThreadState::trim_queue()')]),
    stack(PID, 'C2 CompilerThre', 120, [jvm('C2Compiler::compile_method()')]),
    stack(PID, 'pool-1-thread-1', 80, [{ name: '[JIT code]', kind: 'jit', module: '[anon]' }]),
  ];
  const total = stacks.reduce((n, s) => n + s.value, 0);
  return result('profile', {
    stacks,
    sampleType: { type: 'samples', unit: 'count' },
    periodNs: 1e9 / HZ,
    total,
    lostStacks: { kernel: 0, user: 0 },
    top: 20,
    frequency: HZ,
    processes: 1,
    processNames: { [PID]: 'java' },
    // Its own counters: full collections, and an old generation its cache fills.
    jvmGc: {
      [PID]: {
        policy: 'GarbageFirst',
        collectors: [
          { name: 'G1 young collection pauses', collections: 0, pausedSeconds: 0 },
          { name: 'G1 full collection pauses', collections: 61, pausedSeconds: 1.22 },
        ],
        old: { usedBytes: 78 * 2 ** 20, maxBytes: 80 * 2 ** 20 },
      },
    },
  });
}

/** offcputime's view of the same waits: the heap lock's, and a safepoint's park (not an idle pool's). */
const offcputime = () =>
  offcpu(
    [
      stack(PID, 'pool-1-thread-1', 2_000_000, [...heapLock, ...futexWait], 400),
      stack(PID, 'pool-1-thread-3', 800_000, [...safepoint, ...futexWait], 160),
      stack(PID, 'GC Thread#0', 4_000_000, [...gcWorkerIdle, ...futexWait], 800),
    ],
    { processNames: { [PID]: 'java' } },
  );

describe('waits for a garbage collector', () => {
  it("lockwait: the heap lock's waits and the safepoints' are one finding for the JVM's collector; a worker's idle wait is not counted, a lock of the program's stays its own", () => {
    const findings = analyzeRun({ run: run(), results: [on(lockwait())] });
    const gc = findings.find((f) => f.evidence.lock === 'gc')!;
    const seconds = WINDOW_MS / 1000;
    expect(gc.title).toBe(
      `java (pid ${PID}) on web-1: its threads waited 5.50 s for the JVM's garbage collector (${Math.round((5.5 / seconds) * 100)}% of the 6 s window, summed over threads) ` +
        'in 1,100 waits of 5 ms on average, at most 60 ms, in G1CollectedHeap::attempt_allocation_slow and SafepointSynchronize::block: ' +
        'while it collects, allocations that find no room and threads stopped for it wait; next: its GC log (-Xlog:gc*), the heap size (-Xmx) against the live set, and the allocation rate.',
    );
    expect(gc.severity).toBe('critical');
    expect(gc.links).toEqual({ shows: [`gc-of:${PID}`], explains: [`blocked-pid:${PID}`, `gc-wait:${PID}`] });
    // The heap lock is the collector's, not a contended lock of the program's; the program's own lock still is.
    const locks = findings.filter((f) => typeof f.evidence.lock === 'string' && f.evidence.lock !== 'gc').map((f) => f.evidence.lock);
    expect(locks).toEqual(['0xledger']);
  });

  it('offcputime: a wait under an allocation or a safepoint is a wait for the collector, parked or not; a worker of the collector idles', () => {
    const findings = analyzeRun({ run: run(), results: [on(offcputime())] });
    expect(findings).toHaveLength(1);
    const [gc] = findings;
    expect(gc!.title).toMatch(
      new RegExp(
        `^java \\(pid ${PID}\\) spent 2\\.80 s \\(47% of the 6 s window, summed over threads\\) waiting for its garbage collector \\(the JVM\\) ` +
          'in G1CollectedHeap::attempt_allocation_slow and SafepointSynchronize::block, 560 waits of 5 ms on average: ',
      ),
    );
    expect(gc!.links).toMatchObject({ shows: [`gc-of:${PID}`], repeats: [`gc-wait:${PID}`] });
  });

  it("with the collector's CPU: it leads, named as the process, the waits its effect (lockwait's), offcputime's view of them told with them", () => {
    const findings = analyzeRun({ run: run({ symptom: 'latency' }), results: [on(profile()), on(lockwait()), on(offcputime())] });
    const top = findings[0]!;
    expect(top.capture).toBe('profile');
    expect(top.title).toMatch(
      new RegExp(
        `^java \\(pid ${PID}\\) spent 60% of its CPU in garbage collection \\(the JVM\\), .*: while it collects, the program's threads wait; ` +
          'its own counters: 61 G1 full collection pauses \\(1\\.22 s paused\\) in the window; its old generation held 78 MiB of 80 MiB at the end, collected whole 61 times: what it keeps fills its heap',
      ),
    );
    expect(top.title).toMatch(
      /; next: a heap too small for what it keeps: raise -Xmx \(its old generation can grow to 80 MiB\), or find what holds memory \(jmap -histo:live 700, a heap dump\)\.$/,
    );
    const steps = top.evidence.steps as { role: string; capture: string; steps?: unknown }[];
    // offcputime's view of the same waits is told with them ("Also seen"), not a second effect.
    expect(steps.map((s) => [s.role, s.capture])).toEqual([
      ['effect', 'lockwait'],
      ['repeat', 'offcputime'],
    ]);
    expect(top.title).toMatch(
      /Effect: java \(pid 700\) on web-1: its threads waited 5\.50 s .*\. Also seen: java \(pid 700\) spent 2\.80 s .* waiting for its garbage collector/,
    );
    expect(findings.filter((f) => f.evidence.pid === PID)).toHaveLength(2); // and the program's own lock
  });

  it("the classifier: a program's thread waiting in the collector's frames or its waits; the collector's threads and the JVM's VM Thread are not waiting for it", () => {
    const waitOf = gcWaitClassifier();
    const names = (frames: { name: string }[]) => frames.map((f) => f.name);
    expect(waitOf(names(heapLock), 'pool-1-thread-1')).toMatchObject({
      runtime: { runtime: 'the JVM' },
      frame: 'G1CollectedHeap::attempt_allocation_slow(unsigned long)',
    });
    expect(waitOf(names(safepoint), 'pool-1-thread-3')?.frame).toBe('SafepointSynchronize::block(JavaThread*)');
    expect(waitOf(names(heapLock), 'GC Thread#1')).toBeUndefined();
    expect(waitOf(['VMThread::evaluate_operation', 'G1CollectedHeap::do_collection_pause_at_safepoint', 'WorkGang::run_task'], 'VM Thread')).toBeUndefined();
    expect(waitOf(names(appLock), 'pool-1-thread-4')).toBeUndefined();
    // V8's main thread waiting for its helpers inside a scavenge.
    expect(
      waitOf(['uv_run', 'v8::internal::Heap::CollectGarbage(v8::internal::AllocationSpace)', 'v8::platform::DefaultJobHandle::Join()'], 'node')?.runtime
        .runtime,
    ).toBe('V8');
  });
});
