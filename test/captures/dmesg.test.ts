// dmesg against the real kernel's log: a program that really crashes (a null
// pointer read in a function inlined into its caller) before the window and
// in it, and a process OOM-killed in a memory cgroup before the window. Read
// back from /dev/kmsg with the lookback, the crash names its function, source
// line and caller, its file found through a running instance or a command
// line; the kill names the cgroup whose limit ran out.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { mergeThresholds } from '../../src/analysis/common.js';
import { dmesg, dmesgText } from '../../src/captures/dmesg/index.js';
import { runCapture } from '../../src/captures/run-capture.js';
import { faultsBinary, testBinary } from '../helpers/faults.js';
import { createMemcg, memcgSkipReason } from '../helpers/memcg.js';
import { readText } from '../../src/util/read-text.js';

const MiB = 1024 * 1024;
const skip = process.getuid?.() === 0 ? undefined : 'reading /dev/kmsg needs root';
const crasher = () => testBinary('crasher', ['-O1', '-g']);

/** Runs `crasher crash` to its SIGSEGV; its pid. */
function crashOnce(): number {
  const child = spawnSync(crasher(), ['crash']);
  expect(child.signal).toBe('SIGSEGV');
  return child.pid;
}

describe.skipIf(skip)(`dmesg on this host${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const c of children.splice(0)) c.kill('SIGKILL');
  });

  it('reads a crash before the window and one in it, and names the function, its line and its caller from the file a running instance maps', async () => {
    const running = spawn(crasher(), ['wait'], { stdio: 'ignore' });
    children.push(running);
    const before = crashOnce();
    // The kernel log's clock (local_clock) runs ~1 ms ahead of CLOCK_MONOTONIC here, which the window starts by: a crash
    // a moment before the window would read as in it (a full run saw it twice, on retry too).
    await new Promise((r) => setTimeout(r, 50));
    let during = 0;
    const result = await runCapture(dmesg, {
      durationMs: 800,
      params: { lookbackSeconds: 60 },
      onLive: () => void (during = crashOnce()),
    });
    const mine = result.events.filter((e) => e.kind === 'crash' && [before, during].includes(Number(e.fields.pid)));
    expect(mine.map((e) => [Number(e.fields.pid), e.inWindow])).toEqual([
      [before, false],
      [during, true],
    ]);
    for (const e of mine) {
      expect(e.fields).toMatchObject({ comm: 'crasher', address: '0', file: 'crasher' });
      expect(e.site).toMatchObject({ path: crasher(), foundBy: 'mapped by a running process', function: 'parse_header', inlinedInto: ['handle_request'] });
      expect(e.site!.source).toMatch(/^crasher\.c:\d+$/);
    }
    expect(Date.parse(mine[1]!.time)).toBeGreaterThan(Date.parse(mine[0]!.time));
    expect(result.lookbackSeconds).toBe(60);
    expect(dmesgText(result)).toContain('[in parse_header at crasher.c:');

    const { findings } = dmesg.analysis!.analyze({ ...result, events: mine } as never, {
      node: 'n1',
      capture: 'dmesg',
      file: 'nodes/n1/dmesg.json',
      thresholds: mergeThresholds(),
      windowSeconds: result.durationMs / 1000,
    });
    expect(findings).toHaveLength(1);
    expect(findings[0]!.severity).toBe('warning'); // 2 crashes: under the crash loop threshold
    expect(findings[0]!.title).toContain(
      `crasher (pid ${during}) segfaulted reading address 0x0 (a null pointer) in parse_header (inlined into handle_request) (crasher.c:`,
    );
    expect(findings[0]!.title).toMatch(/^Kernel log \(2 times since [\d:]+ UTC, 1 in the window[;)]/);
  });

  it('finds the file of a program no longer running on the command line of what started it', async () => {
    const path = crasher();
    // A shell that ran it, as an entrypoint script or a supervisor would: its argv names the path; then it sleeps.
    const shell = spawn('/bin/sh', ['-c', `${path} crash; sleep 30`], { stdio: 'ignore' });
    children.push(shell);
    const sleeping = () =>
      (readText(`/proc/${shell.pid}/task/${shell.pid}/children`) ?? '')
        .trim()
        .split(' ')
        .filter(Boolean)
        .some((p) => readText(`/proc/${p}/comm`) === 'sleep\n');
    for (let i = 0; i < 100 && !sleeping(); i++) await new Promise((r) => setTimeout(r, 20));
    const result = await runCapture(dmesg, { durationMs: 300, params: { lookbackSeconds: 30 } });
    const crash = result.events.filter((e) => e.kind === 'crash' && e.fields.comm === 'crasher').at(-1);
    expect(crash?.site).toMatchObject({ path, foundBy: 'named on a command line', function: 'parse_header' });
  });

  it.skipIf(memcgSkipReason())('reads an OOM kill before the window with the cgroup whose limit ran out', async () => {
    const memcg = createMemcg(24 * MiB);
    try {
      const victim = memcg.spawn([faultsBinary(), 'alloc', '256']);
      await once(victim, 'exit');
      expect(victim.signalCode).toBe('SIGKILL');
      const result = await runCapture(dmesg, { durationMs: 300, params: { lookbackSeconds: 60 } });
      const kill = result.events.find((e) => e.kind === 'oom-kill' && Number(e.fields.pid) === victim.pid);
      expect(kill).toMatchObject({ inWindow: false, subject: 'faults', fields: { comm: 'faults', memcg: `/${memcg.name}` } });
      expect(Number(kill!.fields.anonKb)).toBeGreaterThan(16 * 1024);
    } finally {
      await memcg.remove();
    }
  });
});
