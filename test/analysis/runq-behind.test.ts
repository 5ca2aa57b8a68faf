// Whom a process's waits for a CPU were behind (runqlat's "behind" rows), from
// results built here: a noisy neighbour leads the waits it caused, a process
// waiting behind its own threads is its own load (not behind another program
// of its name: another cgroup or executable), many short waits that add up
// are a finding, and processes pinned to busy CPUs beside idle ones are named
// for their affinity.
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { markApart } from '../../src/captures/runqlat/behind.js';
import { analyzeRun } from '../../src/runs/analyze-run.js';
import { histogram, on, result, run, stack, user, WINDOW_MS } from './fixtures.js';

const HZ = 99;
const seconds = WINDOW_MS / 1000;

/** `cpus` CPUs' worth of the window of pid's samples, in main → `fn`. */
const onCpu = (pid: number, comm: string, cpus: number, fn = `${comm}_work`) =>
  stack(pid, comm, Math.round(cpus * HZ * seconds), [user('main', comm), user(fn, comm)]);

function profileOf(stacks: ReturnType<typeof onCpu>[]) {
  return result('profile', {
    stacks,
    sampleType: { type: 'samples', unit: 'count' },
    periodNs: 1e9 / HZ,
    total: stacks.reduce((n, s) => n + s.value, 0),
    lostStacks: { kernel: 0, user: 0 },
    top: 20,
    frequency: HZ,
    processes: new Set(stacks.map((s) => s.pid)).size,
  });
}

/** Each process on CPU `cpus` CPUs' worth of the window, in one function of its own name. */
const profile = (busy: { pid: number; comm: string; cpus: number }[]) => profileOf(busy.map((p) => onCpu(p.pid, p.comm, p.cpus)));

const row = (pid: number, behindPid: number, behindComm: string, waitedMs: number, cpus = [0, 1], allowed = 2) => ({
  pid,
  behindPid,
  behindComm,
  waits: Math.round(waitedMs / 3),
  waitedMs,
  cpus,
  allowed,
  kthread: false,
});

// api: 800 waits of 2-4 ms (p99 under the 10 ms threshold) add up to ~0.4 s/s; batch (two processes): waits of 8-16 ms.
const api = { labels: { pid: 10, comm: 'api' }, histogram: histogram({ 11: 800 }) };
const batch = { labels: { pid: 20, comm: 'batch' }, histogram: histogram({ 13: 400 }) };
const behind = [row(10, 20, 'batch', 1500), row(10, 21, 'batch', 700), row(10, 10, 'api', 100), row(20, 21, 'batch', 3000), row(20, 10, 'api', 800)];

function runqlat(extra: Record<string, unknown> = {}) {
  return result('runqlat', {
    histograms: [{ labels: { scope: 'all' }, histogram: histogram({ 3: 2000, 11: 800, 13: 400 }) }, batch, api],
    groupBy: 'process',
    top: 10,
    behind,
    behindMinUs: 1000,
    cpuIdle: [
      { cpu: 0, idle: 0.02 },
      { cpu: 1, idle: 0.01 },
    ],
    affinity: {},
    ...extra,
  });
}

const busyBatch = profile([
  { pid: 20, comm: 'batch', cpus: 0.9 },
  { pid: 21, comm: 'batch', cpus: 0.9 },
  { pid: 10, comm: 'api', cpus: 0.2 },
]);

describe('runqlat: behind whom', () => {
  it('a noisy neighbour leads the waits it caused, named with its share of them', () => {
    const findings = analyzeRun({ run: run({ symptom: 'latency' }), results: [on(runqlat()), on(busyBatch)] });
    const top = findings[0]!;
    expect(top.capture).toBe('profile');
    expect(top.evidence.pid).toBe(20);
    // api's many short waits (~0.4 s/s) are a finding though its p99 is under the threshold, and batch's effect.
    expect(top.title).toMatch(/Effect: api \(pid 10\) spent 4\d% of the window waiting for a CPU \(800 waits of 3(\.\d+)? ms on average, p99 [\d.]+ ms\)/);
    expect(top.title).toContain('its waits of 1 ms or more ended behind batch (pids 20 and 21) 96%');
    // batch's own waits, behind the other batch, are its own load: information, not batch's effect.
    const own = findings.find((f) => f.capture === 'runqlat' && f.evidence.pid === 20)!;
    expect(own.severity).toBe('info');
    expect(own.title).toContain('ended behind its own threads or processes (79%): its own load');
    expect(top.title).not.toContain('batch (pid 20) waited');
  });

  it('a program of several processes: the waits go to its finding that stands on its own, whichever process they were behind', () => {
    // Four batch processes of 0.45 CPUs each: 20 in one hot function, 21-23 spread over three (bare CPU users, told only as a cause).
    const spread = (pid: number) => ['a', 'b', 'c'].map((fn) => onCpu(pid, 'batch', 0.45 / 3, `batch_${fn}`));
    const batchProfile = profileOf([onCpu(20, 'batch', 0.45), ...[21, 22, 23].flatMap(spread)]);
    // api's waits were behind 21 most: the link names the program, so batch's kept finding (pid 20) takes them.
    const rows = [row(10, 21, 'batch', 1500), row(10, 20, 'batch', 300), row(10, 22, 'batch', 300), row(20, 21, 'batch', 3000)];
    const findings = analyzeRun({ run: run({ symptom: 'latency' }), results: [on(runqlat({ behind: rows })), on(batchProfile)] });
    const batchFindings = findings.filter((f) => f.capture === 'profile');
    expect(batchFindings.map((f) => f.evidence.pid)).toEqual([20]);
    expect(batchFindings[0]!.title).toMatch(/Effect: api \(pid 10\) spent/);
    expect(batchFindings[0]!.title).toContain('ended behind batch (pids 21, 20 and 22)');
  });

  it('two programs of one name (python3 services in their own cgroups): the other is a neighbour, not its own load', () => {
    const py = { labels: { pid: 10, comm: 'python3' }, histogram: histogram({ 11: 800 }) };
    const waits = (apart: boolean) => [{ ...row(10, 20, 'python3', 2000), ...(apart ? { apart } : {}) }, row(10, 10, 'python3', 100)];
    const title = (apart: boolean) =>
      analyzeRun({
        run: run({ symptom: 'latency' }),
        results: [on(runqlat({ histograms: [{ labels: { scope: 'all' }, histogram: histogram({ 11: 800 }) }, py], behind: waits(apart) }))],
      }).find((f) => f.capture === 'runqlat' && f.evidence.pid === 10)!.title;
    expect(title(true)).toContain('ended behind python3 (pid 20) 95%');
    expect(title(false)).toContain('ended behind its own threads or processes (100%): its own load');
    // Both busy on the CPU: the one it waited behind leads its waits, not its own CPU finding (the link names the process, not the name).
    const both = profileOf([onCpu(10, 'python3', 0.9, 'render_page'), onCpu(20, 'python3', 0.9, 'crunch_report')]);
    const histograms = [{ labels: { scope: 'all' }, histogram: histogram({ 11: 800 }) }, py];
    const findings = analyzeRun({ run: run({ symptom: 'latency' }), results: [on(runqlat({ histograms, behind: waits(true) })), on(both)] });
    const leads = findings.find((f) => f.capture === 'profile' && /Effect: python3 \(pid 10\) spent/.test(f.title))!;
    expect(leads.evidence.pid).toBe(20);
  });

  it("markApart: /proc says whether the holder is the waiter's program (cgroup, executable, an interpreter's script)", async () => {
    const script = 'setTimeout(() => {}, 30000)';
    const children = [
      spawn('sleep', ['30']),
      spawn('sleep', ['31']), // one binary, other arguments: one program (a service's workers)
      spawn(process.execPath, ['-e', script]),
      spawn(process.execPath, ['--no-warnings', '-e', script]), // the same script, an option more
      spawn(process.execPath, ['-e', `${script} // another`]),
    ];
    const [sleep30, sleep31, node, sameScript, otherScript] = children.map((c) => c.pid!);
    try {
      await new Promise((r) => setTimeout(r, 150)); // all have run exec
      const rows = markApart([
        row(node!, sleep30!, 'sleep', 10),
        row(sleep30!, sleep31!, 'sleep', 10),
        row(node!, sameScript!, 'node', 10),
        row(node!, otherScript!, 'node', 10),
        row(node!, 0, 'swapper/0', 10),
      ]);
      expect(rows.map((r) => r.apart)).toEqual([true, undefined, undefined, true, undefined]);
      expect(markApart([row(node!, 2 ** 22 + 1, 'gone', 10)])[0]!.apart).toBeUndefined(); // gone: one name is one program
    } finally {
      for (const c of children) c.kill('SIGKILL');
    }
  });

  it('without the rows (an older result) the findings are as before: no culprit, no pinning', () => {
    const findings = analyzeRun({ run: run(), results: [on(runqlat({ behind: undefined, cpuIdle: undefined, affinity: undefined }))] });
    const mine = findings.filter((f) => f.capture === 'runqlat' && typeof f.evidence.pid === 'number');
    expect(mine.map((f) => f.evidence.pid)).toEqual([20, 10]);
    expect(mine.every((f) => !/behind|pinned/.test(f.title))).toBe(true);
  });

  it('processes pinned to a busy CPU while another sits idle: their affinity is the cause, and it leads', () => {
    const pinned = runqlat({
      behind: behind.map((r) => ({ ...r, cpus: [1], allowed: 1 })),
      cpuIdle: [
        { cpu: 0, idle: 0.9 },
        { cpu: 1, idle: 0.01 },
      ],
      affinity: { 10: [1], 20: [1] },
    });
    const findings = analyzeRun({ run: run({ symptom: 'latency' }), results: [on(pinned), on(busyBatch)] });
    const top = findings[0]!;
    expect(top.capture).toBe('runqlat');
    expect(top.severity).toBe('critical');
    expect(top.title).toMatch(/^api \(pid 10\) and batch \(pid 20\) may run only on CPU 1 of 2 \(CPU affinity: taskset, a cpuset\) and waited [\d.]+ s for it/);
    expect(top.title).toContain('while CPU 0 sat 90% idle');
    expect(top.evidence.cpus).toEqual([1]);
    // The pinned processes' own waits are its effects, and the host's (most of them batch's).
    const steps = (top.evidence.steps as { capture: string; evidence: { pid?: number; scope?: string } }[]).filter((s) => s.capture === 'runqlat');
    expect(steps.map((s) => s.evidence.pid ?? s.evidence.scope).sort()).toEqual([10, 20, 'all']);
  });

  it("pinned by their cgroup's cpuset: the finding names that cgroup and its cpuset.cpus as what to widen", () => {
    const inCpuset = runqlat({
      behind: behind.map((r) => ({ ...r, cpus: [1], allowed: 1 })),
      cpuIdle: [
        { cpu: 0, idle: 0.9 },
        { cpu: 1, idle: 0.01 },
      ],
      affinity: { 10: [1], 20: [1] },
      cpusets: { 10: '/docker/abc', 20: '/docker/abc' },
    });
    const [top] = analyzeRun({ run: run({ symptom: 'latency' }), results: [on(inCpuset)] });
    expect(top!.title).toContain('may run only on CPU 1 of 2 (the cpuset of cgroup /docker/abc)');
    expect(top!.title).toContain("next: widen cgroup /docker/abc's cpuset.cpus");
    expect(top!.evidence.cpuset).toBe('/docker/abc');
    // Looked for and not found: their own affinity (taskset).
    const [mine] = analyzeRun({ run: run({ symptom: 'latency' }), results: [on({ ...inCpuset, cpusets: {} } as never)] });
    expect(mine!.title).toContain('(their own CPU affinity: taskset, sched_setaffinity)');
  });

  it('no pinning named when the other CPUs were busy too (the host is short of CPUs, not the affinity)', () => {
    const busyHost = runqlat({
      behind: behind.map((r) => ({ ...r, cpus: [1], allowed: 1 })),
      cpuIdle: [
        { cpu: 0, idle: 0.15 },
        { cpu: 1, idle: 0.01 },
      ],
      affinity: { 10: [1], 20: [1] },
    });
    const findings = analyzeRun({ run: run(), results: [on(busyHost)] });
    expect(findings.some((f) => f.id.includes('pinned'))).toBe(false);
    expect(findings.some((f) => f.evidence.pid === 10)).toBe(true);
  });
});
