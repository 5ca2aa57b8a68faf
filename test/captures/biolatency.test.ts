// biolatency against the real kernel: O_DIRECT reads this test makes (dd on a
// temp file) must land in the histogram of the disk under the temp dir.
// Skips, saying why, when the temp dir is not on a block device that takes
// direct I/O (tmpfs, overlay without a real disk, a filesystem refusing O_DIRECT).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { biolatency } from '../../src/captures/biolatency/index.js';
import { captureAround, type CaptureAroundOptions } from '../helpers/capture-around.js';
import { bpfHandlesOf, kernelSkipReason, stillLoaded } from '../helpers/kernel.js';

const BLOCK = 4096;
const READS = 256;

/** The disks (as /sys/block names) that serve the temp dir, or why there are none that take direct I/O. */
function findDisk(dir: string): { disks: string[] } | { skip: string } {
  const dev = statSync(dir, { bigint: true }).dev;
  const major = Number(((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn));
  const minor = Number((dev & 0xffn) | ((dev >> 12n) & ~0xffn));
  const mounts = readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .map((l) => l.split(' '));
  const mount = mounts.filter((m) => m[1] && (dir === m[1] || dir.startsWith(m[1] === '/' ? '/' : `${m[1]}/`))).sort((a, b) => b[1]!.length - a[1]!.length)[0];
  const where = `${dir} is on ${mount?.[2] ?? 'an unknown filesystem'} (${mount?.[0] ?? '?'}, device ${major}:${minor})`;
  const sysdev = `/sys/dev/block/${major}:${minor}`;
  if (!existsSync(sysdev)) return { skip: `${where}, not a block device` };
  const real = realpathSync(sysdev);
  const disk = existsSync(join(real, 'partition')) ? basename(dirname(real)) : basename(real);
  if (!existsSync(`/sys/block/${disk}`)) return { skip: `${where}: no /sys/block entry for ${disk}` };
  // A device-mapper or md disk hands its requests to the disks below it.
  const slaves = existsSync(`/sys/block/${disk}/slaves`) ? readdirSync(`/sys/block/${disk}/slaves`) : [];
  const probe = spawnSync('dd', ['if=/dev/zero', `of=${join(dir, 'probe')}`, `bs=${BLOCK}`, 'count=1', 'oflag=direct', 'status=none'], {
    encoding: 'utf8',
    timeout: 10_000,
  });
  if (probe.status !== 0) return { skip: `${where}: O_DIRECT writes fail (${(probe.stderr || probe.error?.message || '').trim()})` };
  return { disks: [disk, ...slaves] };
}

const probeDir = mkdtempSync(join(tmpdir(), 'sherlock-biolatency-probe-'));
const found = (() => {
  try {
    return findDisk(probeDir);
  } finally {
    rmSync(probeDir, { recursive: true, force: true });
  }
})();
const skip = kernelSkipReason() ?? ('skip' in found ? found.skip : undefined);

function dd(args: string[]): Promise<{ pid: number; code: number | null }> {
  const child = spawn('dd', [...args, 'status=none'], { stdio: 'ignore' });
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ pid: child.pid!, code });
    });
  });
}

const captureDuring = (during: () => Promise<void>, request: CaptureAroundOptions = {}) => captureAround(biolatency, during, { settleMs: 100, ...request });

describe.skipIf(skip)(`biolatency on the real kernel${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const disks = 'disks' in found ? found.disks : [];
  let dir = '';

  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    expect(bpfHandlesOf()).toEqual({ programIds: [], links: 0, maps: 0 });
  });

  it(`puts ${READS} O_DIRECT reads of a temp file in the histogram of its disk, in µs, and leaves nothing loaded`, async () => {
    dir = mkdtempSync(join(tmpdir(), 'sherlock-biolatency-'));
    const file = join(dir, 'data');
    const { result, programIds } = await captureDuring(async () => {
      const w = await dd(['if=/dev/zero', `of=${file}`, `bs=${BLOCK}`, `count=${READS}`, 'oflag=direct', 'conv=fsync']);
      const r = await dd([`if=${file}`, 'of=/dev/null', `bs=${BLOCK}`, 'iflag=direct']);
      expect([w.code, r.code]).toEqual([0, 0]);
    });
    expect(programIds.length).toBeGreaterThan(0);
    expect(stillLoaded(programIds)).toEqual([]);

    const mine = result.histograms.filter((h) => disks.includes(String(h.labels.disk)));
    expect(mine.length).toBeGreaterThan(0);
    const count = mine.reduce((n, h) => n + h.histogram.count, 0);
    // Every direct read is at least one request (other I/O on the disk may add more).
    expect(count).toBeGreaterThanOrEqual(READS);
    for (const h of mine) {
      expect(h.histogram.unit).toBe('usecs');
      expect(h.histogram.buckets.reduce((n, b) => n + b.count, 0)).toBe(h.histogram.count);
      expect(h.histogram.sum).toBeGreaterThan(0);
    }
    expect(biolatency.text!(result)).toContain(`disk = ${mine[0]!.labels.disk}`);
  });

  it('with a pid target, counts the requests that process issued', async () => {
    dir = mkdtempSync(join(tmpdir(), 'sherlock-biolatency-'));
    const file = join(dir, 'data');
    const w = await dd(['if=/dev/zero', `of=${file}`, `bs=${BLOCK}`, `count=${READS}`, 'oflag=direct', 'conv=fsync']);
    expect(w.code).toBe(0);
    // The target shell waits for a line, then becomes dd (same pid): direct reads issue in its context.
    const target = spawn('/bin/sh', ['-c', `read go; exec dd if=${file} of=/dev/null bs=${BLOCK} iflag=direct status=none`], {
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    const exited = new Promise<number | null>((resolve) => target.once('exit', resolve));
    const { result } = await captureDuring(
      async () => {
        target.stdin!.end('go\n');
        expect(await exited).toBe(0);
      },
      { target: { pid: [target.pid!] } },
    );
    const count = result.histograms.filter((h) => disks.includes(String(h.labels.disk))).reduce((n, h) => n + h.histogram.count, 0);
    // Direct reads are issued from the reader's own context unless the queue is
    // run from a kworker; most must be attributed to it.
    expect(count).toBeGreaterThanOrEqual(READS / 2);
    expect(result.histograms.every((h) => disks.includes(String(h.labels.disk)))).toBe(true);
  });
});
