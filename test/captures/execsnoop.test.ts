// execsnoop against the real kernel: children this test spawns must show up
// with their argv, parent, exit codes and failures; filters and cancellation
// must hold; nothing may stay loaded afterwards.
import { execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { execsnoop, type ExecEvent } from '../../src/captures/execsnoop/index.js';
import { runCapture } from '../../src/captures/run-capture.js';
import { memoryCgroupMount } from '../../src/cgroups/mount.js';
import { captureAround, type CaptureAroundOptions } from '../helpers/capture-around.js';
import { dockerLikeMemcg } from '../helpers/cgroups.js';
import { bpfHandlesOf, kernelSkipReason, stillLoaded } from '../helpers/kernel.js';

const skip = kernelSkipReason();

const captureDuring = (during: () => Promise<void>, request: CaptureAroundOptions = {}) => captureAround(execsnoop, during, { durationMs: 20_000, ...request });

function run(file: string, args: string[]): Promise<number | null> {
  const child = spawn(file, args, { stdio: 'ignore' });
  return new Promise((resolve) => {
    child.once('error', () => resolve(null)); // exec failed: ENOENT and the like
    child.once('exit', (code) => resolve(code));
  });
}

const withMarker = (events: ExecEvent[], marker: string) => events.filter((e) => e.argv.some((a) => a.includes(marker)));

/** Why a C compiler cannot be used here, or undefined when it can. */
function ccSkipReason(): string | undefined {
  try {
    execFileSync('cc', ['--version'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return 'needs a C compiler (cc)';
  }
}
const noCc = ccSkipReason();

/**
 * A program whose children exec with every string a literal: the strings sit
 * in a read-only file-backed page that fork does not copy into the child's
 * page table and that nothing touches before execve, so they are not paged in
 * when sys_enter_execve runs (a BPF probe read cannot fault them in).
 */
function literalExecSource(children: number, marker: string): string {
  return `#include <sys/wait.h>
#include <unistd.h>
extern char **environ;
int main(void)
{
	int failed = 0;
	for (int i = 0; i < ${children}; i++) {
		pid_t pid = fork();
		if (pid < 0)
			return 2;
		if (pid == 0) {
			execve("/bin/true", (char *[]){ "/bin/true", "${marker}", 0 }, environ);
			_exit(127);
		}
	}
	for (int i = 0; i < ${children}; i++) {
		int status;
		if (wait(&status) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
			failed = 1;
	}
	return failed;
}
`;
}

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

  it('folds a PATH search into the exec it ends in (attempts), and a command not found into one failed exec', async () => {
    const marker = `sherlock-path-${randomUUID()}`;
    const dir = mkdtempSync(join(tmpdir(), 'sherlock-path-'));
    try {
      // env (execvp) looks a command up by trying execve in each PATH directory.
      const missing = Array.from({ length: 30 }, (_, i) => join(dir, `missing-${i}`));
      const path = [...missing, '/usr/bin', '/bin'].join(':');
      const { result } = await captureDuring(async () => {
        const code = await new Promise<number | null>((resolve) => {
          const child = spawn('/bin/sh', ['-c', `env ${marker}-no-such-command; env true ${marker}; true`], { stdio: 'ignore', env: { PATH: path } });
          child.once('exit', (c) => resolve(c));
        });
        expect(code).toBe(0);
      });
      // env itself (sh found it after 30 misses), then env → true (30 misses again).
      const found = result.events.find((e) => e.argv.join(' ') === `true ${marker}`);
      expect(found).toMatchObject({ retval: 0, attempts: 31, filename: '/usr/bin/true' });
      expect(found!.triedPaths).toEqual(missing.slice(0, 3).map((d) => `${d}/true`));
      // The command that does not exist: every directory missed, one failed exec.
      const notFound = result.events.filter((e) => e.filename.endsWith(`/${marker}-no-such-command`));
      expect(notFound).toHaveLength(1);
      expect(notFound[0]).toMatchObject({ retval: -2, error: 'ENOENT', attempts: 32, comm: 'env' });
      // No miss of this shell is left as an exec of its own.
      expect(result.events.filter((e) => e.filename.startsWith(dir) && e.attempts === undefined)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.skipIf(noCc)(`reads filename and argv of execs whose strings are not paged in yet${noCc ? ` (skipped: ${noCc})` : ''}`, async () => {
    const children = 5;
    const marker = `sherlock-literal-${randomUUID()}`;
    const dir = mkdtempSync(join(tmpdir(), 'sherlock-execsnoop-'));
    try {
      writeFileSync(join(dir, 'literal-exec.c'), literalExecSource(children, marker));
      execFileSync('cc', ['-O2', '-o', join(dir, 'literal-exec'), join(dir, 'literal-exec.c')]);
      let parentPid = 0;
      const { result } = await captureDuring(async () => {
        const parent = spawn(join(dir, 'literal-exec'), [], { stdio: 'ignore' });
        parentPid = parent.pid!;
        const [code] = (await once(parent, 'exit')) as [number | null];
        expect(code).toBe(0);
      });
      // By parent, not by marker: the bug this guards against loses argv.
      const seen = result.events.filter((e) => e.ppid === parentPid);
      expect(seen).toHaveLength(children);
      for (const event of seen) {
        expect(event).toMatchObject({ filename: '/bin/true', argv: ['/bin/true', marker], argsTruncated: false, retval: 0 });
        expect(event.exitCode).toBe(0);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps the first 20 arguments of a longer argv and says it cut', async () => {
    const marker = `sherlock-${randomUUID()}`;
    const args = Array.from({ length: 25 }, (_, i) => `${marker}-${i}`);
    const { result } = await captureDuring(async () => {
      expect(await run('/bin/echo', args)).toBe(0);
    });
    const seen = withMarker(result.events, marker);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.argv).toEqual(['/bin/echo', ...args.slice(0, 19)]);
    expect(seen[0]!.argsTruncated).toBe(true);
  });

  it('keeps a long argument whole when argv fits 2560 bytes, else cuts each at 127 and keeps those after', async () => {
    const marker = `sherlock-${randomUUID()}`;
    const fits = `${marker}-fits-${'y'.repeat(500)}`;
    const huge = `${marker}-huge-${'x'.repeat(3000)}`;
    const { result } = await captureDuring(async () => {
      expect(await run('/bin/echo', [fits, `${marker}-after-fits`])).toBe(0);
      expect(await run('/bin/echo', [huge, `${marker}-after-huge`])).toBe(0);
    });
    const seen = withMarker(result.events, marker);
    expect(seen.map((e) => ({ argv: e.argv, argsTruncated: e.argsTruncated }))).toEqual([
      { argv: ['/bin/echo', fits, `${marker}-after-fits`], argsTruncated: false },
      { argv: ['/bin/echo', huge.slice(0, 127), `${marker}-after-huge`], argsTruncated: true },
    ]);
  });

  it('shows a #! script’s argv as the new image sees it: interpreter, script, arguments', async () => {
    const marker = `sherlock-${randomUUID()}`;
    const dir = mkdtempSync(join(tmpdir(), 'sherlock-execsnoop-'));
    try {
      const script = join(dir, 'script.sh');
      writeFileSync(script, '#!/bin/sh\nexit 0\n');
      chmodSync(script, 0o755);
      const { result } = await captureDuring(async () => {
        expect(await run(script, [marker])).toBe(0);
      });
      const seen = withMarker(result.events, marker);
      expect(seen).toHaveLength(1);
      expect(seen[0]).toMatchObject({ filename: script, argv: ['/bin/sh', script, marker], argsTruncated: false, retval: 0 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
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

  it.skipIf(!memoryCgroupMount())('names the container of short-lived children by their memory cgroup, after they and their parent exited', async () => {
    const marker = `sherlock-${randomUUID()}`;
    const scope = dockerLikeMemcg('exec')!;
    try {
      const { result } = await captureDuring(async () => {
        await run('/bin/sh', ['-c', `echo $$ > ${scope.dir}/cgroup.procs && /bin/true ${marker} && /bin/true ${marker}`]);
      });
      const seen = withMarker(result.events, marker).filter((e) => e.filename === '/bin/true'); // not the shell: it moved after its exec
      expect(seen).toHaveLength(2);
      for (const e of seen) expect(e).toMatchObject({ container: scope.containerId, cgroup: scope.path });
    } finally {
      expect(await scope.remove()).toEqual([]);
    }
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
    await expect(runCapture(execsnoop, { durationMs: 1000, target: { pid: [0x7ffffffe] } })).rejects.toThrow(/no process with pid 2147483646/);
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
