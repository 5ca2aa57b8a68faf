// Children for the profile, offcputime and runqlat tests: small C programs
// compiled at test time (cc -O0) into a temp dir, and a bounded capture
// around a workload. Every child is bounded in time by its own arguments and
// killed by pid if it outlives the test.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CaptureDefinition } from '../../src/captures/capture.js';
import { captureAround, type CaptureAroundOptions } from '../helpers/capture-around.js';

export class TempDir {
  readonly path = mkdtempSync(join(tmpdir(), 'sherlock-test-sched-'));

  /** Writes NAME.c, compiles it with `cc -O0` (frame pointers, no inlining), or `optimize` ("-O2"); returns the binary. */
  compileC(name: string, source: string, optimize = '-O0'): string {
    const src = join(this.path, `${name}.c`);
    const bin = join(this.path, name);
    writeFileSync(src, source);
    execFileSync('cc', [optimize, '-g', '-Wall', '-o', bin, src], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 60_000 });
    return bin;
  }

  remove(): void {
    rmSync(this.path, { recursive: true, force: true });
  }
}

export interface Finished {
  pid: number;
  code: number | null;
  stdout: string;
}

const live = new Set<ChildProcess>();

/** Starts a child in its own temp dir (node --perf-basic-prof leaves v8 logs there); resolves with its exit. Killed (SIGKILL) after timeoutMs. */
export function start(file: string, args: string[], timeoutMs = 20_000): { pid: number; done: Promise<Finished> } {
  const cwd = mkdtempSync(join(tmpdir(), 'sherlock-child-'));
  const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'inherit'], cwd });
  child.once('close', () => rmSync(cwd, { recursive: true, force: true }));
  live.add(child);
  let stdout = '';
  child.stdout!.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const done = new Promise<Finished>((resolve, reject) => {
    child.once('error', (err) => {
      clearTimeout(timer);
      live.delete(child);
      reject(err);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      live.delete(child);
      resolve({ pid: child.pid!, code, stdout });
    });
  });
  if (child.pid === undefined) throw new Error(`${file} did not start`);
  return { pid: child.pid, done };
}

/** SIGKILL whatever a test started and is still running. */
export function killLeftovers(): void {
  for (const child of live) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

/** A capture around `during`, stopped 100 ms after it (the last switches and samples drain). */
export const captureDuring = <P, D>(def: CaptureDefinition<P, D>, during: () => Promise<void>, request: CaptureAroundOptions = {}) =>
  captureAround(def, during, { settleMs: 100, ...request });
