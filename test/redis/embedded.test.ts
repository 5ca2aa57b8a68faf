// The embedded redis-server goes with the process that started it, whatever
// way that process ends: an uncaught error and SIGKILL skip every stop(), and
// an orphaned Redis would hold its port and data dir until someone kills it.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/util/paths.js';

const embedded = join(projectRoot, 'dist', 'src', 'redis', 'embedded.js');
/** Running, not a zombie (its parent is gone; whoever adopted it may not reap it at once). */
function alive(pid: number): boolean {
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

let dir: string | undefined;
let redisPid: number | undefined;
afterEach(() => {
  if (redisPid && alive(redisPid)) process.kill(redisPid, 'SIGKILL');
  redisPid = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

/** A node process that starts an embedded Redis, prints its pid, then ends as `end` says. */
async function starterThatEnds(end: 'throw' | 'sigkill'): Promise<{ redisPid: number; exit: { code: number | null; signal: string | null } }> {
  dir = mkdtempSync(join(tmpdir(), 'sherlock-embedded-'));
  const script = [
    `const { startEmbeddedRedis } = await import(${JSON.stringify(embedded)});`,
    `const redis = await startEmbeddedRedis({ dataDir: ${JSON.stringify(join(dir, 'redis'))} });`,
    'console.log(redis.process.pid);',
    end === 'throw' ? "setTimeout(() => { throw new Error('boom'); }, 50);" : 'setInterval(() => {}, 1000);',
  ].join('\n');
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  const pid = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('\n')) resolve(Number(out.trim()));
    });
    child.once('exit', (code) => reject(new Error(`starter exited ${code} before Redis was up`)));
  });
  redisPid = pid;
  expect(alive(pid)).toBe(true);
  if (end === 'sigkill') child.kill('SIGKILL');
  const exit = await new Promise<{ code: number | null; signal: string | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return { redisPid: pid, exit };
}

async function gone(pid: number, withinMs: number): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  while (Date.now() < deadline) {
    if (!alive(pid)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return !alive(pid);
}

describe.skipIf(!existsSync('/usr/bin/setpriv'))('embedded Redis ends with its process', () => {
  it('is stopped when the process that started it dies of an uncaught error', async () => {
    const { redisPid: pid, exit } = await starterThatEnds('throw');
    expect(exit.code).toBe(1);
    expect(await gone(pid, 5_000)).toBe(true);
  });

  it('is stopped when the process that started it is killed with SIGKILL', async () => {
    const { redisPid: pid, exit } = await starterThatEnds('sigkill');
    expect(exit.signal).toBe('SIGKILL');
    expect(await gone(pid, 5_000)).toBe(true);
  });
});
