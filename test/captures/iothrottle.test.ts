// iothrottle: limits and counters read from cgroup files of both versions
// (made in a temporary directory), the finding for a cgroup at its limit, and
// on a real v1 blkio cgroup whose reads of the disk are limited to 4 MiB/s, a
// reader with O_DIRECT in it: the limit, what it read in the window, the
// reader, both host-wide and with the reader as the target.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { mergeThresholds } from '../../src/analysis/common.js';
import { readIoCounts, readIoLimits } from '../../src/captures/iothrottle/cgroup-io.js';
import { iothrottle, type IoLimitRow, type IothrottleData } from '../../src/captures/iothrottle/index.js';
import { runCapture } from '../../src/captures/run-capture.js';
import { programsDir } from '../eval/incidents.js';
import { blkioSkipReason, createBlkioCgroup, diskOf, type TestMemcg } from '../helpers/memcg.js';

const MiB = 1024 * 1024;
/** A directory on a disk filesystem (not tmpfs): O_DIRECT reads go to the disk. */
const DISK_TMP = '/var/tmp';

describe('iothrottle: reading cgroup files', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const fakeCgroup = (files: Record<string, string>) => {
    const dir = mkdtempSync(join(tmpdir(), 'sherlock-iothrottle-'));
    dirs.push(dir);
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    return dir;
  };

  it('v2: io.max limits ("max" is none) and io.stat counters, per disk', () => {
    const dir = fakeCgroup({
      'io.max': '254:0 rbps=4194304 wbps=max riops=max wiops=200\n8:16 rbps=max wbps=max riops=max wiops=max\n',
      'io.stat': '254:0 rbytes=1048576 wbytes=4096 rios=16 wios=1 dbytes=0 dios=0\n8:16 rbytes=7 wbytes=0 rios=1 wios=0 dbytes=0 dios=0\n',
    });
    const h = { version: 2 as const, mount: dir };
    expect(readIoLimits(h, dir)).toEqual(new Map([['254:0', { readBytes: 4194304, writes: 200 }]]));
    expect(readIoCounts(h, dir).get('254:0')).toEqual({ readBytes: 1048576, writeBytes: 4096, reads: 16, writes: 1 });
  });

  it('v1: blkio.throttle files, limits and serviced bytes and operations', () => {
    const dir = fakeCgroup({
      'blkio.throttle.read_bps_device': '254:0 2097152\n',
      'blkio.throttle.write_bps_device': '',
      'blkio.throttle.read_iops_device': '',
      'blkio.throttle.write_iops_device': '254:0 50\n',
      'blkio.throttle.io_service_bytes': '254:0 Read 8650752\n254:0 Write 4096\n254:0 Sync 8654848\n254:0 Total 8654848\nTotal 8654848\n',
      'blkio.throttle.io_serviced': '254:0 Read 132\n254:0 Write 1\n254:0 Total 133\nTotal 133\n',
    });
    const h = { version: 1 as const, mount: dir };
    expect(readIoLimits(h, dir)).toEqual(new Map([['254:0', { readBytes: 2097152, writes: 50 }]]));
    expect(readIoCounts(h, dir).get('254:0')).toEqual({ readBytes: 8650752, writeBytes: 4096, reads: 132, writes: 1 });
  });
});

const row = (over: Partial<IoLimitRow>): IoLimitRow => ({
  cgroup: '/system.slice/report.service',
  hierarchy: 'v2',
  service: 'report.service',
  device: '254:0',
  disk: 'vda',
  limits: { readBytes: 4 * MiB },
  settings: { readBytes: 'io.max rbps' },
  done: { readBytes: 0, writeBytes: 0, reads: 0, writes: 0 },
  processes: [{ pid: 4242, comm: 'report-job' }],
  processCount: 1,
  ...over,
});
const analyze = (rows: IoLimitRow[], windowUs = 10e6) =>
  iothrottle.analysis!.analyze({ rows, scope: 'limited', windowUs, truncated: false } as never, {
    node: 'n1',
    capture: 'iothrottle',
    file: 'nodes/n1/iothrottle.json',
    thresholds: mergeThresholds(),
    windowSeconds: 10,
  }).findings;

describe('iothrottle findings', () => {
  it('a cgroup at its limit leads its processes’ disk waits; one well under it is no finding', () => {
    const [f, ...rest] = analyze([
      row({ done: { readBytes: 41 * MiB, writeBytes: 0, reads: 656, writes: 0 } }),
      row({ cgroup: '/batch', service: 'batch', done: { readBytes: 30 * MiB, writeBytes: 0, reads: 1, writes: 0 } }),
    ]);
    expect(rest).toEqual([]);
    expect(f!.title).toBe(
      "report-job (pid 4242) in cgroup /system.slice/report.service (v2) on n1 read 4.1 MiB/s from vda over the 10 s window, at its limit of 4 MiB/s (io.max rbps): its reads wait in the kernel's throttle, not on the disk; next: raise or remove the limit (io.max rbps; systemd IOReadBandwidthMax=, docker --device-read-bps) or read less.",
    );
    expect(f!.links).toEqual({ explains: ['disk-wait-pid:4242'], leads: true });
    expect(f!.evidence).toMatchObject({ limited: 'readBytes', limit: 4 * MiB, bytesPerSecond: Math.round((41 * MiB) / 10) });
  });

  it('an operations limit counts too, and several limits at once are said together', () => {
    const [f] = analyze([
      row({
        limits: { writeBytes: MiB, writes: 100 },
        settings: { writeBytes: 'io.max wbps', writes: 'io.max wiops' },
        done: { readBytes: 0, writeBytes: 10 * MiB, reads: 0, writes: 1000 },
      }),
    ]);
    expect(f!.title).toContain(
      'wrote 1 MiB/s to vda over the 10 s window, at its limit of 1 MiB/s (io.max wbps), and 100 writes/s at 100 writes/s: its writes wait',
    );
  });
});

const skip = blkioSkipReason();

describe.skipIf(skip)(`iothrottle on a real blkio cgroup${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let cgroup: TestMemcg | undefined;
  let file = '';
  afterEach(async () => {
    await cgroup?.remove();
    cgroup = undefined;
    rmSync(file, { force: true });
  });

  it('sees the limit, what the reader in it read over the window, and the reader, host-wide and by target', async () => {
    file = join(DISK_TMP, `sherlock-test-direct-${process.pid}.bin`);
    writeFileSync(file, randomBytes(16 * MiB));
    cgroup = createBlkioCgroup(diskOf(DISK_TMP), 4 * MiB);
    const counter = join(DISK_TMP, `sherlock-test-direct-${process.pid}.count`);
    const reader = cgroup.spawn([join(programsDir, 'direct-reader.py'), file, counter, '20']);
    try {
      await new Promise((r) => setTimeout(r, 400)); // past the throttle's first burst
      const [hostWide, targeted] = await Promise.all([
        runCapture(iothrottle, { durationMs: 1500 }),
        runCapture(iothrottle, { durationMs: 1500, target: { pid: [reader.pid!] } }),
      ]);
      const mine = (d: IothrottleData) => d.rows.find((r) => r.cgroup === `/${cgroup!.name}`);
      for (const result of [hostWide, targeted]) {
        const r = mine(result);
        expect(r).toMatchObject({
          hierarchy: 'v1',
          device: diskOf(DISK_TMP),
          limits: { readBytes: 4 * MiB },
          settings: { readBytes: 'blkio.throttle.read_bps_device' },
        });
        expect(r!.processes.map((p) => p.pid)).toEqual([reader.pid]);
        const rate = r!.done.readBytes! / (result.windowUs / 1e6);
        expect(rate).toBeGreaterThan(0.8 * 4 * MiB);
        expect(rate).toBeLessThan(1.25 * 4 * MiB);
      }
      expect(hostWide.scope).toBe('limited');
      expect(targeted.scope).toBe('target');
    } finally {
      rmSync(counter, { force: true });
    }
  }, 30_000);
});
