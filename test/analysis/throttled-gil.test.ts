// A Python service in a cgroup whose CPU quota throttles it in most periods: a
// throttled period stops the thread holding the GIL, and every other one
// waits for it (up to the rest of the period, not the 5 ms switch interval).
// The throttling leads, its GIL's waits (lockwait) its effect, offcputime's
// view of those waits a repeat; lightly throttled, the GIL's own finding
// stands; offcputime's GIL waits alone are no finding.
import { describe, expect, it } from 'vitest';
import { analyzeRun } from '../../src/runs/analyze-run.js';
import { kernel, offcpu, on, result, run, stack, user, WINDOW_MS } from './fixtures.js';

const PID = 800;
const py = (name: string) => user(name, 'libpython3.11.so.1.0');
/** A request thread back from its socket's send, taking the GIL back: a condition variable's wait. */
const gilTake = [
  py('handle'),
  py('sock_sendall'),
  py('PyEval_RestoreThread'),
  py('take_gil'),
  user('pthread_cond_timedwait', 'libc.so.6'),
  kernel('futex_wait'),
  kernel('futex_do_wait'),
];

function throttled(throttledPeriods: number) {
  const row = {
    cgroup: '/quota-api',
    hierarchy: 'v1',
    periods: 60,
    throttledPeriods,
    throttledUs: throttledPeriods * 75_000,
    quotaUs: 25_000,
    periodUs: 100_000,
    processes: [{ pid: PID, comm: 'quota-api' }],
    processCount: 1,
  };
  return result('cputhrottle', { rows: [row], scope: 'quota', windowUs: WINDOW_MS * 1000, truncated: false, vanished: 0 });
}

function gilWaits() {
  const frames = gilTake.filter((f) => f.kind !== 'kernel');
  const stacks = [1, 2, 3].map((t) => ({ pid: PID, comm: `Thread-${t}`, frames, value: 2_000_000, waits: 400, maxUs: 70_000, lock: '0xgil', kind: 'other' }));
  const locks = [{ pid: PID, comm: 'quota-api', lock: '0xgil', kind: 'other', totalUs: 6_000_000, waits: 1200, maxUs: 70_000, stacks: 3 }];
  return result('lockwait', { stacks, locks, total: 6_000_000, sampleType: { type: 'lock-wait', unit: 'microseconds' } });
}

const offcpuGil = () => offcpu([stack(PID, 'quota-api', 5_500_000, gilTake, 1100)]);

describe('a Python service throttled by its CPU quota', () => {
  it('throttled in most periods: the throttling leads, its GIL waits an effect and offcputime’s view of them a repeat', () => {
    const findings = analyzeRun({ run: run({ symptom: 'latency' }), results: [on(throttled(60)), on(gilWaits()), on(offcpuGil())] });
    const top = findings[0]!;
    expect(top.capture).toBe('cputhrottle');
    expect(top.title).toMatch(/^cgroup \/quota-api \(v1\) on web-1 was throttled by its quota of 25 ms per 100 ms \(0\.25 CPU\) in 60 of 60 periods/);
    expect(top.title).toMatch(/; next: raise its quota, or profile its processes \(high-cpu\) to see what spends it\.$/);
    const steps = (top.evidence.steps as { role: string; capture: string }[]).map((s) => [s.role, s.capture]);
    expect(steps).toEqual([
      ['effect', 'lockwait'],
      ['repeat', 'offcputime'],
    ]);
    expect(findings.filter((f) => f.severity !== 'info').map((f) => f.capture)).toEqual(['cputhrottle']);
  });

  it("throttled in a few periods: the GIL's own finding stands beside it", () => {
    const findings = analyzeRun({ run: run({ symptom: 'latency' }), results: [on(throttled(6)), on(gilWaits()), on(offcpuGil())] });
    const gil = findings.find((f) => f.capture === 'lockwait');
    expect(gil?.title).toMatch(/^quota-api \(pid 800\) on web-1: its threads waited 6\.00 s for Python's GIL/);
    expect((gil!.evidence.steps as { role: string; capture: string }[]).map((s) => [s.role, s.capture])).toEqual([['repeat', 'offcputime']]);
    expect(findings.find((f) => f.capture === 'cputhrottle')?.evidence.steps).toBeUndefined();
  });

  it("offcputime's GIL waits alone (lockwait not run) are no finding: lockwait tells the GIL's", () => {
    const findings = analyzeRun({ run: run({ symptom: 'latency' }), results: [on(offcpuGil())] });
    expect(findings.filter((f) => f.capture === 'offcputime' && f.severity !== 'info')).toEqual([]);
  });
});
