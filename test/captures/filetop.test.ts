// filetop against the real kernel: a child this test spawns writes then reads
// 10 MiB of a named temp file, reads /dev/zero, writes to a pipe and to a socket;
// its rows must carry those bytes, that path, its pid and its parent's, and
// label the device, the pipe and the socket. And
// each filesystem's writers, summed over more files than the rows keep.
import { execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { filetop, type FileRow } from '../../src/captures/filetop/index.js';
import { runCapture } from '../../src/captures/run-capture.js';
import { captureAround, type CaptureAroundOptions } from '../helpers/capture-around.js';
import { bpfHandlesOf, kernelSkipReason, stillLoaded } from '../helpers/kernel.js';

const skip = kernelSkipReason();
const MiB = 1024 * 1024;
const CHUNK = 64 * 1024;

/** The child: 10 MiB written then read back in 64 KiB calls, bytes to its stdout
 * (a pipe into cat) and a JSON report on stderr (a socket pair from spawn). */
const CHILD = String.raw`
const fs = require('node:fs');
const file = process.argv[2];
const total = Number(process.argv[3]);
const chunk = Buffer.alloc(${CHUNK}, 0x5a);
let fd = fs.openSync(file, 'w');
let written = 0;
while (written < total) written += fs.writeSync(fd, chunk, 0, Math.min(chunk.length, total - written));
fs.closeSync(fd);
fd = fs.openSync(file, 'r');
let read = 0, n;
while ((n = fs.readSync(fd, chunk, 0, chunk.length)) > 0) read += n;
fs.closeSync(fd);
fs.readFileSync('/proc/self/stat'); // another mount: the path walk crosses into / at /proc
fs.readSync(fs.openSync('/dev/zero', 'r'), chunk); // a character device: no storage
let piped = 0;
for (let i = 0; i < 10; i++) piped += fs.writeSync(1, chunk, 0, 10000);
const report = JSON.stringify({ pid: process.pid, ppid: process.ppid, written, read, piped,
  pipe: fs.readlinkSync('/proc/self/fd/1'), socket: fs.readlinkSync('/proc/self/fd/2') });
fs.writeSync(2, report + '\n');
`;

interface ChildReport {
  pid: number;
  ppid: number;
  written: number;
  read: number;
  piped: number;
  pipe: string;
  socket: string;
}

/** Runs the child as `node child.cjs FILE BYTES | cat`; resolves with its report. */
function runChild(dir: string, file: string, bytes: number): Promise<ChildReport> {
  const script = join(dir, 'child.cjs');
  writeFileSync(script, CHILD);
  const child = spawn('/bin/sh', ['-c', `"$0" "$1" "$2" "$3" | cat >/dev/null`, process.execPath, script, file, String(bytes)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      const line = stderr.trim().split('\n').at(-1) ?? '';
      if (code !== 0 || !line.startsWith('{')) return reject(new Error(`child failed (${code}): ${stderr}`));
      resolve(JSON.parse(line) as ChildReport);
    });
  });
}

const captureDuring = <T>(during: () => Promise<T>, request: CaptureAroundOptions = {}) =>
  captureAround(filetop, during, { params: { maxRows: 1_000_000 }, ...request });

const within1pct = (actual: number, expected: number) => {
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(expected * 0.01);
};

describe.skipIf(skip)(`filetop on the real kernel${skip ? ` (skipped: ${skip})` : ''}`, () => {
  afterEach(() => {
    expect(bpfHandlesOf()).toEqual({ programIds: [], links: 0, maps: 0 });
  });

  it('counts 10 MiB written and read to that path and pid, labels its pipe and socket, leaves nothing loaded', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sherlock-filetop-'));
    const file = join(dir, `data-${randomUUID()}`);
    try {
      const { result, programIds, value: child } = await captureDuring(() => runChild(dir, file, 10 * MiB));
      expect(programIds.length).toBeGreaterThan(0);
      expect(stillLoaded(programIds)).toEqual([]);
      expect(child.written).toBe(10 * MiB);
      expect(child.read).toBe(10 * MiB);

      const mine = result.rows.filter((r) => r.pid === child.pid);
      const data = mine.filter((r) => r.path === file);
      expect(data).toHaveLength(1);
      const row = data[0] as FileRow;
      // Its parent is the shell of the pipeline, read while it ran (the shell is gone by now).
      expect(row).toMatchObject({ kind: 'file', comm: 'node', ppid: child.ppid });
      expect(child.ppid).not.toBe(process.pid);
      within1pct(row.writeBytes, child.written);
      within1pct(row.readBytes, child.read);
      expect(row.writes).toBeGreaterThanOrEqual(child.written / CHUNK);
      expect(row.reads).toBeGreaterThanOrEqual(child.read / CHUNK);
      // Nobody else touched our file.
      expect(result.rows.filter((r) => r.path === file && r.pid !== child.pid)).toEqual([]);

      // /proc is its own mount: the walk crossed it.
      expect(mine.find((r) => r.path === `/proc/${child.pid}/stat`)?.readBytes).toBeGreaterThan(0);
      expect(mine.find((r) => r.path === '/dev/zero')).toMatchObject({ kind: 'chardev', readBytes: CHUNK });

      // stdout is a pipe into cat, stderr a socket pair: /proc names them the same way.
      expect(child.pipe).toMatch(/^pipe:\[\d+\]$/);
      expect(child.socket).toMatch(/^socket:\[\d+\]$/);
      const pipe = mine.find((r) => r.path === child.pipe);
      expect(pipe).toMatchObject({ kind: 'pipe', writes: 10, writeBytes: child.piped });
      const socket = mine.find((r) => r.path === child.socket);
      expect(socket?.kind).toBe('socket');
      expect(socket?.writeBytes).toBeGreaterThan(0);
      expect(result.dropped).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps maxRows rows, the most bytes first, and rejects settings outside the schema', async () => {
    const { result } = await captureDuring(async () => {}, { params: { maxRows: 3 } });
    expect(result.rows.length).toBeLessThanOrEqual(3);
    expect(result.totalFiles).toBeGreaterThanOrEqual(result.rows.length);
    const bytes = result.rows.map((r) => r.readBytes + r.writeBytes);
    expect(bytes).toEqual([...bytes].sort((a, b) => b - a));
    await expect(runCapture(filetop, { durationMs: 1000, params: { maxRows: 0 } })).rejects.toThrow(/maxRows/);
    await expect(runCapture(filetop, { durationMs: 1000, params: { bogus: 1 } })).rejects.toThrow(/bogus/);
  });

  it("sums each filesystem's writers over every file counted, beyond the rows kept", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sherlock-filetop-'));
    try {
      // 40 files of 4 KiB from one process: more files than rows kept.
      const script = `const fs = require('node:fs'); for (let i = 0; i < 40; i++) fs.writeFileSync('${dir}/f' + i, Buffer.alloc(4096, 1)); process.stdout.write(String(process.pid));`;
      const { result, value: pid } = await captureAround(
        filetop,
        () =>
          new Promise<number>((resolve, reject) => {
            const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'ignore'] });
            let out = '';
            child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
            child.once('error', reject);
            child.once('close', (code) => (code === 0 ? resolve(Number(out)) : reject(new Error(`writer exited ${code}`))));
          }),
        { params: { maxRows: 3 } },
      );
      expect(result.rows.filter((r) => r.pid === pid).length).toBeLessThanOrEqual(3);
      const device = execFileSync('stat', ['-c', '%Hd:%Ld', dir], { encoding: 'utf8' }).trim();
      const writer = result.writers?.find((f) => f.device === device)?.writers.find((w) => w.pid === pid);
      expect(writer).toMatchObject({ files: 40, writeBytes: 40 * 4096, dir, comm: 'node' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('filetop paths', () => {
  it('joins the walked names leaf first, and names pseudo, cut and deleted files', async () => {
    const { pathOf, kindOfMode, PATH_DELETED, PATH_PSEUDO, PATH_TRUNCATED } = await import('../../src/captures/filetop/decode.js');
    const rec = (mode: number, names: string[], flags = 0) => ({ key: { tgid: 1, dev: 1, ino: 42n }, mode, comm: 'x', names, flags });
    expect(pathOf(rec(0o100644, ['c', 'b', 'a']))).toBe('/a/b/c');
    expect(pathOf(rec(0o40755, []))).toBe('/');
    expect(pathOf(rec(0o100644, ['c', 'b'], PATH_TRUNCATED))).toBe('…/b/c');
    expect(pathOf(rec(0o100644, ['tmp1', 'tmp'], PATH_DELETED))).toBe('/tmp/tmp1 (deleted)');
    expect(pathOf(rec(0o140777, ['UNIX-STREAM'], PATH_PSEUDO))).toBe('socket:[42]');
    expect(pathOf(rec(0o10600, [''], PATH_PSEUDO))).toBe('pipe:[42]');
    expect(pathOf(rec(0o600, ['[eventfd]'], PATH_PSEUDO))).toBe('[eventfd]');
    expect(pathOf(rec(0o10644, ['fifo', 'tmp']))).toBe('/tmp/fifo'); // a named FIFO keeps its path
    expect([0o100644, 0o140777, 0o10600, 0o20666, 0o60660].map(kindOfMode)).toEqual(['file', 'socket', 'pipe', 'chardev', 'other']);
  });
});
