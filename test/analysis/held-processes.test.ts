// Processes held still from outside: stopped by a signal (SIGSTOP, job
// control) or by a tracer (strace, gdb). Never normal, so a finding whatever
// their share of all waits; a stop's sender (signals) is its cause.
import { describe, expect, it } from 'vitest';
import { analyzeRun } from '../../src/runs/analyze-run.js';
import { kernel, offcpu, on, result, run, stack, user } from './fixtures.js';

const stopped = (pid: number, us: number) =>
  stack(pid, 'billing-api', us, [user('main'), kernel('get_signal'), kernel('do_signal_stop'), kernel('__schedule')], 1);
const traced = (pid: number, us: number, caller: string, blocks: number) =>
  stack(pid, 'billing-api', us, [user(caller, 'libc.so.6'), kernel('syscall_trace_enter'), kernel('ptrace_stop'), kernel('__schedule')], blocks);

const sigstop = (sender: number, target: number) =>
  result('signals', {
    events: [
      {
        kind: 'signal',
        time: '2026-01-01T00:00:01.000Z',
        pid: sender,
        uid: 0,
        comm: 'sh',
        cgroupId: '1',
        signal: 'SIGSTOP',
        source: 'user',
        targetPid: target,
        targetTid: target,
        targetComm: 'billing-api',
        result: 'delivered',
      },
    ],
    exits: 0,
  });

describe('processes held still from outside', () => {
  it('a process stopped by SIGSTOP is critical, and the stop its sender sent in the window is its cause', () => {
    const findings = analyzeRun({ run: run(), results: [on(offcpu([stopped(40, 5_000_000)])), on(sigstop(7, 40))] });
    const top = findings[0]!;
    expect(top.severity).toBe('critical');
    expect(top.title).toMatch(
      /^billing-api \(pid 40\) spent 5\.00 s \(83% of the 6 s window, summed over threads\) stopped by a signal \(SIGSTOP or SIGTSTP: kill -STOP, job control\) in do_signal_stop: it runs nothing until it gets SIGCONT/,
    );
    expect(top.title).toContain('Cause: sh (pid 7, uid 0) sent SIGSTOP to billing-api (pid 40) once in 6 s');
    expect(top.title).toMatch(/; next: resume it \(kill -CONT 40\) and find who stopped it/);
    expect(findings.filter((f) => f.capture === 'signals')).toEqual([]);
  });

  it("a traced process is one finding over all its stops, wherever its code was, with the tracer named, though a small share of the host's waits", () => {
    const stops = [traced(41, 400_000, 'getppid', 5000), traced(41, 300_000, 'stat', 4000), traced(41, 200_000, 'clock_nanosleep', 3000)];
    // Others' waits dwarf its stops: 0.9 s of 10.9 s.
    const disk = stack(50, 'backup', 10_000_000, [user('write'), kernel('io_schedule'), kernel('__schedule')], 100);
    const tracer = { pid: 99, comm: 'strace', state: 'S', waitingIn: 'do_wait', command: 'strace -f -o /tmp/x -p 41' };
    const findings = analyzeRun({ run: run(), results: [on(offcpu([...stops, disk], { traced: [{ pid: 41, tracer }] }))] });
    const mine = findings.filter((f) => f.evidence.pid === 41);
    expect(mine).toHaveLength(1);
    expect(mine[0]!.severity).toBe('warning');
    expect(mine[0]!.title).toBe(
      'billing-api (pid 41) spent 900 ms (15% of the 6 s window, summed over threads) stopped for its tracer (ptrace: a debugger, strace or another tracer attached to it) in ptrace_stop, ' +
        '12,000 waits of 75 µs on average: its tracer strace (pid 99: strace -f -o /tmp/x -p 41) stops it at each system call or signal it traces, or holds it at a breakpoint ' +
        '(when the capture ended the tracer was asleep in do_wait); next: detach it (end strace) unless someone is debugging it now.',
    );
    expect(mine[0]!.evidence.tracer).toMatchObject({ pid: 99, comm: 'strace' });
    // Without the tracer read, it says where to find it.
    const unknown = analyzeRun({ run: run(), results: [on(offcpu(stops))] }).find((f) => f.evidence.pid === 41)!;
    expect(unknown.title).toContain(
      'a tracer stops it at each system call or signal it traces, or holds it at a breakpoint (ptrace: strace, ltrace, gdb); next: find it (TracerPid in /proc/41/status)',
    );
  });

  it('stopped for a moment (under a tenth of the window) is nothing', () => {
    expect(analyzeRun({ run: run(), results: [on(offcpu([stopped(42, 300_000)]))] }).filter((f) => f.capture === 'offcputime')).toEqual([]);
  });
});
