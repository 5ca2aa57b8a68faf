// execsnoop against the real kernel: children this test spawns must show up
// with their argv, parent, exit codes and failures; filters and cancellation
// must hold; nothing may stay loaded afterwards.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { execsnoop, type ExecEvent } from '../../src/captures/execsnoop/index.js';
import { runCapture, type CaptureRequest } from '../../src/captures/run-capture.js';
import { bpfHandlesOf, kernelSkipReason, stillLoaded } from '../helpers/kernel.js';

const skip = kernelSkipReason();

/** Runs a capture; `during` runs once probes are live, then the capture is stopped. */
async function captureDuring(during: () => Promise<void>, request: Partial<CaptureRequest> = {}) {
  const controller = new AbortController();
  let programIds: number[] = [];
  let failure: unknown;
  const result = runCapture(execsnoop, {
    durationMs: 20_000,
    signal: controller.signal,
    ...request,
    onLive: () => {
      programIds = bpfHandlesOf().programIds;
      during()
        .catch((err) => (failure = err))
        .finally(() => setTimeout(() => controller.abort(), 50)); // let the last exits drain
    },
  });
  const value = await result;
  if (failure) throw failure;
  return { result: value, programIds };
}

function run(file: string, args: string[]): Promise<number | null> {
  const child = spawn(file, args, { stdio: 'ignore' });
  return new Promise((resolve) => {
    child.once('error', () => resolve(null)); // exec failed: ENOENT and the like
    child.once('exit', (code) => resolve(code));
  });
}

const withMarker = (events: ExecEvent[], marker: string) => events.filter((e) => e.argv.some((a) => a.includes(marker)));

describe.skipIf(skip)(`execsnoop on the real kernel${skip ? ` (skipped: ${skip})` : ''}`, () => {
  afterEach(() => {
    expect(bpfHandlesOf()).toEqual({ programIds: [], links: 0, maps: 0 });
  });

  it('sees 50 children with argv, ppid and exit codes, a failing exec, and leaves nothing loaded', async () => {
    const marker = `sherlock-${randomUUID()}`;
    const expectedCodes = new Map<string, number>();
    const { result, programIds } = await captureDuring(async () => {
      const runs = Array.from({ length: 50 }, (_, i) => {
        const code = i === 7 ? 3 : i % 2;
        expectedCodes.set(`${marker}-${i}`, code);
        return run('/bin/sh', ['-c', `exit ${code}`, `${marker}-${i}`]);
      });
      runs.push(run(`/nonexistent/${marker}`, [`${marker}-missing`]));
      await Promise.all(runs);
    });

    expect(programIds.length).toBeGreaterThan(0);
    expect(stillLoaded(programIds)).toEqual([]);
    expect(result.dropped).toBe(0);
    expect(result.bpfCpuNs).toBeGreaterThan(0);

    const seen = withMarker(result.events, marker);
    const children = seen.filter((e) => e.filename === '/bin/sh');
    expect(children).toHaveLength(50);
    for (const event of children) {
      const tag = event.argv[3]!;
      expect(event.argv).toEqual(['/bin/sh', '-c', `exit ${expectedCodes.get(tag)}`, tag]);
      expect(event.ppid).toBe(process.pid);
      expect(event.retval).toBe(0);
      expect(event.exitCode).toBe(expectedCodes.get(tag));
      expect(event.exitSignal).toBe(0);
      expect(event.lifetimeMs).toBeGreaterThan(0);
      expect(event.uid).toBe(process.getuid!());
    }
    expect(children.find((e) => e.argv[3] === `${marker}-7`)?.exitCode).toBe(3);

    const failed = seen.find((e) => e.filename === `/nonexistent/${marker}`);
    expect(failed).toMatchObject({ retval: -2, error: 'ENOENT', ppid: process.pid });
    expect(failed?.exitCode).toBeUndefined();
  });

  it('with a pid target, shows only that parent’s children', async () => {
    const marker = `sherlock-${randomUUID()}`;
    // The target shell waits for a line on stdin, then runs three execs.
    const parent = spawn('/bin/sh', ['-c', `read go; for i in 1 2 3; do /bin/echo ${marker}-in $i; done`], {
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    const parentExit = once(parent, 'exit');
    const { result } = await captureDuring(
      async () => {
        parent.stdin!.end('go\n');
        await Promise.all([parentExit, run('/bin/echo', [`${marker}-out`])]);
      },
      { target: { pid: [parent.pid!] } },
    );
    const seen = withMarker(result.events, marker);
    expect(seen.map((e) => e.argv.slice(1).join(' ')).sort()).toEqual([1, 2, 3].map((i) => `${marker}-in ${i}`));
    expect(seen.every((e) => e.ppid === parent.pid)).toBe(true);
    expect(result.target).toBe(`pid ${parent.pid}`);
  });

  it('with a comm target, shows execs of that command and those it launches', async () => {
    const marker = `sherlock-${randomUUID()}`;
    const { result } = await captureDuring(
      async () => {
        await run('/bin/echo', [`${marker}-echo`]);
        await run('/bin/true', [`${marker}-true`]);
      },
      { target: { comm: 'echo' } },
    );
    const seen = withMarker(result.events, marker);
    expect(seen.map((e) => e.comm)).toEqual(['echo']);
  });

  it('stops promptly when aborted after 200 ms and returns what it had', async () => {
    const controller = new AbortController();
    const marker = `sherlock-${randomUUID()}`;
    let programIds: number[] = [];
    const started = Date.now();
    const result = await runCapture(execsnoop, {
      durationMs: 30_000,
      signal: controller.signal,
      onLive: () => {
        programIds = bpfHandlesOf().programIds;
        void run('/bin/echo', [marker]);
        setTimeout(() => controller.abort(), 200);
      },
    });
    expect(result.cancelled).toBe(true);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(result.durationMs).toBeLessThan(5_000);
    expect(withMarker(result.events, marker)).toHaveLength(1);
    expect(stillLoaded(programIds)).toEqual([]);
  });

  it('rejects settings outside the schema with what is allowed, before loading anything', async () => {
    await expect(runCapture(execsnoop, { durationMs: 1000, params: { maxEvents: 0 } })).rejects.toThrow(/maxEvents/);
    await expect(runCapture(execsnoop, { durationMs: 1000, params: { bogus: 1 } })).rejects.toThrow(/bogus/);
    await expect(runCapture(execsnoop, { durationMs: 0 })).rejects.toThrow(/duration must be between/);
    await expect(runCapture(execsnoop, { durationMs: 1000, target: { pid: [0x7ffffffe] } })).rejects.toThrow(
      /no process with pid 2147483646/,
    );
  });

  it('counts events past maxEvents as dropped, never silently', async () => {
    const marker = `sherlock-${randomUUID()}`;
    const { result } = await captureDuring(
      async () => {
        for (let i = 0; i < 5; i++) await run('/bin/echo', [`${marker}-${i}`]);
      },
      { params: { maxEvents: 2 } },
    );
    expect(result.events).toHaveLength(2);
    expect(result.drops.event_cap).toBeGreaterThanOrEqual(3);
    expect(result.dropped).toBe(Object.values(result.drops).reduce((a, b) => a + (b ?? 0), 0));
  });
});
