// Falco rules matched while the captures stream, as the worker does it:
// execsnoop, opensnoop, signals and syscallerrors run together on the real
// kernel, their records go to a node session as they are drained, and an
// alert must come out while the captures are still running. The signals and
// syscallerrors sources are checked on real events: a kill(2) from a named
// program (kill, signaldeliver), a non-zero exit (procexit) and a failing
// mkdir (EEXIST under Falco's evt.arg.path); near misses must not match.
import { execFile as execFileCb, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CaptureDefinition, CaptureResult } from '../../src/captures/capture.js';
import { execsnoop } from '../../src/captures/execsnoop/index.js';
import { opensnoop } from '../../src/captures/opensnoop/index.js';
import { runCapture } from '../../src/captures/run-capture.js';
import { signals } from '../../src/captures/signals/index.js';
import { syscallerrors } from '../../src/captures/syscallerrors/index.js';
import { liveHostInfo } from '../../src/falco/host-info.js';
import { loadRules } from '../../src/falco/load-rules.js';
import type { FalcoAlert } from '../../src/falco/matcher.js';
import { NodeRuleSession, type FalcoNodeResult } from '../../src/falco/node-session.js';
import { FAILURE_ONLY_TYPES, PRODUCED_TYPES } from '../../src/falco/sources/index.js';
import { bpfHandlesOf, kernelSkipReason } from '../helpers/kernel.js';

const execFile = promisify(execFileCb);
const skip = kernelSkipReason();

const rules = (dir: string) => `
- macro: open_read
  condition: (evt.type in (open,openat,openat2) and evt.is_open_read=true and fd.typechar='f' and fd.num>=0)
- list: trusted_killers
  items: [calm-killer]

- rule: Marker read
  desc: the marker file was read
  condition: open_read and fd.name = "${dir}/marker" and proc.name = marker-reader
  output: marker read (file=%fd.name process=%proc.name)
  priority: WARNING

- rule: Kill by untrusted program
  desc: a program outside the list sent SIGTERM
  condition: evt.type in (kill, tgkill) and evt.arg.sig = SIGTERM and proc.name startswith "" and not proc.name in (trusted_killers) and proc.name endswith -killer
  output: kill sent (sender=%proc.name target=%evt.arg.pid sig=%evt.arg.sig res=%evt.res)
  priority: ERROR

- rule: Signal delivered to the victim
  desc: a signal reached the test's victim
  condition: evt.type = signaldeliver and evt.dir = > and proc.name = victim-sleep
  output: signal delivered (to=%proc.name pid=%proc.pid from=%evt.arg.spid sig=%evt.arg.sig)
  priority: NOTICE

- rule: Program ended with 3
  desc: a named program exited with code 3
  condition: evt.type = procexit and evt.arg.ret = 3 and proc.name = exits-three
  output: ended (process=%proc.name status=%evt.arg.status ret=%evt.arg.ret)
  priority: NOTICE

- rule: Failing mkdir below the test directory
  desc: mkdir failed with EEXIST
  condition: evt.type in (mkdir, mkdirat) and evt.failed = true and evt.res = EEXIST and evt.arg.path startswith "${dir}/"
  output: mkdir failed (path=%evt.arg.path res=%evt.res rawres=%evt.rawres process=%proc.name)
  priority: NOTICE
`;

describe.skipIf(skip)(`Falco rules while the captures stream${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let dir = '';
  const pids: Record<string, number> = {};
  const live: { alert: FalcoAlert; capturing: boolean }[] = [];
  let falco: FalcoNodeResult;

  beforeAll(async () => {
    dir = mkdtempSync('/tmp/sherlock-falco-stream-');
    writeFileSync(join(dir, 'marker'), 'x\n');
    mkdirSync(join(dir, 'exists'));
    for (const [name, from] of [
      ['marker-reader', '/bin/cat'],
      ['rogue-killer', '/bin/kill'],
      ['calm-killer', '/bin/kill'],
      ['victim-sleep', '/bin/sleep'],
      ['exits-three', '/bin/sh'],
      ['exits-four', '/bin/sh'],
      ['mkdir-tool', '/usr/bin/mkdir'],
    ] as const)
      copyFileSync(from, join(dir, name));
    const loaded = loadRules([{ path: 'stream-rules.yaml', text: rules(dir) }], PRODUCED_TYPES, FAILURE_ONLY_TYPES);
    expect(loaded.errors).toEqual([]);
    const defs = [execsnoop, opensnoop, signals, syscallerrors] as CaptureDefinition[];
    let capturing = true;
    const session = new NodeRuleSession(
      loaded,
      'test-node',
      liveHostInfo(hostname()),
      defs.map((d) => d.name),
      { onAlert: (alert) => live.push({ alert, capturing }) },
    );
    const controller = new AbortController();
    let liveCount = 0;
    let allLive!: () => void;
    const ready = new Promise<void>((resolve) => (allLive = resolve));
    const running = defs.map((def) =>
      runCapture(def, {
        durationMs: 30_000,
        signal: controller.signal,
        onLive: () => ++liveCount === defs.length && allLive(),
        // The host is busy (other tests, other helpers): keep every failure row, not the top 500.
        ...(def === syscallerrors ? { params: { maxRows: 1_000_000 } } : {}),
        onRecords: (records) => (records.length ? session.add(def.name, { events: records }) : session.streams(def.name)),
      }),
    );
    const results: CaptureResult[] = [];
    try {
      await Promise.race([ready, Promise.all(running)]);
      // An alert while the window is open: the marker read must be matched before the captures stop.
      pids.reader = (await execFile(join(dir, 'marker-reader'), [join(dir, 'marker')]).then(() => 0)) || 0;
      const deadline = Date.now() + 5_000;
      while (!live.some((l) => l.alert.rule === 'Marker read') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      const victim = spawn(join(dir, 'victim-sleep'), ['30']);
      const calm = spawn(join(dir, 'victim-sleep'), ['30']);
      await new Promise((r) => setTimeout(r, 100));
      pids.victim = victim.pid!;
      pids.calm = calm.pid!;
      await execFile(join(dir, 'rogue-killer'), ['-TERM', String(victim.pid)]);
      await execFile(join(dir, 'calm-killer'), ['-TERM', String(calm.pid)]);
      await execFile(join(dir, 'exits-three'), ['-c', 'exit 3']).catch(() => {});
      await execFile(join(dir, 'exits-four'), ['-c', 'exit 4']).catch(() => {});
      await execFile(join(dir, 'mkdir-tool'), [join(dir, 'exists')]).catch(() => {});
      await execFile(join(dir, 'mkdir-tool'), [join(dir, 'fresh')]);
      victim.kill('SIGKILL');
      calm.kill('SIGKILL');
      await new Promise((r) => setTimeout(r, 200));
    } finally {
      controller.abort();
      results.push(...(await Promise.all(running)));
      capturing = false;
    }
    falco = session.finish(results);
  }, 120_000);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    expect(bpfHandlesOf()).toEqual({ programIds: [], links: 0, maps: 0 });
  });

  const alertsOf = (rule: string) => falco.alerts.filter((a) => a.rule === rule);

  it('alerts while the captures still run, and the end keeps the same alerts', () => {
    const marker = live.find((l) => l.alert.rule === 'Marker read');
    expect(marker?.capturing).toBe(true);
    expect(alertsOf('Marker read')).toHaveLength(1);
    // Every alert of the end was handed out live, once.
    expect(live.map((l) => l.alert)).toEqual(falco.alerts);
  });

  it('matches kill(2) from an untrusted program with the sender, target and signal, not from a trusted one', () => {
    const alerts = alertsOf('Kill by untrusted program');
    expect(alerts.map((a) => a.output_fields['evt.arg.pid'])).toEqual([String(pids.victim)]);
    expect(alerts[0]!.output_fields).toMatchObject({ 'proc.name': 'rogue-killer', 'evt.arg.sig': 'SIGTERM', 'evt.res': 'SUCCESS' });
  });

  it("sees the signal delivered to its target as Falco's signaldeliver", () => {
    const alerts = alertsOf('Signal delivered to the victim');
    const terms = alerts.filter((a) => a.output_fields['evt.arg.sig'] === 'SIGTERM');
    expect(terms.map((a) => a.output_fields['proc.pid']).sort()).toEqual([pids.victim, pids.calm].sort());
    expect(terms.every((a) => Number(a.output_fields['evt.arg.spid']) > 0)).toBe(true);
  });

  it('matches a process end by its exit code (procexit), not another code', () => {
    const alerts = alertsOf('Program ended with 3');
    expect(alerts).toHaveLength(1);
    expect(alerts[0]!.output_fields).toMatchObject({ 'proc.name': 'exits-three', 'evt.arg.ret': '3', 'evt.arg.status': String(3 << 8) });
  });

  it('matches a failing syscall by its errno and path (syscallerrors), not the same call that succeeded', () => {
    const alerts = alertsOf('Failing mkdir below the test directory');
    expect(alerts.map((a) => a.output_fields['evt.arg.path'])).toEqual([join(dir, 'exists')]);
    expect(alerts[0]!.output_fields).toMatchObject({ 'evt.res': 'EEXIST', 'evt.rawres': -17, 'proc.name': 'mkdir-tool' });
  });
});
