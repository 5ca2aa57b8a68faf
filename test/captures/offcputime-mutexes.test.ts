// Threads stuck on pthread mutexes since before the window (test/helpers/
// locks.c): two threads deadlocked by a lock order inversion, and workers
// waiting for a mutex whose holder blocks reading a pipe. Read from /proc
// (the futex each waits on, the owner in the mutex's memory), then offcputime
// on the real kernel, whose finding must name the deadlock's threads and
// mutexes and the functions that wait, or the holder and where it sleeps. A thread waiting in
// pthread_join (a futex that is no mutex) is not taken for a lock's waiter.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { offcputime } from '../../src/captures/offcputime/index.js';
import { heldMutexes, mutexWaitsOf } from '../../src/captures/offcputime/mutex-owners.js';
import { measuredSchedulerClock } from '../helpers/scheduler-clock.js';
import { analyzeRun } from '../../src/runs/analyze-run.js';
import { readText } from '../../src/util/read-text.js';
import { on, run } from '../analysis/fixtures.js';
import { testBinary } from '../helpers/faults.js';
import { bpfHandlesOf, kernelSkipReason } from '../helpers/kernel.js';
import { captureDuring } from './sched-children.js';

const skip = kernelSkipReason();
const children: ChildProcess[] = [];

/** `locks MODE ...` started, once it says its threads are blocked; its stdin stays open (the holder reads it). */
async function locks(...args: string[]): Promise<{ pid: number; tid: (name: string) => number[] }> {
  const child = spawn(testBinary('locks', ['-O1', '-g', '-pthread']), args, { stdio: ['pipe', 'pipe', 'inherit'] });
  children.push(child);
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
    child.once('exit', (code) => reject(new Error(`locks ${args.join(' ')} ended (${code})`)));
  });
  const pid = child.pid!;
  const tid = (name: string) =>
    readdirSync(`/proc/${pid}/task`)
      .map(Number)
      .filter((t) => readText(`/proc/${pid}/task/${t}/comm`)?.trim() === name);
  return { pid, tid };
}

afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
});

describe('the owner of a mutex threads wait for, from /proc', () => {
  it('a deadlock: each thread waits for the mutex the other holds; the main thread in pthread_join is no mutex wait', async () => {
    const p = await locks('deadlock');
    const [a] = p.tid('ledger-a');
    const [b] = p.tid('ledger-b');
    const waits = mutexWaitsOf(p.pid);
    expect(waits.map((w) => [w.tid, w.owner]).sort()).toEqual(
      [
        [a, b],
        [b, a],
      ].sort(),
    );
    const held = heldMutexes(p.pid, waits, measuredSchedulerClock());
    expect(held).toHaveLength(2);
    for (const m of held) {
      expect(m.deadlock?.map((t) => t.comm).sort()).toEqual(['ledger-a', 'ledger-b']);
      expect(m.ownerWaitsFor).toMatch(/^0x[0-9a-f]+$/);
      expect(m.variable).toMatch(/^[ab]$/); // the globals' names, from the symbol table
    }
  });

  it('workers wait for a mutex whose holder sleeps reading its stdin', async () => {
    const p = await locks('held', '3');
    const [holder] = p.tid('holder');
    const held = heldMutexes(p.pid, mutexWaitsOf(p.pid), measuredSchedulerClock());
    expect(held).toEqual([
      expect.objectContaining({ waiters: expect.any(Array), owner: expect.objectContaining({ tid: holder, comm: 'holder', state: 'S' }) }),
    ]);
    expect(held[0]!.waiters.sort()).toEqual(p.tid('worker').sort());
    expect(held[0]!.owner.waitingIn).toMatch(/unix_stream_read|pipe_read/); // node gives a child a socket pair for stdin
    expect(held[0]!.deadlock).toBeUndefined();
    expect(held[0]!.variable).toBe('m');
  });

  it('a busy lock is no deadlock: threads read one after another while they run on can look like a cycle', async () => {
    const p = await locks('busy', '4');
    let contended = 0;
    for (let i = 0; i < 300; i++) {
      const held = heldMutexes(p.pid, mutexWaitsOf(p.pid), measuredSchedulerClock());
      if (held.length) contended++;
      expect(held.filter((m) => m.deadlock)).toEqual([]);
    }
    expect(contended).toBeGreaterThan(30); // the reads did see waiters (the race needs them)
  });
});

describe.skipIf(skip)(`offcputime names a mutex's owner${skip ? ` (skipped: ${skip})` : ''}`, () => {
  afterEach(() => expect(bpfHandlesOf()).toEqual({ programIds: [], links: 0, maps: 0 }));

  it('two threads deadlocked since before the window: a critical finding that names both threads and their mutexes', async () => {
    const p = await locks('deadlock');
    const { result } = await captureDuring(offcputime, () => new Promise((r) => setTimeout(r, 1000)));
    const stacks = result.stacks.filter((s) => s.pid === p.pid);
    expect(stacks.map((s) => s.mutex)).toEqual([expect.stringMatching(/^0x/), expect.stringMatching(/^0x/)]);
    // Never seen switching in the window, yet each with its user frames (unwound from its stack at the futex call, read from /proc).
    expect(stacks.map((s) => s.frames.find((f) => /^ledger_[ab]$/.test(f.name))?.name).sort()).toEqual(['ledger_a', 'ledger_b']);
    const findings = analyzeRun({ run: run({ durationMs: result.durationMs }), results: [on(result)] });
    const mine = findings.find((f) => f.evidence.pid === p.pid);
    expect(mine?.severity).toBe('critical');
    const [a] = p.tid('ledger-a');
    const [b] = p.tid('ledger-b');
    expect(mine?.title).toMatch(
      new RegExp(
        `a deadlock: ledger-(a|b) \\(tid (${a}|${b})\\) waits for the mutex (a|b) \\(at 0x[0-9a-f]+\\) that ledger-(a|b) \\(tid (${a}|${b})\\) holds, and `,
      ),
    );
    expect(mine?.title).toContain('take these mutexes in one order everywhere');
    // Both threads, the whole window.
    expect(Number(mine?.evidence.offCpuMs)).toBeGreaterThan(1.8 * result.durationMs * 0.9);
  });

  it('workers waiting all window for a mutex whose holder sleeps reading its stdin: the finding names the holder and where it sleeps', async () => {
    const p = await locks('held', '3');
    const [holder] = p.tid('holder');
    const { result } = await captureDuring(offcputime, () => new Promise((r) => setTimeout(r, 1000)));
    const findings = analyzeRun({ run: run({ durationMs: result.durationMs }), results: [on(result)] });
    const mine = findings.find((f) => f.evidence.pid === p.pid);
    expect(mine?.severity).toBe('warning');
    expect(mine?.title).toMatch(
      new RegExp(
        `3 of its threads wait for the mutex m \\(at 0x[0-9a-f]+\\), held by its thread holder \\(tid ${holder}\\), asleep in \\w*(unix_stream_read|pipe_read)`,
      ),
    );
  });
});
