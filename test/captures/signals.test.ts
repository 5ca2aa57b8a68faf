// signals against the real kernel: a process killed by another (a named
// sender, /usr/bin/kill), a program crashing with SIGSEGV three times and
// dumping core, a program exiting with code 3 three times, and clean exits
// that must only be counted.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { mergeThresholds } from '../../src/analysis/common.js';
import { signals, type ExitEvent, type SignalEvent, type SignalsData } from '../../src/captures/signals/index.js';
import { signalsBaseline } from '../../src/captures/signals/baseline.js';
import { signalsLayout } from '../../src/captures/signals/decode.js';
import { runCapture, CaptureParamsError } from '../../src/captures/run-capture.js';
import { projectRoot } from '../../src/util/paths.js';
import { captureAround } from '../helpers/capture-around.js';
import { cgroup2Mount, removeCgroups } from '../helpers/cgroups.js';
import { cLayout } from '../helpers/c-layout.js';
import { faultsBinary } from '../helpers/faults.js';
import { bpfHandlesOf, kernelSkipReason, stillLoaded } from '../helpers/kernel.js';
import { paramsSchema } from '../../src/captures/params-schema.js';

const skip = kernelSkipReason();

/** Runs argv to its end (bounded); resolves with its pid. */
async function run(argv: string[], cwd?: string): Promise<number> {
  const child: ChildProcess = spawn(argv[0]!, argv.slice(1), { stdio: 'ignore', cwd });
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited(child);
  clearTimeout(timer);
  return child.pid!;
}

const exited = (child: ChildProcess) => (child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : once(child, 'exit').then(() => undefined));

const analyze = (result: SignalsData & { durationMs: number }) =>
  signals.analysis!.analyze(result as never, {
    node: 'n1',
    capture: 'signals',
    file: 'nodes/n1/signals.json',
    thresholds: mergeThresholds(),
    windowSeconds: result.durationMs / 1000,
  });

describe('signals record layout and params', () => {
  it('matches bpf/signals/signals.h', () => {
    const c = cLayout(join(projectRoot, 'bpf/signals/signals.h'), {
      signals_event: [
        'ts_ns',
        'kind',
        'pid',
        'tid',
        'uid',
        'cgroup_id',
        'comm',
        'target_pid',
        'target_tid',
        'target_cgroup_id',
        'target_comm',
        'sig',
        'code',
        'result',
        'group',
        'core_dumped',
        'handled',
        'exit_code',
        'exit_signal',
        'ppid',
        'lifetime_ns',
      ],
    });
    const e = (m: string) => c[`signals_event.${m}`];
    expect(signalsLayout).toEqual({
      tsNs: e('ts_ns'),
      kind: e('kind'),
      pid: e('pid'),
      tid: e('tid'),
      uid: e('uid'),
      cgroupId: e('cgroup_id'),
      comm: e('comm'),
      targetPid: e('target_pid'),
      targetTid: e('target_tid'),
      targetCgroupId: e('target_cgroup_id'),
      targetComm: e('target_comm'),
      sig: e('sig'),
      code: e('code'),
      result: e('result'),
      group: e('group'),
      coreDumped: e('core_dumped'),
      handled: e('handled'),
      exitCode: e('exit_code'),
      exitSignal: e('exit_signal'),
      ppid: e('ppid'),
      lifetimeNs: e('lifetime_ns'),
      size: e('sizeof'),
    });
  });

  it('refuses a name that is no signal, saying what is allowed', async () => {
    await expect(runCapture(signals, { durationMs: 100, params: { signals: ['SIGKILL', 'SIGNOPE'] } })).rejects.toThrow(CaptureParamsError);
    await expect(runCapture(signals, { durationMs: 100, params: { signals: ['SIGNOPE'] } })).rejects.toThrow(
      /"SIGNOPE" is not a signal \(use names like SIGKILL/,
    );
    // The CLI and runbooks may give a comma-separated string.
    await expect(runCapture(signals, { durationMs: 100, params: { signals: 'KILL,SIGNOPE' } })).rejects.toThrow(/"SIGNOPE" is not a signal/);
    expect(paramsSchema(signals).parse({ signals: 'KILL, 15,SIGSEGV' })).toMatchObject({ signals: [9, 15, 11] });
  });
});

describe.skipIf(skip)(`signals on the real kernel${skip ? ` (skipped: ${skip})` : ''}`, () => {
  afterEach(() => {
    expect(bpfHandlesOf()).toEqual({ programIds: [], links: 0, maps: 0 });
  });

  it('names the killer, the crash loop with its core dumps, the exit-code loop; clean exits are only counted', async () => {
    const faults = faultsBinary();
    const cwd = mkdtempSync(join(tmpdir(), 'sherlock-cores-'));
    let victim: ChildProcess | undefined;
    try {
      let killerPid = 0;
      const crashPids: number[] = [];
      const exit3Pids: number[] = [];
      let cleanPid = 0;
      const { result, programIds } = await captureAround(
        signals,
        async () => {
          victim = spawn(faults, ['sleep', '30'], { stdio: 'ignore' });
          await new Promise((r) => setTimeout(r, 50));
          killerPid = await run(['/usr/bin/kill', '-KILL', String(victim.pid)]);
          await exited(victim);
          // ulimit in the shell that execs it: the core lands in cwd (core_pattern "core") or wherever the host sends it.
          for (let i = 0; i < 3; i++) crashPids.push(await run(['sh', '-c', `ulimit -c unlimited; exec ${faults} segv`], cwd));
          for (let i = 0; i < 3; i++) exit3Pids.push(await run([faults, 'exit', '3']));
          cleanPid = await run([faults, 'exit', '0']);
        },
        { settleMs: 100 },
      );
      expect(stillLoaded(programIds)).toEqual([]);

      const sent = result.events.filter((e): e is SignalEvent => e.kind === 'signal' && e.targetPid === victim!.pid);
      expect(sent).toHaveLength(1);
      expect(sent[0]).toMatchObject({ signal: 'SIGKILL', source: 'user', pid: killerPid, comm: 'kill', uid: 0, targetComm: 'faults', result: 'delivered' });
      const ends = (pids: number[]) => result.events.filter((e): e is ExitEvent => e.kind === 'exit' && pids.includes(e.pid));
      expect(ends([victim!.pid!])).toMatchObject([{ signal: 'SIGKILL', comm: 'faults', coreDumped: false }]);
      const crashes = ends(crashPids);
      expect(crashes).toHaveLength(3);
      const corePattern = (await import('node:fs')).readFileSync('/proc/sys/kernel/core_pattern', 'utf8').trim();
      for (const c of crashes) {
        expect(c).toMatchObject({ signal: 'SIGSEGV', comm: 'faults', exitCode: 0 });
        if (corePattern === 'core') expect(c.coreDumped).toBe(true);
      }
      if (corePattern === 'core') expect(readdirSync(cwd).filter((f) => f.startsWith('core')).length).toBeGreaterThan(0);
      expect(ends(exit3Pids).map((e) => e.exitCode)).toEqual([3, 3, 3]);
      expect(ends([cleanPid])).toEqual([]); // a clean end is only counted
      expect(result.cleanExits).toBeGreaterThanOrEqual(1);
      expect(result.exits).toBeGreaterThanOrEqual(result.cleanExits + 7);

      const mine = { ...result, events: result.events.filter((e) => [killerPid, victim!.pid!, ...crashPids, ...exit3Pids, cleanPid].includes(e.pid)) };
      const { findings } = analyze(mine);
      const killer = findings.filter((f) => f.id.startsWith('signals:n1:kill:'));
      expect(killer).toHaveLength(1);
      expect(killer[0]!.severity).toBe('warning');
      expect(killer[0]!.title).toContain(`kill (pid ${killerPid}, uid 0) sent SIGKILL to faults (pid ${victim!.pid}`);
      expect(killer[0]!.title).toContain('it ended by it');
      // Its end is told by the kill: no second finding for it.
      expect(findings.filter((f) => f.id.includes('SIGKILL') && f.id.includes(':end:'))).toEqual([]);
      const loop = findings.find((f) => f.id === 'signals:n1:end:faults>SIGSEGV');
      expect(loop?.severity).toBe('critical');
      expect(loop?.title).toMatch(/^A crash loop: faults \(pids .*\) crashed with SIGSEGV 3 times in /);
      if (corePattern === 'core') expect(loop?.title).toContain('3 of 3 dumped core');
      expect(loop?.evidence).toMatchObject({ ends: 3, impact: { events: 3 } });
      const exits = findings.find((f) => f.id === 'signals:n1:exit:faults>3');
      expect(exits?.severity).toBe('warning');
      expect(exits?.title).toContain('exited with code 3 3 times');

      const metrics = signalsBaseline(mine as never);
      expect(metrics.map((m) => [m.metric, m.samples])).toEqual([
        ['crashes (ends by a fault signal)', 3],
        ['SIGKILLs sent to other processes', 1],
      ]);
    } finally {
      victim?.kill('SIGKILL');
      rmSync(cwd, { recursive: true, force: true });
    }
  }, 40_000);

  it("a signal Sherlock's own processes send (jcmd asking a JVM for its perf map) is left out, whoever gets it", async () => {
    const v2 = cgroup2Mount();
    if (!v2) return; // no cgroup v2: Sherlock has no cgroup of its own to leave out
    const faults = faultsBinary();
    const ownDir = join(v2, `sherlock-test-signals-${process.pid}`);
    mkdirSync(ownDir);
    const victims = [0, 1].map(() => spawn(faults, ['sleep', '30'], { stdio: 'ignore' }));
    // A sender that waits to be moved into Sherlock's cgroup, then sends SIGTERM to the first victim and SIGUSR1 to the second.
    const sender = spawn('/bin/sh', ['-c', `read go; kill -TERM ${victims[0]!.pid}; kill -USR1 ${victims[1]!.pid}`], { stdio: ['pipe', 'ignore', 'ignore'] });
    try {
      writeFileSync(join(ownDir, 'cgroup.procs'), String(sender.pid));
      const excludeCgroupId = statSync(ownDir, { bigint: true }).ino;
      const { result } = await captureAround(
        signals,
        async () => {
          sender.stdin!.end('go\n');
          await exited(sender);
          await Promise.all(victims.map(exited));
        },
        { excludeCgroupId, params: { signals: ['SIGTERM', 'SIGUSR1'] }, settleMs: 100 },
      );
      const sent = result.events.filter((e) => e.kind === 'signal' && victims.some((v) => v.pid === e.targetPid));
      expect(sent).toEqual([]);
      // The victims' own ends are still theirs.
      expect(result.events.filter((e) => e.kind === 'exit' && victims.some((v) => v.pid === e.pid)).length).toBe(2);
    } finally {
      await removeCgroups([sender, ...victims], [ownDir]);
    }
  }, 20_000);

  it('says which signals the target handles itself (a handler of its own), as a JVM does its SIGSEGVs', async () => {
    const py = spawn(
      '/usr/bin/python3',
      ['-c', 'import signal, time\nsignal.signal(signal.SIGTERM, lambda *_: None)\nprint("ready", flush=True)\ntime.sleep(20)'],
      {
        stdio: ['ignore', 'pipe', 'ignore'],
      },
    );
    const plain = spawn(faultsBinary(), ['sleep', '30'], { stdio: 'ignore' });
    try {
      await new Promise((r) => py.stdout!.once('data', r)); // its handler installed
      const { result } = await captureAround(
        signals,
        async () => {
          await run(['/usr/bin/kill', '-TERM', String(py.pid)]);
          await run(['/usr/bin/kill', '-TERM', String(plain.pid)]);
          await exited(plain);
        },
        { target: { pid: [py.pid!, plain.pid!] }, settleMs: 100 },
      );
      const terms = result.events.filter((e) => e.kind === 'signal' && e.signal === 'SIGTERM');
      expect(terms.map((e) => [e.kind === 'signal' && e.targetPid, e.kind === 'signal' && e.handled === true])).toEqual([
        [py.pid, true],
        [plain.pid, false],
      ]);
      // As the live stream and the table print it.
      const event = signals.table!(result).columns.find((c) => c.header === 'EVENT')!;
      expect(event.value(terms[0]!)).toBe(`SIGTERM → python3 (${py.pid}) [user, handled by it]`);
    } finally {
      py.kill('SIGKILL');
      plain.kill('SIGKILL');
    }
  }, 20_000);

  it('a SIGTERM from a supervisor is info, and an unselected pid is left out', async () => {
    const faults = faultsBinary();
    const victim = spawn(faults, ['sleep', '30'], { stdio: 'ignore' });
    try {
      await new Promise((r) => setTimeout(r, 50));
      const { result } = await captureAround(
        signals,
        async () => {
          await run(['/usr/bin/kill', '-TERM', String(victim.pid)]);
          await exited(victim);
          await run([faults, 'exit', '4']); // not the target
        },
        { target: { pid: [victim.pid!] }, settleMs: 100 },
      );
      expect(result.events.every((e) => e.pid === victim.pid || (e.kind === 'signal' && e.targetPid === victim.pid))).toBe(true);
      const { findings } = analyze(result);
      expect(findings).toHaveLength(1);
      expect(findings[0]).toMatchObject({ severity: 'info' });
      expect(findings[0]!.title).toContain(`sent SIGTERM to faults (pid ${victim.pid}`);
    } finally {
      victim.kill('SIGKILL');
    }
  }, 20_000);
});
