// opensnoop against the real kernel: opens this test's children make (a
// missing path, a read-only open, a create) must show up with their path,
// decoded flags, mode, fd or errno, and the opener's pid; nothing may stay loaded.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { opensnoop, type OpenEvent } from '../../src/captures/opensnoop/index.js';
import { runCapture } from '../../src/captures/run-capture.js';
import { memoryCgroupMount } from '../../src/cgroups/mount.js';
import { captureAround, type CaptureAroundOptions } from '../helpers/capture-around.js';
import { dockerLikeMemcg } from '../helpers/cgroups.js';
import { bpfHandlesOf, kernelSkipReason, stillLoaded } from '../helpers/kernel.js';

const skip = kernelSkipReason();

const captureDuring = (during: () => Promise<void>, request: CaptureAroundOptions = {}) => captureAround(opensnoop, during, { durationMs: 20_000, ...request });

/** Runs a program to its exit; resolves with its pid, exit code and stdout. */
function run(file: string, args: string[], stdin?: string): Promise<{ pid: number; code: number | null; stdout: string }> {
  const child = spawn(file, args, { stdio: [stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'ignore'] });
  let stdout = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  if (stdin !== undefined) child.stdin!.end(stdin);
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ pid: child.pid!, code, stdout });
    });
  });
}

/** A node child that opens `path` read-only and `created` for writing (mode 0640) and prints both fds. */
const OPENER = String.raw`
const fs = require('node:fs');
const [path, created] = process.argv.slice(1);
const ro = fs.openSync(path, 'r');
const wo = fs.openSync(created, 'w', 0o640);
process.stdout.write(JSON.stringify({ ro, wo }));
`;

describe.skipIf(skip)(`opensnoop on the real kernel${skip ? ` (skipped: ${skip})` : ''}`, () => {
  afterEach(() => {
    expect(bpfHandlesOf()).toEqual({ programIds: [], links: 0, maps: 0 });
  });

  it('records a missing path as ENOENT and successful opens with fd, flags and mode, by the opener’s pid', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sherlock-opensnoop-'));
    const marker = `sherlock-${randomUUID()}`;
    const missing = join(dir, `${marker}-missing`);
    const existing = join(dir, `${marker}-existing`);
    const created = join(dir, `${marker}-created`);
    writeFileSync(existing, 'x');
    try {
      let cat = { pid: 0, code: null as number | null };
      let opener = { pid: 0, code: null as number | null, stdout: '' };
      const { result, programIds } = await captureDuring(async () => {
        cat = await run('/bin/cat', [missing]);
        opener = await run(process.execPath, ['-e', OPENER, existing, created]);
      });
      expect(programIds.length).toBeGreaterThan(0);
      expect(stillLoaded(programIds)).toEqual([]);
      expect(cat.code).not.toBe(0);
      expect(opener.code).toBe(0);
      const mine = (path: string) => result.events.filter((e) => e.path === path);

      const failed = mine(missing);
      expect(failed).toHaveLength(1);
      expect(failed[0]).toMatchObject({ pid: cat.pid, comm: 'cat', retval: -2, error: 'ENOENT', uid: process.getuid!() });
      expect(failed[0]!.fd).toBeUndefined();
      expect(failed[0]!.flagNames).toMatch(/^O_RDONLY\b/);

      const fds = JSON.parse(opener.stdout) as { ro: number; wo: number };
      const ro = mine(existing);
      expect(ro).toHaveLength(1);
      expect(ro[0]).toMatchObject({ pid: opener.pid, fd: fds.ro, retval: fds.ro, flagNames: 'O_RDONLY|O_CLOEXEC' });
      expect(ro[0]!.mode).toBeUndefined();
      expect(ro[0]!.error).toBeUndefined();

      const wo = mine(created);
      expect(wo).toHaveLength(1);
      expect(wo[0]).toMatchObject({ pid: opener.pid, fd: fds.wo, flagNames: 'O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC', mode: '0640' });
      expect(['openat', 'open', 'openat2']).toContain(wo[0]!.syscall);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.skipIf(!memoryCgroupMount())('names the container of a process gone by the drain, by its memory cgroup', async () => {
    const marker = `/tmp/sherlock-${randomUUID()}-missing`;
    const scope = dockerLikeMemcg('open')!;
    try {
      const { result } = await captureDuring(async () => {
        await run('/bin/sh', ['-c', `echo $$ > ${scope.dir}/cgroup.procs && exec /bin/cat ${marker}`]);
      });
      const opens = result.events.filter((e) => e.path === marker);
      expect(opens).toHaveLength(1);
      expect(opens[0]).toMatchObject({ container: scope.containerId, cgroup: scope.path, error: 'ENOENT' });
    } finally {
      expect(await scope.remove()).toEqual([]);
    }
  });

  it('with a pid target, shows only that process’s opens', async () => {
    const marker = `/nonexistent/sherlock-${randomUUID()}`;
    // The target shell waits for a line on stdin, then opens (redirects from) the marker path.
    const target = spawn('/bin/sh', ['-c', `read go; : < ${marker}-in; true`], { stdio: ['pipe', 'ignore', 'ignore'] });
    const targetExit = new Promise((resolve) => target.once('exit', resolve));
    const { result } = await captureDuring(
      async () => {
        target.stdin!.end('go\n');
        await Promise.all([targetExit, run('/bin/cat', [`${marker}-out`])]);
      },
      { target: { pid: [target.pid!] } },
    );
    const seen = result.events.filter((e: OpenEvent) => e.path.startsWith(marker));
    expect(seen.map((e) => [e.path, e.pid, e.error])).toEqual([[`${marker}-in`, target.pid, 'ENOENT']]);
  });

  it('counts events past maxEvents as dropped, never silently', async () => {
    const marker = `/nonexistent/sherlock-${randomUUID()}`;
    const { result } = await captureDuring(
      async () => {
        for (let i = 0; i < 5; i++) await run('/bin/cat', [`${marker}-${i}`]);
      },
      { params: { maxEvents: 2 } },
    );
    expect(result.events).toHaveLength(2);
    expect(result.drops.event_cap).toBeGreaterThanOrEqual(3);
    await expect(runCapture(opensnoop, { durationMs: 1000, params: { maxEvents: 0 } })).rejects.toThrow(/maxEvents/);
  });
});

describe('open flag names', () => {
  it('names the access mode and each flag, composite flags once, unknown bits in hex', async () => {
    const { flagNames, createsFile } = await import('../../src/captures/opensnoop/decode.js');
    expect(flagNames(0, 'x64')).toBe('O_RDONLY');
    expect(flagNames(0o2000000, 'x64')).toBe('O_RDONLY|O_CLOEXEC');
    expect(flagNames(0o1 | 0o100 | 0o1000 | 0o2000000, 'x64')).toBe('O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC');
    expect(flagNames(0o2 | 0o4010000, 'x64')).toBe('O_RDWR|O_SYNC'); // O_SYNC = __O_SYNC|O_DSYNC
    expect(flagNames(0o2 | 0o20200000, 'x64')).toBe('O_RDWR|O_TMPFILE'); // O_TMPFILE = __O_TMPFILE|O_DIRECTORY
    expect(flagNames(0o200000, 'x64')).toBe('O_RDONLY|O_DIRECTORY');
    expect(flagNames(0o40000, 'arm64')).toBe('O_RDONLY|O_DIRECTORY');
    expect(flagNames(0o40000, 'x64')).toBe('O_RDONLY|O_DIRECT');
    expect(flagNames(2n ** 40n, 'x64')).toBe('O_RDONLY|0x10000000000');
    expect(createsFile(0o100, 'x64')).toBe(true);
    expect(createsFile(0o20200002, 'x64')).toBe(true);
    expect(createsFile(0o2000000, 'x64')).toBe(false);
  });
});
