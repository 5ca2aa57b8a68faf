// fsfill on this host: a tmpfs and an ext4 filesystem (on a loop device, made
// here) that a job fills with files while the window runs. Read once a second
// with statfs, each climbs reading after reading and the check says when it is
// full at that rate: the tmpfs at its size (Sherlock's own spool on it left
// out), the disk when what a process without root may write is gone; space
// held by a deleted file still open is named with its holder. A filesystem
// with little room left is named growing or not.
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { mergeThresholds } from '../../src/analysis/common.js';
import { fsfill, type FsfillData } from '../../src/captures/fsfill/index.js';
import { runCapture } from '../../src/captures/run-capture.js';
import { readText } from '../../src/util/read-text.js';
import { loopExt4SkipReason, mountLoopExt4, mountTmpfs, type TestFilesystem } from '../helpers/test-filesystems.js';

const MiB = 1024 * 1024;
const PYTHON = '/usr/bin/python3';

const analyze = (data: FsfillData, windowSeconds: number) =>
  fsfill.analysis!.analyze(data as never, { node: 'n1', capture: 'fsfill', file: 'f', thresholds: mergeThresholds(), windowSeconds }).findings;

/** Writes `files` files of `mib` MiB into `dir`, one every 200 ms (and some into `alsoDir`), then sleeps. */
function writer(dir: string, files: number, mib: number, alsoDir?: string) {
  const script = [
    'import os, time',
    `for i in range(${files}):`,
    `    open(os.path.join('${dir}', f'export-{i}'), 'wb').write(b'x' * (${mib} << 20))`,
    ...(alsoDir ? [`    if i % 3 == 0: open(os.path.join('${alsoDir}', f'events-{i}'), 'wb').write(b'x' * (${mib} << 20))`] : []),
    '    time.sleep(0.2)',
    'time.sleep(20)',
  ].join('\n');
  return spawn(PYTHON, ['-c', script], { stdio: 'ignore' });
}

/** Creates `perSecond` files of 100 bytes a second in `dir` (sessions, a mail queue), until killed. */
function creator(dir: string, perSecond: number) {
  const script = [
    'import os, time',
    'start, n = time.monotonic(), 0',
    'while True:',
    `    open(os.path.join('${dir}', f'sess-{n}'), 'wb').write(b'x' * 100)`,
    '    n += 1',
    `    ahead = n / ${perSecond} - (time.monotonic() - start)`,
    '    if ahead > 0: time.sleep(ahead)',
  ].join('\n');
  return spawn(PYTHON, ['-c', script], { stdio: 'ignore' });
}

const deviceOf = (mount: string) => execFileSync('mountpoint', ['-d', mount], { encoding: 'utf8' }).trim();

describe('fsfill: filesystems filling up', () => {
  let made: TestFilesystem | undefined;
  afterEach(() => {
    made?.remove();
    made = undefined;
  });

  it('a tmpfs: its used bytes once a second, when it is full at that rate, its spool left out', async () => {
    made = mountTmpfs('256m');
    const { mount } = made;
    // Sherlock's own spool on that tmpfs (a run's directory), which must not count.
    const spool = join(mount, `sherlock-spool-${process.pid}-test-run-x`);
    mkdirSync(spool);
    // 16 MiB every 200 ms into new files (a job spooling exports and never removing them); the spool gets 48 MiB of its own meanwhile.
    const job = writer(mount, 8, 16, spool);
    try {
      const data = (await runCapture(fsfill, {
        durationMs: 2500,
        params: { minGrowthMiB: 16 },
        spool: { dir: spool, budgetBytes: 64 * MiB },
      })) as FsfillData & {
        durationMs: number;
      };
      const row = data.rows.find((r) => r.mount === mount);
      // Its filesystem's major:minor, as filetop names the files written there (the link to the writer).
      expect(row).toMatchObject({ kind: 'tmpfs', fstype: 'tmpfs', sizeBytes: 256 * MiB, falls: 0, device: deviceOf(mount) });
      // Read once a second: 2-3 readings of 128 MiB written over ~1.6 s (and not the spool's 48 MiB).
      expect(row!.growthBytes).toBeGreaterThanOrEqual(64 * MiB);
      expect(row!.growthBytes).toBeLessThanOrEqual(128 * MiB);
      expect(data.filesystems).toBeGreaterThan(1);
      const f = analyze(data, data.durationMs / 1000).find((x) => x.id.endsWith(`fsfill:${mount}`))!;
      expect(f.title).toMatch(new RegExp(`^tmpfs ${mount} on n1 filled by .* of its 256 MiB\\), up in \\d+ of \\d+ readings?: files kept in memory`));
      expect(f.title).toMatch(/at this rate it is full in ~[\d.]+ m?s, and writes to it then fail with ENOSPC/);
      expect(f.evidence.runsOutOf).toBe('size');
      expect(Number(f.evidence.secondsLeft)).toBeCloseTo(row!.availableBytes / (row!.growthBytes / row!.seconds), 0);
      expect(f.links?.shows).toEqual([`writes-to:${deviceOf(mount)}`]);
    } finally {
      job.kill('SIGKILL');
    }
  }, 30_000);

  it('a tmpfs mounted over another on one mount point (a second /dev/shm): one row, the one on top, which its path reaches', async () => {
    made = mountTmpfs('64m');
    const { mount } = made;
    const below = deviceOf(mount);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=96m', 'tmpfs', mount]);
    const job = writer(mount, 6, 8); // 8 MiB every 200 ms: a row
    try {
      const data = (await runCapture(fsfill, { durationMs: 1500, params: { minGrowthMiB: 8 } })) as FsfillData;
      const rows = data.rows.filter((r) => r.mount === mount);
      expect(rows).toEqual([expect.objectContaining({ device: deviceOf(mount), sizeBytes: 96 * MiB })]);
      expect(deviceOf(mount)).not.toBe(below);
    } finally {
      job.kill('SIGKILL');
      execFileSync('umount', ['-l', mount]); // the one on top; made.remove() the one below
    }
  });

  it.skipIf(loopExt4SkipReason())(
    'an ext4 disk: full when what a process without root may write is gone',
    async () => {
      made = mountLoopExt4('192M', ['-m', '5']);
      const { mount } = made;
      const job = writer(mount, 8, 12);
      try {
        const data = (await runCapture(fsfill, { durationMs: 2500, params: { minGrowthMiB: 16 } })) as FsfillData & { durationMs: number };
        const row = data.rows.find((r) => r.mount === mount);
        expect(row).toMatchObject({ kind: 'disk', fstype: 'ext4', falls: 0, device: deviceOf(mount) });
        expect(row!.source).toMatch(/^\/dev\/loop\d+$/);
        // The 5% kept for root is not room for others: less may be written than is free.
        expect(row!.availableBytes).toBeLessThan(row!.sizeBytes - row!.lastBytes);
        expect(row!.growthBytes).toBeGreaterThanOrEqual(24 * MiB);
        const f = analyze(data, data.durationMs / 1000).find((x) => x.id.endsWith(`fsfill:${mount}`))!;
        expect(f.title).toMatch(new RegExp(`^Filesystem ${mount} \\(ext4 on /dev/loop\\d+\\) on n1 filled by `));
        expect(f.title).toMatch(/at this rate it is full in ~[\d.]+ m?s, and writes to it then fail with ENOSPC/);
        expect(f.severity).toBe('critical');
        expect(f.evidence.runsOutOf).toBe('space');
      } finally {
        job.kill('SIGKILL');
      }
    },
    30_000,
  );

  it.skipIf(loopExt4SkipReason())(
    'an ext4 disk filled through a log deleted while its program appends: the finding names the file and its holder',
    async () => {
      made = mountLoopExt4('192M');
      const log = join(made.mount, 'app.log');
      // Opened, deleted (a rotation that removed it), written 12 MiB every 200 ms: df sees it grow, du sees nothing.
      const script = [
        'import os, time',
        `f = open('${log}', 'wb', buffering=0)`,
        `os.unlink('${log}')`,
        'for i in range(8):',
        '    f.write(b"x" * (12 << 20))',
        '    time.sleep(0.2)',
        'time.sleep(20)',
      ].join('\n');
      const job = spawn(PYTHON, ['-c', script], { stdio: 'ignore' });
      try {
        const data = (await runCapture(fsfill, { durationMs: 2500, params: { minGrowthMiB: 16 } })) as FsfillData & { durationMs: number };
        const row = data.rows.find((r) => r.mount === made!.mount);
        expect(row?.deletedOpen).toMatchObject({ count: 1, files: [{ path: log, pid: job.pid, comm: 'python3' }] });
        expect(row!.deletedOpen!.bytes).toBeGreaterThanOrEqual(row!.growthBytes);
        const f = analyze(data, data.durationMs / 1000).find((x) => x.id.endsWith(`fsfill:${made!.mount}`))!;
        expect(f.title).toMatch(
          new RegExp(
            `; [\\d.]+ MiB of its used space is a deleted file still open, which du does not count: ${log}, [\\d.]+ MiB, held by python3 \\(pid ${job.pid}\\) as fd \\d+;`,
          ),
        );
      } finally {
        job.kill('SIGKILL');
      }
    },
    30_000,
  );

  it.skipIf(loopExt4SkipReason())(
    'an ext4 disk running out of inodes with bytes to spare: its inodes are what is full',
    async () => {
      // 4,096 inodes; 500 small files a second use them up in ~8 s while 50 KiB a second leaves the bytes nearly all free.
      made = mountLoopExt4('64M', ['-N', '4096']);
      const { mount } = made;
      const job = creator(mount, 500);
      try {
        const data = (await runCapture(fsfill, { durationMs: 2500, params: { minGrowthInodes: 300 } })) as FsfillData & { durationMs: number };
        const row = data.rows.find((r) => r.mount === mount);
        expect(row?.inodes).toBeDefined();
        const { inodes } = row!;
        expect(inodes!.total).toBeGreaterThanOrEqual(4096);
        expect(inodes!.last - inodes!.first).toBeGreaterThanOrEqual(500);
        expect(inodes!.free).toBe(inodes!.total - inodes!.last);
        expect(row!.growthBytes).toBeLessThan(16 * MiB); // not there for its bytes
        const f = analyze(data, data.durationMs / 1000).find((x) => x.id.endsWith(`fsfill:${mount}`))!;
        expect(f.title).toMatch(new RegExp(`^Filesystem ${mount} \\(ext4 on /dev/loop\\d+\\) on n1: [\\d,]+ more inodes in use in `));
        expect(f.title).toMatch(
          /at this rate its inodes are gone in ~[\d.]+ m?s, and creating a file there then fails with ENOSPC though bytes are free \(df -i\)/,
        );
        expect(f.evidence.runsOutOf).toBe('inodes');
        const rate = (inodes!.last - inodes!.first) / row!.seconds;
        expect(Number(f.evidence.secondsLeft)).toBeCloseTo(inodes!.free / rate, 0);
        expect(f.severity).toBe('critical');
      } finally {
        job.kill('SIGKILL');
      }
    },
    30_000,
  );

  it('filesystems with little room left, growing or not: full of bytes (a warning), nearly full, out of inodes', async () => {
    const full = mountTmpfs('1m');
    const nearly = mountTmpfs('4m');
    const inodes = mountTmpfs('1m,nr_inodes=3');
    try {
      writeFileSync(join(nearly.mount, 'data'), Buffer.alloc(3968 * 1024)); // 97% of 4 MiB
      writeFileSync(join(inodes.mount, 'a'), 'x');
      writeFileSync(join(inodes.mount, 'b'), 'x'); // with the root directory, its 3 inodes
      // Full through a log deleted while its writer holds it: df says full, du says empty.
      const log = join(full.mount, 'app.log');
      const holder = openSync(log, 'w');
      try {
        expect(writeSync(holder, Buffer.alloc(2 * MiB))).toBe(MiB); // as much as fits
        expect(() => writeSync(holder, Buffer.alloc(1))).toThrow(/ENOSPC/);
        unlinkSync(log);
        const data = (await runCapture(fsfill, { durationMs: 1500 })) as FsfillData & { durationMs: number };
        const findings = analyze(data, data.durationMs / 1000);
        const of = (mount: string) => findings.find((f) => f.evidence.mount === mount)!;
        expect(data.rows.filter((r) => [full, nearly, inodes].some((m) => m.mount === r.mount))).toEqual([]); // none grew
        // The table (sherlock capture fsfill) lists them after the filling ones, without growth.
        const table = fsfill.table!(data);
        const line = (mount: string) => table.columns.map((c) => c.value((table.rows as { mount: string }[]).find((r) => r.mount === mount)!));
        expect(line(full.mount)).toEqual([full.mount, 'tmpfs', '-', '1 MiB', '-', '0 B', '1 MiB', expect.stringMatching(/^2 of [\d,]+$/)]);
        expect(line(inodes.mount).at(-1)).toBe('3 of 3');
        expect(of(full.mount)).toMatchObject({ severity: 'warning', evidence: { full: true, runsOutOf: 'space', availableBytes: 0 } });
        expect(of(full.mount).title).toBe(
          `tmpfs ${full.mount} on n1 is full for a process without root: 0 B of its 1 MiB left to write, and writes to it fail with ENOSPC; ` +
            `1 MiB of its used space is a deleted file still open, which du does not count: ${log}, 1 MiB, held by ${readText('/proc/self/comm')!.trim()} ` +
            `(pid ${process.pid}) as fd ${holder}; empty it with : > /proc/${process.pid}/fd/${holder} or restart ${readText('/proc/self/comm')!.trim()}: ` +
            `the space comes back when its last holder closes it; next: what fills it (du -xsh ${full.mount}/*, lsof +L1 ${full.mount}).`,
        );
        expect(of(nearly.mount)).toMatchObject({ severity: 'info', evidence: { full: false, runsOutOf: 'space' } });
        expect(of(nearly.mount).title).toMatch(
          new RegExp(`^tmpfs ${nearly.mount} on n1 is 97% full for a process without root: 128 KiB of its 4 MiB left to write; next:`),
        );
        expect(of(inodes.mount)).toMatchObject({ severity: 'warning', evidence: { full: true, runsOutOf: 'inodes' } });
        expect(of(inodes.mount).title).toContain(
          `tmpfs ${inodes.mount} on n1 has no inodes left (df -i): creating a file there fails with ENOSPC though bytes are free`,
        );
      } finally {
        closeSync(holder);
      }
    } finally {
      for (const m of [full, nearly, inodes]) m.remove();
    }
  }, 30_000);

  it("a tmpfs only another mount namespace has (a container's /dev/shm): read through its process's root, named by it", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sherlock-test-ns-'));
    // unshare: a new mount namespace where a 128 MiB tmpfs is mounted on dir (the host's dir stays empty), then the writer.
    const script = [
      'import os, time',
      'for i in range(8):',
      `    open(os.path.join('${dir}', f'seg-{i}'), 'wb').write(b'x' * (8 << 20))`,
      '    time.sleep(0.2)',
      'time.sleep(20)',
    ].join('\n');
    const job = spawn(
      'unshare',
      ['--mount', '--propagation', 'private', 'sh', '-c', `mount -t tmpfs -o size=128m tmpfs '${dir}' && exec ${PYTHON} -c "$0"`, script],
      {
        stdio: 'ignore',
      },
    );
    try {
      // Until its tmpfs is mounted there (the capture lists filesystems when it starts).
      for (let i = 0; i < 100 && !(readText(`/proc/${job.pid}/mountinfo`) ?? '').includes(` ${dir} `); i++) await sleep(20);
      const data = (await runCapture(fsfill, { durationMs: 2500, params: { minGrowthMiB: 8 } })) as FsfillData & { durationMs: number };
      expect(() => execFileSync('mountpoint', ['-q', dir])).toThrow(); // not mounted here: a plain directory
      const row = data.rows.find((r) => r.mount === dir);
      expect(row).toMatchObject({ kind: 'tmpfs', sizeBytes: 128 * MiB, namespaceOf: { pid: job.pid, comm: 'python3' } });
      expect(row!.growthBytes).toBeGreaterThanOrEqual(16 * MiB);
      const f = analyze(data, data.durationMs / 1000).find((x) => x.evidence.mount === dir)!;
      expect(f.id.endsWith(`fsfill:${job.pid}:${dir}`)).toBe(true); // apart from a /dev/shm of this namespace or another's
      expect(f.title).toMatch(new RegExp(`^tmpfs ${dir} in the mount namespace of python3 \\(pid ${job.pid}\\) on n1 filled by `));
      expect(f.title).toContain(`du -xsh /proc/${job.pid}/root${dir}/*`);
    } finally {
      job.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);
});
