// Target resolution against this host's real /proc and cgroup tree.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect } from 'node:net';
import { createInterface } from 'node:readline';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { resolveTarget, TargetError } from '../../src/captures/target.js';
import { targetSchema } from '../../src/model/target.js';

const children: ReturnType<typeof spawn>[] = [];
afterEach(() => children.splice(0).forEach((c) => c.kill('SIGKILL')));

/** A child node process listening on a free TCP port; resolves with that port. */
async function listener(): Promise<{ pid: number; port: number }> {
  const child = spawn('node', ['-e', "require('net').createServer().listen(0,'127.0.0.1',function(){console.log(this.address().port)})"], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  const [line] = (await once(child.stdout!, 'data')) as [Buffer];
  return { pid: child.pid!, port: Number(line.toString().trim()) };
}

describe('resolveTarget', () => {
  it('is every process when nothing is given', () => {
    expect(resolveTarget({})).toEqual({ description: 'all processes' });
  });

  it('resolves a thread id to its process', () => {
    const status = readFileSync('/proc/self/status', 'utf8');
    const tgid = Number(/^Tgid:\s+(\d+)/m.exec(status)![1]);
    const threads = readdirSync(`/proc/${tgid}/task`).map(Number);
    const thread = threads.find((t) => t !== tgid) ?? tgid;
    expect(resolveTarget({ pid: [thread] }).tgids).toEqual([tgid]);
  });

  it('refuses a pid that does not run', () => {
    expect(() => resolveTarget({ pid: [2 ** 31 - 2] })).toThrow(new TargetError('no process with pid 2147483646 is running on this host'));
  });

  it('finds the process listening on a TCP port', async () => {
    const { pid, port } = await listener();
    const target = resolveTarget({ port });
    expect(target.tgids).toEqual([pid]);
    expect(target.description).toBe(`port ${port}`);
  });

  it('takes in the processes serving connections accepted on the port: a server that forks one per connection', async () => {
    // Forks a child per connection that closes its listener and holds the connection (postgres's backends do).
    const server = String.raw`
import os, socket, sys
s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(4)
print(s.getsockname()[1], flush=True)
conn, _ = s.accept()
pid = os.fork()
if pid == 0:
    s.close(); conn.recv(1); os._exit(0)
print(pid, flush=True); conn.close(); conn = None
import time; time.sleep(60)
`;
    const child = spawn('/usr/bin/python3', ['-c', server], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(child);
    const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
    const next = async () => Number((await lines.next()).value);
    const port = await next();
    const client = connect(port, '127.0.0.1');
    try {
      const worker = await next();
      expect(resolveTarget({ port }).tgids?.sort()).toEqual([child.pid!, worker].sort());
      process.kill(worker, 'SIGKILL');
    } finally {
      client.destroy();
    }
  });

  it('says when nothing listens on the port', async () => {
    const { port } = await listener();
    children.splice(0).forEach((c) => c.kill('SIGKILL'));
    await new Promise((r) => setTimeout(r, 100));
    expect(() => resolveTarget({ port })).toThrow(`nothing listens on TCP port ${port} on this host`);
  });

  it('maps a cgroup v2 path to the directory inode, the kernel cgroup id', () => {
    const root = readFileSync('/proc/mounts', 'utf8')
      .split('\n')
      .find((l) => l.split(' ')[2] === 'cgroup2')
      ?.split(' ')[1];
    if (!root) return expect(() => resolveTarget({ cgroup: '/' })).toThrow(/cgroup v2/);
    expect(resolveTarget({ cgroup: '/' }).cgroupId).toBe(statSync(root, { bigint: true }).ino);
    expect(() => resolveTarget({ cgroup: 'no/such/group' })).toThrow(/cgroup no\/such\/group does not exist/);
  });

  it('refuses a unit that has no cgroup', () => {
    expect(() => resolveTarget({ unit: 'sherlock-no-such.service' })).toThrow(/unit sherlock-no-such.service has no cgroup/);
  });

  it('rejects malformed targets through the schema with what is allowed', () => {
    expect(targetSchema.safeParse({ comm: 'x'.repeat(16) }).error?.issues[0]?.message).toMatch(/at most 15 characters/);
    expect(targetSchema.safeParse({ port: 70000 }).success).toBe(false);
    expect(targetSchema.safeParse({ unit: 'a b' }).error?.issues[0]?.message).toMatch(/systemd unit name/);
    expect(targetSchema.safeParse({ pods: ['x'] }).success).toBe(false);
  });
});
