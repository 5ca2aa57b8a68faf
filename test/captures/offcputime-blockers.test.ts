// What a blocked thread waits on, read from /proc with real processes: a full
// pipe's readers (a writer that never stops writing, readers asleep, stopped,
// or the writer itself) and a file lock's holder (flock and fcntl); then
// offcputime on the real kernel, whose findings must name the reader and the
// holder.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { offcputime } from '../../src/captures/offcputime/index.js';
import { writtenPipes } from '../../src/captures/offcputime/pipe-readers.js';
import { LockWaitSampler, parseLocks } from '../../src/captures/offcputime/file-locks.js';
import { blockedSends } from '../../src/captures/offcputime/socket-peers.js';
import { parseUnixSockets } from '../../src/captures/unix-sockets.js';
import { sendLabel, sendPeerText } from '../../src/captures/offcputime/blocker-text.js';
import { analyzeRun } from '../../src/runs/analyze-run.js';
import { on, run } from '../analysis/fixtures.js';
import { bpfHandlesOf, kernelSkipReason } from '../helpers/kernel.js';
import { captureDuring } from './sched-children.js';

const PYTHON = '/usr/bin/python3';
/** Writes 4 KiB blocks to fd argv[1] for at most 30 s: blocks for good once the pipe is full and nobody reads. */
const WRITER = 'import os, sys, time\nend = time.time() + 30\nwhile time.time() < end: os.write(int(sys.argv[1]), b"x" * 4096)';
/** Makes a pipe, starts argv[2:] reading it on stdin (stopped first when argv[1] is "stop"), prints the reader's pid and writes into it. */
const PIPELINE = `import os, signal, sys
r, w = os.pipe()
reader = os.fork()
if reader == 0:
    os.dup2(r, 0)
    os.execvp(sys.argv[2], sys.argv[2:])
os.close(r)
if sys.argv[1] == 'stop':
    while open(f'/proc/{reader}/comm').read().strip() != sys.argv[2][:15]:
        pass  # stopped once it runs the reader, not before its exec
    os.kill(reader, signal.SIGSTOP)
print(reader, file=sys.stderr, flush=True)
os.dup2(w, 1)
os.close(w)
sys.argv[1:] = ['1']
exec(${JSON.stringify(WRITER)})`;
const children = new Set<ChildProcess>();
/** Children of the test's children (readers, consumers), killed by pid at the end. */
const readers = new Set<number>();

function started(file: string, args: string[]): ChildProcess {
  const child = spawn(file, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  children.add(child);
  if (child.pid === undefined) throw new Error(`${file} did not start`);
  return child;
}

/** The pid of the child `parent` started, from the first line of its stderr (killed at the end of the test). */
async function childPid(parent: ChildProcess): Promise<number> {
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    parent.stderr!.setEncoding('utf8').on('data', (c: string) => (out += c) && out.includes('\n') && resolve(out.trim()));
    parent.once('exit', () => reject(new Error(`it ended before its child started: ${out}`)));
  });
  readers.add(Number(line));
  return Number(line);
}

/** A writer filling a real pipe (its stdout) that `sleep` reads (never) or `cat` would, were it not stopped. */
async function pipeline(reader: 'asleep' | 'stopped'): Promise<{ writer: number; reader: number }> {
  const writer = started(PYTHON, ['-c', PIPELINE, reader === 'stopped' ? 'stop' : 'run', ...(reader === 'stopped' ? ['cat'] : ['sleep', '30'])]);
  return { writer: writer.pid!, reader: await childPid(writer) };
}

/** Until `what` holds, 2 s at most; else fails saying what never happened. */
async function until(what: () => boolean, label: string): Promise<void> {
  for (let i = 0; i < 100 && !what(); i++) await new Promise((r) => setTimeout(r, 20));
  if (!what()) throw new Error(`never ${label}`);
}
const stateOf = (pid: number) => readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]![0];
const wchanOf = (pid: number) => readFileSync(`/proc/${pid}/wchan`, 'utf8');

/** Until pid sleeps in a kernel function matching `wchan` (its pipe filled, its lock is taken, its peer stopped reading). */
const sleepsIn = (pid: number, wchan: RegExp) => until(() => wchan.test(wchanOf(pid)), `pid ${pid} slept in ${wchan.source}`);
const blocked = (writer: number) => sleepsIn(writer, /pipe_write/);

/** Until pid is frozen: asleep in the freezer's wait, or frozen where it slept (state D in an idle wait). */
const frozenNow = (pid: number) => until(() => /__refrigerator|get_signal|do_freezer_trap/.test(wchanOf(pid)) || stateOf(pid) === 'D', `pid ${pid} frozen`);

afterEach(() => {
  for (const c of children) c.kill('SIGKILL');
  for (const pid of readers) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
  children.clear();
  readers.clear();
});

describe('the readers of a full pipe, from /proc', () => {
  it('names the blocked descriptor and its reader, asleep', async () => {
    const { writer, reader } = await pipeline('asleep');
    await blocked(writer);
    await sleepsIn(reader, /nanosleep/); // the fork has run sleep (its pid is printed before its exec)
    const pipes = writtenPipes(writer);
    expect(pipes).toHaveLength(1);
    expect(pipes[0]).toMatchObject({ fd: 1, blockedNow: true, readers: [{ pid: reader, comm: 'sleep', state: 'S' }] });
    expect(pipes[0]!.name).toMatch(/^pipe:\[\d+\]$/);
    expect(pipes[0]!.readers[0]!.waitingIn).toMatch(/nanosleep/);
  });

  it('a stopped reader is state T', async () => {
    const { writer, reader } = await pipeline('stopped');
    await blocked(writer);
    expect(writtenPipes(writer)[0]!.readers).toEqual([expect.objectContaining({ pid: reader, comm: 'cat', state: 'T' })]);
  });

  it('a named pipe (FIFO) by its path, and a writer that holds a read end itself', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sherlock-test-fifo-'));
    try {
      const fifo = join(dir, 'app.log.fifo');
      // Opens the FIFO both ways (no other reader needed) and writes until it blocks.
      const script = `import os, sys\nr = os.open(sys.argv[1], os.O_RDONLY | os.O_NONBLOCK)\nw = os.open(sys.argv[1], os.O_WRONLY)\nexec(${JSON.stringify(WRITER)}.replace("int(sys.argv[1])", "w"))`;
      const { execFileSync } = await import('node:child_process');
      execFileSync('mkfifo', [fifo]);
      const writer = started(PYTHON, ['-c', script, fifo]);
      await blocked(writer.pid!);
      const pipes = writtenPipes(writer.pid!);
      expect(pipes).toEqual([expect.objectContaining({ name: fifo, blockedNow: true, readers: [expect.objectContaining({ pid: writer.pid })] })]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a process that is gone has no pipes', () => {
    expect(writtenPipes(2 ** 22 + 1)).toEqual([]);
  });
});

/** Takes an exclusive lock on argv[2] (flock or fcntl, by argv[1]) and holds it argv[3] s; prints "locked" once it has it. */
const LOCKER = `import fcntl, sys, time
f = open(sys.argv[2], 'a')
if sys.argv[1] == 'flock':
    fcntl.flock(f, fcntl.LOCK_EX)
else:
    fcntl.lockf(f, fcntl.LOCK_EX)
print('locked', file=sys.stderr, flush=True)
time.sleep(float(sys.argv[3]))`;

/** A holder with the lock, then a waiter blocked on it. */
async function contended(kind: 'flock' | 'fcntl', path: string): Promise<{ holder: number; waiter: number }> {
  const holder = started(PYTHON, ['-c', LOCKER, kind, path, '30']);
  await new Promise<void>((resolve, reject) => {
    holder.stderr!.on('data', (c: Buffer) => c.toString().includes('locked') && resolve());
    holder.once('exit', () => reject(new Error('the holder ended')));
  });
  const waiter = started(PYTHON, ['-c', LOCKER, kind, path, '0']);
  await sleepsIn(waiter.pid!, /lock|setlk/);
  return { holder: holder.pid!, waiter: waiter.pid! };
}

describe('the holder of a file lock, from /proc/locks', () => {
  it('parses holders and waiters, an OFD lock with no process', () => {
    const text = [
      '1: FLOCK  ADVISORY  WRITE 2701 fe:00:2146538 0 EOF',
      '1: -> FLOCK  ADVISORY  WRITE 2705 fe:00:2146538 0 EOF',
      '2: OFDLCK ADVISORY  READ  -1 00:1a:42 0 EOF',
      '2: -> OFDLCK ADVISORY  WRITE -1 00:1a:42 0 EOF',
    ].join('\n');
    expect(parseLocks(text)).toEqual([
      { id: '1', waiting: false, type: 'FLOCK', mode: 'WRITE', pid: 2701, file: 'fe:00:2146538' },
      { id: '1', waiting: true, type: 'FLOCK', mode: 'WRITE', pid: 2705, file: 'fe:00:2146538' },
      { id: '2', waiting: false, type: 'OFDLCK', mode: 'READ', pid: -1, file: '00:1a:42' },
      { id: '2', waiting: true, type: 'OFDLCK', mode: 'WRITE', pid: -1, file: '00:1a:42' },
    ]);
    const sampler = new LockWaitSampler(() => text);
    sampler.poll(true);
    sampler.poll(true);
    expect(sampler.waitsOf(2705)).toEqual([{ type: 'FLOCK', mode: 'WRITE', file: 'fe:00:2146538', seen: 2 }]); // the holder is long gone
  });

  it.each(['flock', 'fcntl'] as const)('%s: names the holder, the file and what the holder was doing', async (kind) => {
    const dir = mkdtempSync(join(tmpdir(), 'sherlock-test-lock-'));
    try {
      const path = join(dir, 'app.lock');
      const { holder, waiter } = await contended(kind, path);
      const sampler = new LockWaitSampler();
      sampler.poll(true);
      expect(sampler.waitsOf(waiter)).toEqual([
        {
          type: kind === 'flock' ? 'FLOCK' : 'POSIX',
          mode: 'WRITE',
          file: expect.stringMatching(/^[0-9a-f]+:[0-9a-f]+:\d+$/),
          path,
          holder: { pid: holder, comm: 'python3', state: 'S', waitingIn: expect.stringMatching(/nanosleep/) },
          seen: 1,
        },
      ]);
      expect(sampler.waitsOf(holder)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** Sends to a local consumer (its child) that accepts and never reads; prints the consumer's pid. */
const SENDER = `import os, socket, sys, time
s = socket.create_server(('127.0.0.1', 0))
consumer = os.fork()
if consumer == 0:
    conn, _ = s.accept()
    time.sleep(30)
    os._exit(0)
print(consumer, file=sys.stderr, flush=True)
c = socket.create_connection(('127.0.0.1', s.getsockname()[1]))
end = time.time() + 30
while time.time() < end:
    c.sendall(b'x' * 65536)`;

async function slowConsumer(): Promise<{ sender: number; consumer: number }> {
  const sender = started(PYTHON, ['-c', SENDER]);
  return { sender: sender.pid!, consumer: await childPid(sender) };
}

/** Sends on one end of a unix socket pair whose other end its child holds and never reads; prints the child's pid. */
const UNIX_SENDER = `import os, socket, sys, time
a, b = socket.socketpair()
reader = os.fork()
if reader == 0:
    a.close()
    time.sleep(30)
    os._exit(0)
b.close()
print(reader, file=sys.stderr, flush=True)
end = time.time() + 30
while time.time() < end:
    a.sendall(b'x' * 65536)`;

/** Listens on argv[1] with a backlog of 1 in a child that never accepts (its pid on stderr), and connects until a connect blocks. */
const UNIX_CONNECTER = `import os, socket, sys, time
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); srv.bind(sys.argv[1]); srv.listen(1)
listener = os.fork()
if listener == 0:
    time.sleep(30)
    os._exit(0)
srv.close()
print(listener, file=sys.stderr, flush=True)
held = [socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) for _ in range(3)]  # fds 3, 4, 5: the third waits
for c in held: c.connect(sys.argv[1])`;

describe('the peer of a connection a sender waits on, from /proc', () => {
  it("parses ss's unix sockets: names (one with a space), peers, queues", () => {
    const text = [
      'Netid State  Recv-Q Send-Q Local Address:Port  Peer Address:Port Process',
      'u_str ESTAB  233152 0      /run/app.sock 28038394 * 28038393',
      'u_dgr ESTAB  0      0      * 1084 /run/systemd/journal/dev-log 1083',
      'u_str ESTAB  0      238336 /tmp/with space.sock 77 * 78',
      'u_str LISTEN 5      4      /run/php/php-fpm.sock 3082478 * 0',
    ].join('\n');
    const sockets = parseUnixSockets(text);
    expect(sockets.get('28038394')).toEqual({
      inode: '28038394',
      path: '/run/app.sock',
      peerInode: '28038393',
      receiveQueue: 233152,
      sendQueue: 0,
      listening: false,
    });
    expect(sockets.get('1084')).toMatchObject({ path: '*', peerInode: '1083' });
    expect(sockets.get('77')).toMatchObject({ path: '/tmp/with space.sock', sendQueue: 238336 });
    // A listener's queues are its accept queue: connections waiting, and its backlog.
    expect(sockets.get('3082478')).toMatchObject({ path: '/run/php/php-fpm.sock', listening: true, receiveQueue: 5, sendQueue: 4 });
    expect(sockets.size).toBe(4);
  });

  it("a connect's listener as the finding says it: with its accept queue, or (not found: no ss here) without", () => {
    const connect = { fd: 5, local: 'unix:(unnamed)', remote: 'unix:/run/php/php-fpm.sock', sendQueue: 0 };
    const peer = { pid: 812, comm: 'php-fpm', state: 'S', waitingIn: 'ep_poll', receiveQueue: 5 };
    expect(sendPeerText([{ ...connect, accept: { queued: 5, backlog: 4 }, peer }])).toBe(
      'its listener php-fpm (pid 812) does not accept connections as fast as they come (a backlog of 4, 5 connections waiting; when the capture ended it was asleep in ep_poll)',
    );
    expect(sendPeerText([{ ...connect, accept: {} }])).toBe('its listener does not accept connections as fast as they come');
    expect(sendLabel([{ ...connect, accept: {} }])).toBe(' (fd 5, its connect to unix:/run/php/php-fpm.sock)');
  });

  it('a unix socket: the peer socket ss names, and its owner', async () => {
    const sender = started(PYTHON, ['-c', UNIX_SENDER]);
    const reader = await childPid(sender);
    await sleepsIn(sender.pid!, /sock_alloc_send_pskb/);
    const sends = blockedSends(sender.pid!);
    expect(sends).toEqual([
      expect.objectContaining({
        blockedNow: true,
        local: 'unix:(unnamed)',
        remote: 'unix:(unnamed)',
        peer: expect.objectContaining({ pid: reader, comm: 'python3', state: 'S' }),
      }),
    ]);
    expect(sends[0]!.peer!.receiveQueue).toBeGreaterThan(64 * 1024);
  });

  it('names the connection, the consumer on this host and what waits unread in its receive queue', async () => {
    const { sender, consumer } = await slowConsumer();
    await sleepsIn(sender, /wait_woken|sk_stream/);
    const sends = blockedSends(sender);
    expect(sends).toHaveLength(1);
    expect(sends[0]).toMatchObject({
      blockedNow: true,
      remote: expect.stringMatching(/^127\.0\.0\.1:\d+$/),
      peer: { pid: consumer, comm: 'python3', state: 'S' },
    });
    expect(sends[0]!.peer!.receiveQueue).toBeGreaterThan(64 * 1024);
    expect(sends[0]!.sendQueue).toBeGreaterThan(0);
  });
});

const skip = kernelSkipReason();

describe.skipIf(skip)(`offcputime names what a blocked thread waits on${skip ? ` (skipped: ${skip})` : ''}`, () => {
  afterEach(() => expect(bpfHandlesOf()).toEqual({ programIds: [], links: 0, maps: 0 }));

  it('the finding says the writer waited on a full pipe and who does not read it', async () => {
    let pids = { writer: 0, reader: 0 };
    const { result } = await captureDuring(offcputime, async () => {
      pids = await pipeline('stopped');
      await new Promise((r) => setTimeout(r, 1500));
    });
    expect(result.pipeWriters?.find((w) => w.pid === pids.writer)?.pipes[0]?.readers).toEqual([
      expect.objectContaining({ pid: pids.reader, comm: 'cat', state: 'T' }),
    ]);
    const findings = analyzeRun({ run: run({ durationMs: result.durationMs }), results: [on(result)] });
    // The stopped reader leads: the writer's wait is its effect.
    const lead = findings.find((f) => f.evidence.pid === pids.reader);
    expect(lead?.title, findings.map((f) => f.title).join(' | ')).toMatch(/^cat \(pid \d+\) spent .* stopped by a signal /);
    const mine = (lead!.evidence.steps as { evidence: { pid: number; kind: string; offCpuMs: number }; title: string }[]).find(
      (s) => s.evidence.pid === pids.writer,
    );
    expect(mine?.evidence.kind).toBe('blocked writing into a full pipe');
    expect(mine?.title).toMatch(
      /^python3 \(pid \d+\) spent [\d.]+ m?s \(\d+% of the [\d.]+ s window, summed over threads\) blocked writing into a full pipe \(fd 1, pipe:\[\d+\]\) in (anon_)?pipe_write/,
    );
    expect(mine?.title).toContain(`its reader cat (pid ${pids.reader}) does not keep up (when the capture ended it was stopped (SIGSTOP or job control))`);
    // Blocked from ~its start to the window's end, and never woken: counted by the open block alone.
    expect(Number(mine?.evidence.offCpuMs)).toBeGreaterThan(1000);
  });

  it("a waiter on a file lock: the finding names the lock's file and its holder", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sherlock-test-lock-'));
    try {
      const path = join(dir, 'app.lock');
      let pids = { holder: 0, waiter: 0 };
      const { result } = await captureDuring(offcputime, async () => {
        pids = await contended('flock', path);
        await new Promise((r) => setTimeout(r, 1000));
      });
      expect(result.lockWaiters?.find((w) => w.pid === pids.waiter)?.locks[0]).toMatchObject({ type: 'FLOCK', path, holder: { pid: pids.holder } });
      const findings = analyzeRun({ run: run({ durationMs: result.durationMs }), results: [on(result)] });
      expect(findings.find((f) => f.evidence.pid === pids.waiter)?.title).toMatch(
        new RegExp(
          `^python3 \\(pid ${pids.waiter}\\) spent .* waiting for a file lock \\(flock, on ${path}\\) in locks_lock_inode_wait called from flock: held exclusively by python3 \\(pid ${pids.holder}\\) \\(when the capture ended it was asleep in \\w*nanosleep\\)`,
        ),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a sender waiting for room in its TCP send buffer: the finding names the connection and its peer', async () => {
    let pids = { sender: 0, consumer: 0 };
    const { result } = await captureDuring(offcputime, async () => {
      pids = await slowConsumer();
      await new Promise((r) => setTimeout(r, 1000));
    });
    const findings = analyzeRun({ run: run({ durationMs: result.durationMs }), results: [on(result)] });
    const mine = findings.find((f) => f.evidence.pid === pids.sender);
    expect(mine?.evidence.kind).toBe('waiting for room in its TCP send buffer');
    expect(mine?.title).toMatch(
      new RegExp(
        `\\(fd \\d+, its connection to 127\\.0\\.0\\.1:\\d+\\) in sk_stream_wait_memory called from \\w+: its peer python3 \\(pid ${pids.consumer}\\) does not read fast enough \\([\\d.]+ [KM]iB unread in its receive queue; when the capture ended it was asleep in \\w*nanosleep, not reading\\)`,
      ),
    );
  });

  it('a blocking connect to a unix socket whose listener does not accept: the finding names the socket and the listener, with its accept queue', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sherlock-test-accept-'));
    try {
      const path = join(dir, 'app.sock');
      let pids = { client: 0, listener: 0 };
      const { result } = await captureDuring(offcputime, async () => {
        const client = started(PYTHON, ['-c', UNIX_CONNECTER, path]);
        pids = { client: client.pid!, listener: await childPid(client) };
        await new Promise((r) => setTimeout(r, 1000));
      });
      const sends = result.socketWriters?.find((w) => w.pid === pids.client)?.sends;
      expect(sends?.[0]).toMatchObject({ remote: `unix:${path}`, accept: { backlog: 1, queued: 2 }, peer: { pid: pids.listener, comm: 'python3' } });
      const findings = analyzeRun({ run: run({ durationMs: result.durationMs }), results: [on(result)] });
      const mine = findings.find((f) => f.evidence.pid === pids.client);
      expect(mine?.evidence.kind).toBe("waiting for a unix socket's listener to accept its connection (the listener's accept queue is full)");
      expect(mine?.title).toContain(
        `(fd 5, its connect to unix:${path}) in unix_wait_for_peer called from connect: its listener python3 (pid ${pids.listener}) does not accept connections as fast as they come (a backlog of 1, 2 connections waiting; when the capture ended it was asleep in`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a writer blocked since before the window began: the whole window, with its kernel stack from /proc', async () => {
    const pids = await pipeline('stopped');
    await blocked(pids.writer);
    const { result } = await captureDuring(offcputime, () => new Promise((r) => setTimeout(r, 1000)));
    expect(result.blockedThroughout).toBeGreaterThanOrEqual(1);
    const stacks = result.stacks.filter((s) => s.pid === pids.writer);
    expect(stacks).toHaveLength(1);
    expect(stacks[0]!.blocks).toBe(1);
    expect(stacks[0]!.value).toBeGreaterThan(result.durationMs * 1000 * 0.9);
    expect(stacks[0]!.value).toBeLessThan(result.durationMs * 1000 * 1.2);
    expect(stacks[0]!.frames.map((f) => f.name)).toContain('ksys_write');
    const findings = analyzeRun({ run: run({ durationMs: result.durationMs }), results: [on(result)] });
    // Led by the stopped reader, the writer's wait its effect.
    expect(findings.find((f) => f.evidence.pid === pids.reader)?.title).toContain(`Effect: python3 (pid ${pids.writer}) spent`);
    expect(findings.find((f) => f.evidence.pid === pids.reader)?.title).toContain(`its reader cat (pid ${pids.reader}) does not keep up`);
    // Idle threads asleep all window (this test's own, in epoll and futexes) are not read from /proc: only the kernel frames of those are.
    expect(result.stacks.filter((s) => s.pid === process.pid && s.frames.every((f) => f.kind === 'kernel'))).toEqual([]);
  });

  /** A sleeper named argv[1] that naps argv[2] s between system calls, for up to 30 s. */
  const SLEEPER =
    'import ctypes, os, sys, time\nctypes.CDLL(None).prctl(15, sys.argv[1].encode(), 0, 0, 0)\nend = time.time() + 30\nwhile time.time() < end: os.getppid(); time.sleep(float(sys.argv[2]))';
  const sleeper = (name: string, nap: number) => started(PYTHON, ['-c', SLEEPER, name, String(nap)]).pid!;
  it('a process stopped by SIGSTOP, since before the window or in it while asleep in nanosleep: critical, each counted from its stop', async () => {
    const before = sleeper('stopped-before', 0.002);
    const during = sleeper('stopped-during', 0.002);
    await new Promise((r) => setTimeout(r, 200));
    process.kill(before, 'SIGSTOP');
    await until(() => stateOf(before) === 'T', 'stopped');
    const { result } = await captureDuring(offcputime, async () => {
      await new Promise((r) => setTimeout(r, 400));
      process.kill(during, 'SIGSTOP'); // asleep in nanosleep, an idle syscall: stopped, not idle
      await new Promise((r) => setTimeout(r, 800));
    });
    const findings = analyzeRun({ run: run({ durationMs: result.durationMs }), results: [on(result)] });
    for (const pid of [before, during]) {
      const f = findings.find((x) => x.evidence.pid === pid);
      expect(f?.title, findings.map((x) => x.title).join(' | ')).toMatch(
        new RegExp(
          `^stopped-\\w+ \\(pid ${pid}\\) spent [\\d.]+ m?s \\(\\d+% of the [\\d.]+ s window, summed over threads\\) stopped by a signal .* in do_signal_stop: it runs nothing until it gets SIGCONT`,
        ),
      );
      expect(f!.severity).toBe('critical');
    }
    const ms = (pid: number) => Number(findings.find((x) => x.evidence.pid === pid)!.evidence.offCpuMs);
    expect(ms(before)).toBeGreaterThan(result.durationMs * 0.9);
    expect(ms(during)).toBeGreaterThan(600);
    expect(ms(during)).toBeLessThan(result.durationMs * 0.9);
  });

  it('a process under strace: its stops for the tracer, with the tracer named', async () => {
    const traced = sleeper('traced', 0.0002); // a system call every ~0.3 ms: its stops add up
    const strace = started('strace', ['-o', '/dev/null', '-p', String(traced)]);
    await until(() => /TracerPid:\s*[1-9]/.test(readFileSync(`/proc/${traced}/status`, 'utf8')), 'traced');
    const { result } = await captureDuring(offcputime, () => new Promise((r) => setTimeout(r, 1000)));
    expect(result.traced).toEqual([
      { pid: traced, tracer: expect.objectContaining({ pid: strace.pid, comm: 'strace', command: `strace -o /dev/null -p ${traced}` }) },
    ]);
    const findings = analyzeRun({ run: run({ durationMs: result.durationMs }), results: [on(result)] });
    const f = findings.find((x) => x.evidence.pid === traced);
    expect(f?.title, findings.map((x) => x.title).join(' | ')).toMatch(
      new RegExp(
        `stopped for its tracer .* in ptrace_stop, [\\d,]+ waits of .*: its tracer strace \\(pid ${strace.pid}: strace -o /dev/null -p ${traced}\\) stops it at each system call`,
      ),
    );
  });

  const freezerSkip = freezerSkipReason();
  it.skipIf(freezerSkip)(
    `a process frozen by its cgroup since before the window (v1 freezer, v2 cgroup.freeze): the whole window, the cgroup named${freezerSkip ? ` (skipped: ${freezerSkip})` : ''}`,
    async () => {
      const cgroups = [frozenCgroup('v1'), frozenCgroup('v2')];
      try {
        const sleepers = cgroups.map((c) => c.start());
        for (const c of cgroups) c.freeze();
        // Frozen: in the freezer's wait, or (6.1+) where it slept, in state D.
        for (const p of sleepers) await frozenNow(p);
        const { result } = await captureDuring(offcputime, () => new Promise((r) => setTimeout(r, 1000)));
        const findings = analyzeRun({ run: run({ durationMs: result.durationMs }), results: [on(result)] });
        for (const [i, c] of cgroups.entries()) {
          const f = findings.find((x) => x.evidence.pid === sleepers[i]);
          expect(f, `pid ${sleepers[i]} among ${findings.map((x) => x.title).join(' | ')}`).toBeDefined();
          expect(f!.severity).toBe('critical');
          expect(f!.title).toMatch(
            new RegExp(
              `^python3 \\(pid ${sleepers[i]}\\) spent [\\d.]+ m?s \\((9\\d|100)% of the [\\d.]+ s window, summed over threads\\) frozen in \\w+: cgroup /${c.name} froze it \\(${c.hierarchy} ${c.setting}\\): it runs nothing until thawed; next: thaw it`,
            ),
          );
        }
      } finally {
        for (const c of cgroups) c.remove();
      }
    },
  );

  it.skipIf(freezerSkip)(
    `a sleeper frozen in the middle of the window, asleep in an idle syscall the program skips: counted from its last run${freezerSkip ? ` (skipped: ${freezerSkip})` : ''}`,
    async () => {
      const cgroup = frozenCgroup('v2');
      try {
        const sleeper = cgroup.start();
        await new Promise((r) => setTimeout(r, 200)); // in its sleep loop
        const { result } = await captureDuring(offcputime, async () => {
          await new Promise((r) => setTimeout(r, 400));
          cgroup.freeze();
          await new Promise((r) => setTimeout(r, 800));
        });
        const findings = analyzeRun({ run: run({ durationMs: result.durationMs }), results: [on(result)] });
        const f = findings.find((x) => x.evidence.pid === sleeper);
        expect(f?.title, findings.map((x) => x.title).join(' | ')).toContain(`frozen in get_signal: cgroup /${cgroup.name} froze it`);
        // About the time it was frozen (~0.8 s of the window), not the whole window.
        expect(Number(f!.evidence.offCpuMs)).toBeGreaterThan(500);
        expect(Number(f!.evidence.offCpuMs)).toBeLessThan(result.durationMs * 0.9);
      } finally {
        cgroup.remove();
      }
    },
  );
});

const FREEZER_V1 = '/sys/fs/cgroup/freezer';
const CGROUP_V2 = ['/sys/fs/cgroup/unified', '/sys/fs/cgroup'].find((d) => existsSync(join(d, 'cgroup.controllers')));

function freezerSkipReason(): string | undefined {
  if (!existsSync(join(FREEZER_V1, 'cgroup.procs'))) return `no cgroup v1 freezer at ${FREEZER_V1}`;
  if (!CGROUP_V2) return 'no cgroup v2 hierarchy';
  if (process.getuid?.() !== 0) return 'needs root to freeze a cgroup';
  return undefined;
}

/** A cgroup of either hierarchy with a sleeping python3 in it, frozen on demand; remove() thaws, kills and removes. */
function frozenCgroup(hierarchy: 'v1' | 'v2') {
  const name = `sherlock-test-frozen-${hierarchy}-${process.pid}`;
  const dir = join(hierarchy === 'v1' ? FREEZER_V1 : CGROUP_V2!, name);
  const [file, frozen, thawed] = hierarchy === 'v1' ? ['freezer.state', 'FROZEN', 'THAWED'] : ['cgroup.freeze', '1', '0'];
  mkdirSync(dir);
  let child: ChildProcess | undefined;
  return {
    name,
    hierarchy,
    setting: `${file} ${frozen}`,
    start() {
      child = started('sh', ['-c', `echo $$ > ${join(dir, 'cgroup.procs')} && exec ${PYTHON} -c 'import time\nwhile True: time.sleep(0.01)'`]);
      // Frozen only once it runs python: a freeze between the shell's write and its exec would freeze "sh".
      for (let i = 0; i < 100 && readFileSync(`/proc/${child.pid}/comm`, 'utf8').trim() !== 'python3'; i++) execFileSync('sleep', ['0.02']);
      return child.pid!;
    },
    freeze: () => writeFileSync(join(dir, file), frozen),
    remove() {
      writeFileSync(join(dir, file), thawed);
      child?.kill('SIGKILL');
      for (let i = 0; i < 100 && readFileSync(join(dir, 'cgroup.procs'), 'utf8').trim(); i++) execFileSync('sleep', ['0.02']);
      rmdirSync(dir);
    },
  };
}
