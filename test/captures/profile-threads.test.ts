// Which thread does a process's work, read from /proc at a profile's end:
// a Python process with one thread spinning beside three asleep, and one
// with two spinning. The reader must name the spinning thread and its share.
import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { busiestThreads } from '../../src/captures/profile/threads.js';

/** argv[1] threads spinning and argv[2] asleep, for 20 s; prints each spinner's tid. */
const SPINNERS = [
  'import sys, threading, time',
  'def spin():',
  '    print(threading.get_native_id(), flush=True)',
  '    end = time.time() + 20',
  '    while time.time() < end: pass',
  'for _ in range(int(sys.argv[2])): threading.Thread(target=time.sleep, args=(20,), daemon=True).start()',
  'for _ in range(int(sys.argv[1])): threading.Thread(target=spin, daemon=True).start()',
  'time.sleep(20)',
].join('\n');

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
});

async function spinning(busy: number, idle: number): Promise<{ pid: number; tids: number[] }> {
  const child = spawn('/usr/bin/python3', ['-c', SPINNERS, String(busy), String(idle)], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  const tids: number[] = [];
  child.stdout!.setEncoding('utf8').on('data', (d: string) => tids.push(...d.trim().split('\n').map(Number)));
  for (let i = 0; i < 100 && tids.length < busy; i++) await sleep(20);
  await sleep(600); // their CPU time adds up
  return { pid: child.pid!, tids };
}

const sampled = (pid: number) => [{ pid, comm: 'python3', frames: [], value: 100 }];

describe("profile: a process's busiest thread", () => {
  it('one thread spinning beside three asleep does nearly all its work; two spinning share it', async () => {
    const one = await spinning(1, 3);
    const two = await spinning(2, 0);
    const busiest = busiestThreads([...sampled(one.pid), ...sampled(two.pid)]).busiestThreads!;
    expect(busiest[one.pid]).toMatchObject({ tid: one.tids[0], threads: 5 });
    expect(busiest[one.pid]!.share).toBeGreaterThan(0.9);
    expect(two.tids).toContain(busiest[two.pid]!.tid);
    expect(busiest[two.pid]!.share).toBeLessThan(0.75);
  });

  it('processes sampled too little are not read', () => {
    expect(busiestThreads([{ pid: process.pid, comm: 'node', frames: [], value: 10 }])).toEqual({});
  });
});
