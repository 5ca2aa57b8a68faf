// iotop against the real kernel: a writer whose buffered writes and fsync go
// to the disk in the window, and a reader started in the window reading a file
// with O_DIRECT. Their bytes (from /proc/PID/io), the disk's (from
// /proc/diskstats), the dirty page limit, and a target marked among the rest.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { iotop, iotopText, type IotopData } from '../../src/captures/iotop/index.js';
import { runCapture } from '../../src/captures/run-capture.js';
import { diskOf } from '../helpers/memcg.js';

const MiB = 1024 * 1024;
/** A directory on a disk filesystem (not tmpfs): its writes and direct reads reach the disk. */
const DISK_TMP = '/var/tmp';

/** Names itself, waits `delay` s, does `io`, then sleeps until killed (an exited child's bytes would go to its parent). */
function python(name: string, delay: number, io: string): ChildProcess {
  const script = `import ctypes, mmap, os, sys, time
ctypes.CDLL(None).prctl(15, b'${name}', 0, 0, 0)
time.sleep(${delay})
${io}
print('done', flush=True)
time.sleep(60)`;
  return spawn('/usr/bin/python3', ['-c', script], { stdio: ['ignore', 'pipe', 'inherit'] });
}

const done = (child: ChildProcess) => new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()));

describe('iotop on this host', () => {
  const children: ChildProcess[] = [];
  const files: string[] = [];
  afterEach(() => {
    for (const c of children.splice(0)) c.kill('SIGKILL');
    for (const f of files.splice(0)) rmSync(f, { force: true });
  });

  it("names each process's bytes to and from storage, the disk's, and the dirty page limit; a target is marked among the others", async () => {
    const [written, read] = ['written', 'read'].map((f) => join(DISK_TMP, `sherlock-test-iotop-${f}-${process.pid}.bin`)) as [string, string];
    files.push(written, read);
    writeFileSync(read, randomBytes(16 * MiB));
    // Buffered writes are counted when the pages are dirtied; the fsync sends them to the disk in the window.
    const writer = python(
      'iotop-writer',
      0.4,
      `fd = os.open('${written}', os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
for _ in range(24): os.write(fd, b'w' * ${MiB})
os.fsync(fd)`,
    );
    children.push(writer);
    let reader: ChildProcess | undefined;
    const result = await runCapture(iotop, {
      durationMs: 2500,
      target: { pid: [writer.pid!] },
      onLive: () => {
        reader = python(
          'iotop-reader',
          0.2,
          `fd = os.open('${read}', os.O_RDONLY | os.O_DIRECT)
buf = mmap.mmap(-1, ${MiB})
while os.readv(fd, [buf]): pass`,
        );
        children.push(reader);
      },
    });
    await Promise.all([done(writer), done(reader!)]);
    const data = result as unknown as IotopData;
    const row = (pid: number) => {
      const found = data.rows.find((r) => r.pid === pid);
      expect(found, `pid ${pid} among ${JSON.stringify(data.rows)}`).toBeDefined();
      return found!;
    };

    expect(row(writer.pid!)).toMatchObject({ comm: 'iotop-writer', targeted: true });
    expect(row(writer.pid!).writeBytes).toBeGreaterThanOrEqual(24 * MiB);
    expect(row(writer.pid!).writeBytes).toBeLessThan(25 * MiB);
    expect(row(writer.pid!).startedInWindow).toBeUndefined();
    // Started in the window: its whole life counts; not the target, listed all the same.
    expect(row(reader!.pid!)).toMatchObject({ comm: 'iotop-reader', startedInWindow: true });
    expect(row(reader!.pid!).targeted).toBeUndefined();
    expect(row(reader!.pid!).readBytes).toBeGreaterThanOrEqual(16 * MiB);
    expect(row(reader!.pid!).readBytes).toBeLessThan(17 * MiB);
    expect(data.processCount).toBeGreaterThanOrEqual(2);

    const disk = data.disks.find((d) => d.device === diskOf(DISK_TMP));
    expect(disk, JSON.stringify(data.disks)).toBeDefined();
    expect(disk!.writeBytes).toBeGreaterThanOrEqual(24 * MiB);
    expect(disk!.readBytes).toBeGreaterThanOrEqual(16 * MiB);
    expect(disk!.busyShare).toBeGreaterThan(0);
    // Which disk their bytes went to: the one their open files are on.
    expect(row(writer.pid!).disks).toEqual([disk!.disk]);
    expect(row(reader!.pid!).disks).toEqual([disk!.disk]);
    expect(disk!.busyShare).toBeLessThanOrEqual(1);
    expect(data.windowUs).toBeGreaterThan(2_000_000);

    expect(data.dirty!.limitBytes).toBeGreaterThan(0);
    expect(data.dirty!.maxDirtyBytes).toBeGreaterThan(0);
    expect(data.dirty!.dirtiedBytes).toBeGreaterThanOrEqual(24 * MiB);
    expect(data.dirty!.setting).toMatch(/^vm\.dirty_(ratio|bytes) = \d+/);

    const text = iotopText(data);
    expect(text).toMatch(new RegExp(`^pid ${writer.pid} \\(iotop-writer\\) \\[target\\]: read [\\d.]+ K?i?B, wrote 24(\\.\\d)? MiB$`, 'm'));
    expect(text).toMatch(new RegExp(`^pid ${reader!.pid} \\(iotop-reader\\): read 16(\\.\\d)? MiB, wrote [\\d.]+ K?i?B \\(started in the window\\)$`, 'm'));
    expect(text).toMatch(new RegExp(`^${disk!.disk}: busy \\d+(\\.\\d)?%`, 'm'));
  }, 30_000);
});
