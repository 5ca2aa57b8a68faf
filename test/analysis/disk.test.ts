// Disk findings from results built here: a process keeping a disk busy leads
// the waits of others on it (offcputime), the slow disk (biolatency) and its
// own hot files (filetop); a busy disk nobody waited on, an idle one, and
// Sherlock's own I/O are no finding. And offcputime's side: a process's disk
// waits in several frames add up, dirty page throttling is named, and several
// processes blocked most of the window are each a finding.
import { describe, expect, it } from 'vitest';
import { analyzeRun } from '../../src/runs/analyze-run.js';
import { histogram, kernel, offcpu, on, result, run, stack, user, WINDOW_MS } from './fixtures.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

const vda = (over: Record<string, unknown> = {}) => ({
  disk: 'vda',
  device: '254:0',
  reads: 100,
  readBytes: 10 * MiB,
  readMs: 200,
  writes: 6000,
  writeBytes: 3 * GiB,
  writeMs: 5400,
  busyMs: 5400,
  busyShare: 0.9,
  awaitMs: 0.91,
  ...over,
});

function iotop(rows: Record<string, unknown>[], disks = [vda()], dirty?: Record<string, unknown>) {
  return result('iotop', {
    rows,
    processCount: rows.length,
    readBytes: rows.reduce((n, r) => n + Number(r.readBytes), 0),
    writeBytes: rows.reduce((n, r) => n + Number(r.writeBytes), 0),
    disks,
    ...(dirty ? { dirty } : {}),
    windowUs: WINDOW_MS * 1000,
    truncated: false,
    top: 10,
  });
}

const exporter = { pid: 20, comm: 'bulk-export', readBytes: 0, writeBytes: 3 * GiB };
/** ledger-api's fsync: a cache flush, writeback and a buffer, one reason. */
const fsyncWaits = [
  stack(
    10,
    'ledger-api',
    3_000_000,
    [user('fsync', 'libc.so.6'), kernel('ext4_sync_file'), kernel('submit_bio_wait'), kernel('io_schedule'), kernel('__schedule')],
    900,
  ),
  stack(
    10,
    'ledger-api',
    1_000_000,
    [user('fsync', 'libc.so.6'), kernel('ext4_sync_file'), kernel('folio_wait_bit'), kernel('io_schedule'), kernel('__schedule')],
    300,
  ),
  stack(
    10,
    'ledger-api',
    500_000,
    [user('fsync', 'libc.so.6'), kernel('__sync_dirty_buffer'), kernel('bit_wait_io'), kernel('io_schedule'), kernel('__schedule')],
    200,
  ),
];
const hotFile = result('filetop', {
  rows: [{ pid: 20, comm: 'bulk-export', path: '/var/backups/export.bin', kind: 'file', readBytes: 0, writeBytes: 3 * GiB, reads: 0, writes: 3072 }],
  totalFiles: 1,
});

describe('iotop: who keeps the disk busy', () => {
  it("leads the others' waits on the disk, its own hot file and the slow disk, naming what it wrote and how busy the disk was", () => {
    const rows = [
      { pid: 99, comm: 'node', readBytes: 0, writeBytes: 8 * GiB, self: true },
      exporter,
      { pid: 10, comm: 'ledger-api', readBytes: 0, writeBytes: 4 * MiB },
    ];
    const slowDisk = result('biolatency', { histograms: [{ labels: { disk: 'vda' }, histogram: histogram({ 10: 900, 17: 100 }) }] });
    const findings = analyzeRun({ run: run(), results: [on(offcpu(fsyncWaits)), on(slowDisk), on(iotop(rows)), on(hotFile)] });
    const [top, ...rest] = findings;
    expect(top!.capture).toBe('iotop');
    // Sherlock's own 8 GiB is never the culprit: the export is, at 3 GiB of the 3.004 GiB the others did.
    expect(top!.title).toMatch(
      /^bulk-export \(pid 20\) wrote 3 GiB in the 6 s window \(100% of what processes read from and wrote to storage\) while vda was busy 90% of the time \(514 MiB\/s, 0\.91 ms a request on average\): I\/O of others queues behind it\. /,
    );
    expect(top!.title).toContain(
      'Effect: ledger-api (pid 10) spent 4.50 s (75% of the 6 s window, summed over threads) waiting for disk I/O in submit_bio_wait called from fsync: 100% of the non-idle off-CPU time seen (threshold 30%), 1,400 waits of 3.2 ms on average.',
    );
    expect(top!.title).toContain('Effect: Block I/O on vda takes');
    expect(top!.title).toContain('Effect: bulk-export (pid 20) wrote /var/backups/export.bin at 512 MiB/s');
    expect(top!.title).toMatch(/; next: slow or move that I\/O \(ionice -c3, .*\)\.$/);
    expect(top!.severity).not.toBe('info');
    expect(top!.evidence).toMatchObject({
      pid: 20,
      comm: 'bulk-export',
      writeBytes: 3 * GiB,
      disks: [expect.objectContaining({ disk: 'vda', busyShare: 0.9 })],
    });
    const steps = top!.evidence.steps as { capture: string; evidence: Record<string, unknown> }[];
    expect(steps.map((s) => s.capture).sort()).toEqual(['biolatency', 'filetop', 'offcputime']);
    expect(steps.find((s) => s.capture === 'offcputime')!.evidence).toMatchObject({ pid: 10, offCpuMs: 4500, blocks: 1400, waitingIn: 'submit_bio_wait' });
    // Its impact is the time waited behind it: the disk time, the larger.
    expect(top!.impact!.value).toBeGreaterThanOrEqual(0.75);
    expect(rest.filter((f) => ['offcputime', 'filetop', 'biolatency', 'iotop'].includes(f.capture))).toEqual([]);
  });

  it('a busy disk nobody waited on, and a disk that was not busy, are no finding', () => {
    const busyAlone = analyzeRun({ run: run(), results: [on(iotop([exporter]))] });
    expect(busyAlone.map((f) => f.capture)).not.toContain('iotop');
    const idle = analyzeRun({ run: run(), results: [on(offcpu(fsyncWaits)), on(iotop([exporter], [vda({ busyMs: 1200, busyShare: 0.2 })]))] });
    expect(idle[0]!.capture).toBe('offcputime');
    expect(idle.map((f) => f.capture)).not.toContain('iotop');
  });

  it("a backup script's dd, gone before the window ended, is the script's I/O: its hot file joins the script's finding, and /dev/zero it read is none", () => {
    // iotop counts a reaped child's bytes for its parent (/proc/PID/io); filetop saw the child itself.
    const backup = { pid: 30, comm: 'backup.sh', readBytes: 0, writeBytes: 5 * GiB };
    const dd = { pid: 31, ppid: 30, comm: 'dd', reads: 3000, writes: 3000 };
    const files = result('filetop', {
      rows: [
        { ...dd, path: '/dev/zero', kind: 'chardev', readBytes: 3 * GiB, writeBytes: 0 },
        { ...dd, path: '/var/backups/db.img', kind: 'file', readBytes: 0, writeBytes: 3 * GiB },
        { ...dd, pid: 32, path: '/var/backups/db.img', kind: 'file', readBytes: 0, writeBytes: 2 * GiB },
      ],
      totalFiles: 3,
    });
    const findings = analyzeRun({ run: run(), results: [on(offcpu(fsyncWaits)), on(iotop([backup])), on(files)] });
    expect(findings[0]!.capture).toBe('iotop');
    // The script's two runs of dd are one cause: one step, not one each.
    expect(findings[0]!.title).toMatch(
      /^backup\.sh \(pid 30\) wrote 5 GiB .*Effect: dd \(pid 31\) wrote \/var\/backups\/db\.img at 512 MiB\/s.*\. The same on 1 more \(\/var\/backups\/db\.img \(pid 32\)\)/,
    );
    expect(findings[0]!.title.match(/Effect: dd/g)).toHaveLength(1);
    expect(findings.filter((f) => f.capture === 'filetop')).toEqual([]);
    // Without its parent's finding the hot file stands alone (the link needs the script's I/O seen).
    const alone = analyzeRun({ run: run(), results: [on(files)] });
    expect(alone.map((f) => f.title)).toEqual([expect.stringMatching(/^dd \(pid 31\) wrote \/var\/backups\/db\.img.* The same on 1 more/)]);
  });

  it("Sherlock's own I/O alone names no one; a process writing under 1 MiB/s keeps no disk busy", () => {
    const self = analyzeRun({
      run: run(),
      results: [on(offcpu(fsyncWaits)), on(iotop([{ pid: 99, comm: 'node', readBytes: 0, writeBytes: 8 * GiB, self: true }]))],
    });
    expect(self[0]!.capture).toBe('offcputime');
    const slow = analyzeRun({ run: run(), results: [on(offcpu(fsyncWaits)), on(iotop([{ ...exporter, writeBytes: 2 * MiB }]))] });
    expect(slow.map((f) => f.capture)).not.toContain('iotop');
  });

  it('a heavy writer whose open files are all on another disk is not named for the busy one', () => {
    const rows = [
      { ...exporter, writeBytes: 4 * GiB, disks: ['vdb'] },
      { pid: 21, comm: 'reindex', readBytes: 900 * MiB, writeBytes: 0, disks: ['vda', 'vdb'] },
    ];
    const [top] = analyzeRun({ run: run(), results: [on(offcpu(fsyncWaits)), on(iotop(rows))] });
    expect(top!.title).toMatch(
      /^reindex \(pid 21\) read 900 MiB in the 6 s window \(18% of what processes read from and wrote to storage\) while vda was busy/,
    );
  });

  it('several heavy users are named together, most bytes first, up to the share that keeps the disk busy', () => {
    const rows = [
      { pid: 20, comm: 'bulk-export', readBytes: 0, writeBytes: 1 * GiB },
      { pid: 21, comm: 'reindex', readBytes: 900 * MiB, writeBytes: 0 },
      { pid: 22, comm: 'logrotate', readBytes: 0, writeBytes: 100 * MiB },
    ];
    const [top] = analyzeRun({ run: run(), results: [on(offcpu(fsyncWaits)), on(iotop(rows))] });
    expect(top!.title).toMatch(/^bulk-export \(pid 20\) wrote 1 GiB and reindex \(pid 21\) read 900 MiB in the 6 s window \(95% of /);
    expect(top!.title).toContain('I/O of others queues behind theirs');
    expect(top!.evidence.processes).toEqual([expect.objectContaining({ pid: 20 }), expect.objectContaining({ pid: 21 })]);
  });

  it('with dirty pages at their limit, says so: every writer is paused and an fsync waits for what was written before it', () => {
    const throttled = [
      stack(
        20,
        'bulk-export',
        4_000_000,
        [user('write', 'libc.so.6'), kernel('generic_perform_write'), kernel('balance_dirty_pages'), kernel('io_schedule_timeout'), kernel('__schedule')],
        400,
      ),
    ];
    const dirty = {
      maxDirtyBytes: 16 * MiB,
      maxWritebackBytes: 8 * MiB,
      limitBytes: 16 * MiB,
      backgroundBytes: 8 * MiB,
      dirtiedBytes: 3 * GiB,
      writtenBytes: 3 * GiB,
      setting: 'vm.dirty_bytes = 16777216',
    };
    const [top] = analyzeRun({ run: run(), results: [on(offcpu([...throttled, ...fsyncWaits])), on(iotop([exporter], [vda()], dirty))] });
    expect(top!.capture).toBe('iotop');
    expect(top!.title).toContain(
      'I/O of others queues behind it; dirty pages reached 16 MiB of their 16 MiB limit (vm.dirty_bytes = 16777216), where the kernel pauses every writer.',
    );
    expect(top!.title).toContain(
      'Effect: bulk-export (pid 20) spent 4.00 s (67% of the 6 s window, summed over threads) paused for writing faster than the disk takes it (the page cache held more dirty data than its limit, vm.dirty_ratio or vm.dirty_bytes, allows) in balance_dirty_pages called from write',
    );
    expect(top!.title).toMatch(/, and an fsync waits for the dirty data written before it\.$/);
  });
});

describe('offcputime: waits that add up', () => {
  it('several processes each blocked most of the window are each a finding, though none holds 30% of all waits', () => {
    const blocked = [1, 2, 3, 4].map((pid) =>
      stack(
        pid,
        `worker-${pid}`,
        5_400_000,
        [user('pread64', 'libc.so.6'), kernel('filemap_read'), kernel('folio_wait_bit'), kernel('io_schedule'), kernel('__schedule')],
        100,
      ),
    );
    const findings = analyzeRun({ run: run(), results: [on(offcpu(blocked))] }).filter((f) => f.capture === 'offcputime');
    expect(findings.map((f) => f.evidence.pid).sort()).toEqual([1, 2, 3, 4]);
    expect(findings[0]!.title).toMatch(
      /spent 5\.40 s \(90% of the 6 s window, summed over threads\) waiting for disk I\/O in folio_wait_bit called from pread64: 100 waits of 54 ms on average\.$/,
    );
    // Blocked a little (under half the window) and a small share of all waits: no finding.
    const light = stack(5, 'cron', 700_000, [user('pread64', 'libc.so.6'), kernel('folio_wait_bit'), kernel('io_schedule'), kernel('__schedule')], 10);
    const withLight = analyzeRun({ run: run(), results: [on(offcpu([...blocked, light]))] }).filter((f) => f.capture === 'offcputime');
    expect(withLight.map((f) => f.evidence.pid)).not.toContain(5);
  });

  it('a page fault reading memory back from swap is named so, not a disk wait', () => {
    const swapIn = stack(
      9,
      'cache',
      2_000_000,
      [
        user('lookup'),
        kernel('asm_exc_page_fault'),
        kernel('do_swap_page'),
        kernel('swap_read_folio'),
        kernel('folio_wait_bit'),
        kernel('io_schedule'),
        kernel('__schedule'),
      ],
      50,
    );
    const [f] = analyzeRun({ run: run(), results: [on(offcpu([swapIn]))] }).filter((x) => x.capture === 'offcputime');
    expect(f!.evidence.kind).toBe(
      'waiting for its memory to come back from swap (its pages were swapped out: the host or its memory cgroup is short of memory)',
    );
    expect(f!.links!.shows).toEqual(['reclaim-pid:9']);
  });

  it("a wait inside compaction (a huge page's allocation moving pages) is named so, and reclaim's finding leads it", () => {
    const compacting = stack(
      10,
      'cache',
      2_000_000,
      [
        user('alloc_slab'),
        kernel('__alloc_pages_direct_compact'),
        kernel('compact_zone'),
        kernel('migrate_pages'),
        kernel('folio_wait_bit'),
        kernel('__schedule'),
      ],
      40,
    );
    const [f] = analyzeRun({ run: run(), results: [on(offcpu([compacting]))] }).filter((x) => x.capture === 'offcputime');
    expect(f!.evidence.kind).toBe('compacting memory (an allocation of contiguous pages, a huge page most often, found none free)');
    expect(f!.links!.shows).toEqual(['reclaim-pid:10']);
  });

  it('one process waiting in two unnamed kernel frames keeps them apart (they say no more than their frame)', () => {
    const waits = [
      stack(8, 'app', 3_000_000, [user('main'), kernel('synchronize_rcu'), kernel('__schedule')], 30),
      stack(8, 'app', 2_000_000, [user('main'), kernel('msleep'), kernel('__schedule')], 20),
    ];
    const findings = analyzeRun({ run: run(), results: [on(offcpu(waits))] }).filter((f) => f.capture === 'offcputime');
    expect(findings.map((f) => f.evidence.waitingIn).sort()).toEqual(['msleep', 'synchronize_rcu']);
  });
});
