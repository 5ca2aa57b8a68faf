// Children of the benchmarks: small C helpers compiled at run time into a temp
// dir, run with a time limit, always reaped. Every child spawned here is
// tracked so an interrupted run (Ctrl-C) kills exactly those, by pid.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const live = new Set<ChildProcess>();

/** SIGKILL every child still running that a benchmark started, wait (≤ 2 s) until reaped; returns how many. */
export async function killTrackedChildren(): Promise<number> {
  const waits: Promise<void>[] = [];
  for (const child of live) {
    if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) continue;
    waits.push(new Promise((resolve) => child.once('exit', () => resolve())));
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  if (!waits.length) return 0;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([Promise.all(waits), new Promise((resolve) => (timer = setTimeout(resolve, 2000)))]);
  clearTimeout(timer);
  return waits.length;
}

function track(child: ChildProcess): ChildProcess {
  live.add(child);
  child.once('exit', () => live.delete(child));
  child.once('error', () => live.delete(child));
  return child;
}

const tempDirs = new Set<TempDir>();

/** Removes every temp dir not yet removed (an interrupted run skips the finally blocks). */
export function removeTempDirs(): void {
  for (const dir of tempDirs) dir.remove();
}

/** A private temp dir for compiled helpers; remove() deletes it and everything in it. */
export class TempDir {
  readonly path: string;
  constructor(label: string) {
    this.path = mkdtempSync(join(tmpdir(), `sherlock-bench-${label}-`));
    tempDirs.add(this);
  }

  /** Writes `source` to NAME.c and compiles it with `cc -O2`; returns the binary's path. */
  compileC(name: string, source: string): string {
    const src = join(this.path, `${name}.c`);
    const bin = join(this.path, name);
    writeFileSync(src, source);
    execFileSync('cc', ['-O2', '-Wall', '-o', bin, src], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 60_000 });
    return bin;
  }

  remove(): void {
    rmSync(this.path, { recursive: true, force: true });
    tempDirs.delete(this);
  }
}

export interface TimedRun {
  pid: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  /** From the spawn() call to the child's exit, by hrtime. */
  ms: number;
}

export interface RunOptions {
  /** SIGKILL after this long; the run then rejects. */
  timeoutMs: number;
  /** Called as soon as the child has a pid (before it exits). */
  onSpawn?(pid: number): void;
}

/** Runs a program to completion, timed spawn→exit; rejects on timeout or spawn failure. */
export function runTimed(file: string, args: string[], options: RunOptions): Promise<TimedRun> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = track(spawn(file, args, { stdio: ['ignore', 'pipe', 'inherit'] }));
    let stdout = '';
    let timedOut = false;
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    const timer = setTimeout(() => {
      timedOut = true;
      if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
    }, options.timeoutMs);
    child.once('spawn', () => options.onSpawn?.(child.pid as number));
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('exit', (code, signal) => {
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      clearTimeout(timer);
      if (timedOut) return reject(new Error(`${file} killed after ${options.timeoutMs} ms`));
      // stdout may still hold buffered bytes at 'exit': wait for the stream to end.
      const done = () => resolve({ pid: child.pid as number, code, signal, stdout, ms });
      if (child.stdout && !child.stdout.readableEnded) child.stdout.once('close', done);
      else done();
    });
  });
}

/** A helper driven line by line over stdin/stdout: request() writes a command and waits for one reply line. */
export class LineChild {
  private readonly child: ChildProcess;
  private buffered = '';
  private readonly lines: string[] = [];
  private waiter: (() => void) | undefined;
  private exited: Promise<void>;

  constructor(file: string, args: string[] = []) {
    this.child = track(spawn(file, args, { stdio: ['pipe', 'pipe', 'inherit'] }));
    this.exited = new Promise((resolve) => {
      this.child.once('exit', () => resolve());
      this.child.once('error', () => resolve());
    });
    this.child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      this.buffered += chunk;
      let nl: number;
      while ((nl = this.buffered.indexOf('\n')) >= 0) {
        this.lines.push(this.buffered.slice(0, nl));
        this.buffered = this.buffered.slice(nl + 1);
      }
      this.waiter?.();
    });
  }

  get pid(): number {
    if (this.child.pid === undefined) throw new Error('helper did not start');
    return this.child.pid;
  }

  async request(line: string, timeoutMs: number): Promise<string> {
    this.child.stdin?.write(`${line}\n`);
    const deadline = Date.now() + timeoutMs;
    while (this.lines.length === 0) {
      if (this.child.exitCode !== null || this.child.signalCode !== null) throw new Error('helper exited early');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`helper gave no reply to "${line}" within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 1000));
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.waiter = undefined;
    }
    return this.lines.shift() as string;
  }

  /** Closes stdin (the helper exits on EOF), SIGKILL if it lingers; waits for the exit. */
  async close(graceMs = 2000): Promise<void> {
    this.child.stdin?.end();
    const timer = setTimeout(() => {
      if (this.child.pid !== undefined && this.child.exitCode === null) process.kill(this.child.pid, 'SIGKILL');
    }, graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

/**
 * fork + execve("/bin/true") + waitpid, N times (path and argv on the child's stack); optional pacing (execs/s,
 * 0 = back to back) and a time limit. Prints "<attempted> <ok>"; exits 0
 * when every exec'd child exited 0.
 */
export const EXEC_STORM_C = String.raw`
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 2000;
	long rate = argc > 2 ? atol(argv[2]) : 0;
	long max_ms = argc > 3 ? atol(argv[3]) : 60000;
	char *const envp[] = { NULL };
	long long t0 = now_ns(), deadline = t0 + max_ms * 1000000LL;
	long i, ok = 0;

	for (i = 0; i < n; i++) {
		if (now_ns() >= deadline)
			break;
		if (rate > 0) {
			long long due = t0 + i * 1000000000LL / rate;
			struct timespec ts = { due / 1000000000LL, due % 1000000000LL };
			clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
		}
		pid_t pid = fork();
		if (pid < 0) {
			perror("fork");
			break;
		}
		if (pid == 0) {
			/* Path and argv in writable memory, as shells and runtimes
			 * pass them. A string literal would sit in a .rodata page
			 * not yet mapped in the child after fork, and execsnoop's
			 * sys_enter read of it would fail (a partial record). */
			char path[] = "/bin/true";
			char *const args[] = { path, NULL };
			execve(path, args, envp);
			_exit(127);
		}
		int status;
		if (waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0)
			ok++;
	}
	printf("%ld %ld\n", i, ok);
	return ok == i ? 0 : 1;
}
`;
