// reclaim against the real kernel: a v1 memory cgroup with a 16 MiB limit and
// a writer inside it filling the page cache far past the limit, so each of its
// writes past the limit reclaims the cgroup's own pages first. The capture
// times those stalls for the writer, names its memory cgroup and the limit,
// and the check turns them into a finding with the limit in its title.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { describe, expect, it, afterEach } from 'vitest';
import { reclaim } from '../../src/captures/reclaim/index.js';
import { refaultedPages } from '../../src/captures/reclaim/refaults.js';
import { mergeThresholds } from '../../src/analysis/common.js';
import { analyzeRun } from '../../src/runs/analyze-run.js';
import { kernel, on, result, run, stack, user } from '../analysis/fixtures.js';
import { projectRoot } from '../../src/util/paths.js';
import { captureAround } from '../helpers/capture-around.js';
import { bpfHandlesOf, kernelSkipReason, stillLoaded } from '../helpers/kernel.js';
import { createMemcg, memcgSkipReason, type TestMemcg } from '../helpers/memcg.js';

const skip = kernelSkipReason() ?? memcgSkipReason();
const MiB = 1024 * 1024;

describe.skipIf(skip)(`reclaim${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let memcg: TestMemcg | undefined;
  // On the project's disk, not tmpfs: tmpfs pages cannot be reclaimed without swap (the writer would be OOM-killed).
  const file = join(projectRoot, 'build', `reclaim-test-${process.pid}`);

  afterEach(async () => {
    await memcg?.remove();
    memcg = undefined;
    rmSync(file, { force: true });
    expect(bpfHandlesOf()).toEqual({ programIds: [], links: 0, maps: 0 });
  });

  it('times the stalls of a writer at its memory cgroup limit, names the cgroup and the limit, and finds it', async () => {
    memcg = createMemcg(16 * MiB);
    const cgroup = memcg;
    let writerPid = 0;
    const { result, programIds } = await captureAround(reclaim, async () => {
      // 4 rounds of 256 MiB through a 16 MiB cgroup: every write past the limit reclaims first.
      for (let round = 0; round < 4; round++) {
        const writer = cgroup.spawn(['dd', 'if=/dev/zero', `of=${file}`, 'bs=1M', 'count=256']);
        writerPid = writer.pid!;
        const [code] = (await once(writer, 'exit')) as [number | null];
        expect(code).toBe(0);
      }
    });
    expect(stillLoaded(programIds)).toEqual([]);

    const mine = result.groups.filter((g) => g.comm === 'dd');
    expect(mine.length).toBeGreaterThan(0);
    expect(mine.every((g) => g.kind === 'cgroup')).toBe(true);
    const last = mine.find((g) => g.pid === writerPid)!;
    expect(last.stalls).toBeGreaterThan(10);
    expect(last.stalledMs).toBeGreaterThan(0);
    expect(last.longestMs).toBeLessThanOrEqual(last.stalledMs);
    expect(last.reclaimedBytes).toBeGreaterThan(MiB);
    expect(last).toMatchObject({ cgroup: `/${cgroup.name}`, limitedAt: `/${cgroup.name}`, limitBytes: 16 * MiB });
    expect(last.peakBytes).toBeGreaterThan(15 * MiB); // at the limit while it stalled
    expect(result.histogram.count).toBeGreaterThanOrEqual(mine.reduce((a, g) => a + g.stalls, 0));
    expect(reclaim.text!(result)).toContain(`pid ${writerPid} (dd)`);

    // Over a window as long as the writes took, the stalls are a finding that names the limit.
    const stalledMs = mine.reduce((a, g) => a + g.stalledMs, 0);
    const analysis = reclaim.analysis!.analyze(result as never, {
      node: 'n1',
      capture: 'reclaim',
      file: 'nodes/n1/reclaim.json',
      thresholds: mergeThresholds(),
      windowSeconds: Math.min(result.durationMs / 1000, stalledMs / 1000 / 0.02), // at least 2% of it stalled
    });
    const finding = analysis.findings.find((f) => f.evidence.pid === writerPid);
    expect(finding?.title).toMatch(
      new RegExp(
        `^dd \\(pid ${writerPid}\\) stalled .* reclaiming memory at its memory cgroup's limit \\(16 MiB on /${cgroup.name}, peak [\\d.]+ MiB\\): \\d+ stalls`,
      ),
    );
    expect(finding?.impact?.bears).toEqual(['latency', 'health']);
  }, 60_000);

  it('counts the file pages a cgroup under its limit reads back after evicting them (thrashing), as memory.stat does', async () => {
    memcg = createMemcg(32 * MiB);
    const cgroup = memcg;
    writeFileSync(file, randomBytes(96 * MiB));
    const refaulted = () => 4096 * Number(/^total_workingset_refault_file (\d+)/m.exec(readFileSync(join(cgroup.dir, 'memory.stat'), 'utf8'))?.[1] ?? 0);
    let before = 0;
    let after = 0;
    const { result } = await captureAround(reclaim, async () => {
      const reader = cgroup.spawn([join(projectRoot, 'test', 'eval', 'programs', 'catalog.py'), file, '30']);
      await sleep(300); // after its start (it drops the file from the cache first)
      before = refaulted();
      // Until it has read back more than its limit (a loaded machine gives it less CPU), 20 s at most.
      for (const until = Date.now() + 20_000; refaulted() - before < 48 * MiB && Date.now() < until; ) await sleep(50);
      after = refaulted();
      reader.kill('SIGKILL');
      await once(reader, 'exit');
    });
    const mine = result.groups.find((g) => g.comm === 'catalog.py');
    expect(mine, JSON.stringify(result.groups)).toBeDefined();
    expect(mine).toMatchObject({ limitedAt: `/${cgroup.name}`, limitBytes: 32 * MiB });
    // The capture read the counter at its start (in the background, just after `before` on a loaded machine) and at its end
    // (after `after`): about what the cgroup read back in between, and no more than it ever did.
    expect(after - before).toBeGreaterThan(32 * MiB);
    expect(mine!.refaultedBytes).toBeGreaterThanOrEqual(0.9 * (after - before));
    expect(mine!.refaultedBytes).toBeLessThanOrEqual(refaulted());
    // The host's count (/proc/vmstat) holds the cgroup's (both fold per-CPU counts in batches: not to the page).
    expect(result.hostRefaultedBytes).toBeGreaterThanOrEqual(0.9 * mine!.refaultedBytes!);
    expect(reclaim.text!(result)).toMatch(/of evicted file pages read back under the limit/);
  }, 60_000);
});

const compactSkip = kernelSkipReason() ?? (existsSync('/proc/sys/vm/compact_memory') ? undefined : 'no /proc/sys/vm/compact_memory (CONFIG_COMPACTION off)');

describe.skipIf(compactSkip)(`reclaim: compaction${compactSkip ? ` (skipped: ${compactSkip})` : ''}`, () => {
  afterEach(() => expect(bpfHandlesOf()).toEqual({ programIds: [], links: 0, maps: 0 }));

  it("times a process's own compaction, one stall a zone, and names it; kcompactd's is no process's stall", async () => {
    let pid = 0;
    let wallMs = 0;
    // A write to compact_memory compacts every zone in the writer's own context, as an allocation of a huge page does when it finds none free.
    const { result } = await captureAround(reclaim, async () => {
      const started = performance.now();
      const writer = spawn('sh', ['-c', 'echo 1 > /proc/sys/vm/compact_memory'], { stdio: 'ignore' });
      pid = writer.pid!;
      await once(writer, 'exit');
      wallMs = performance.now() - started;
    });
    const mine = result.groups.filter((g) => g.pid === pid);
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({ kind: 'compaction', comm: 'sh', reclaimedBytes: 0 });
    expect(mine[0]!.stalls).toBeGreaterThanOrEqual(1); // one per zone with memory
    expect(mine[0]!.stalledMs).toBeGreaterThan(0);
    expect(mine[0]!.stalledMs).toBeLessThan(wallMs);
    expect(result.groups.filter((g) => g.comm.startsWith('kcompactd'))).toEqual([]);
    const findings = reclaim.analysis!.analyze(result as never, {
      node: 'n1',
      capture: 'reclaim',
      file: 'nodes/n1/reclaim.json',
      thresholds: mergeThresholds(),
      windowSeconds: (mine[0]!.stalledMs / 1000) * 10, // stalled a tenth of it
    }).findings;
    expect(findings.find((f) => f.evidence.pid === pid)?.title).toMatch(
      new RegExp(`^sh \\(pid ${pid}\\) stalled [\\d.]+ m?s compacting memory in its own allocations: .*; next: let huge pages not wait for compaction`),
    );
  });
});

describe("reclaim's check and baseline", () => {
  it('finds nothing in stalls too few or too short for the window', () => {
    const data = {
      groups: [{ pid: 7, comm: 'app', kind: 'cgroup', stalls: 2, stalledMs: 500, longestMs: 300, reclaimedBytes: MiB }],
      histogram: { count: 2 },
      top: 10,
    };
    const ctx = { node: 'n1', capture: 'reclaim', file: 'f', thresholds: mergeThresholds(), windowSeconds: 10 };
    expect(reclaim.analysis!.analyze(data as never, ctx).findings).toEqual([]); // 2 stalls: a blip
    data.groups[0]!.stalls = 50;
    data.groups[0]!.stalledMs = 50; // 0.5% of 10 s
    expect(reclaim.analysis!.analyze(data as never, ctx).findings).toEqual([]);
    data.groups[0]!.stalledMs = 2000; // 20%: critical
    expect(reclaim.analysis!.analyze(data as never, ctx).findings[0]?.severity).toBe('critical');
  });

  it('gives the baseline its stalls per minute, none counting as zero (a host that starts stalling regresses)', () => {
    expect(reclaim.baseline!({ histogram: { count: 30 }, durationMs: 30_000 })).toEqual([
      { metric: 'memory reclaim stalls', unit: 'per_min', capture: 'reclaim', value: 60, samples: 30 },
    ]);
    expect(reclaim.baseline!({ histogram: { count: 0 }, durationMs: 30_000 })[0]).toMatchObject({ value: 0, samples: 0 });
  });

  it("leads the process's off-CPU waits inside reclaim: the limit, not the disk its reclaim waited on, is the cause", () => {
    // 2 s blocked writing, in a memory cgroup's reclaim that waits for writeback (io_schedule).
    const writes = stack(
      7,
      'cache-api',
      2_000_000,
      [
        user('write', 'libc.so.6'),
        kernel('ksys_write'),
        kernel('try_charge_memcg'),
        kernel('try_to_free_mem_cgroup_pages'),
        kernel('shrink_folio_list'),
        kernel('folio_wait_writeback'),
        kernel('io_schedule'),
        kernel('schedule'),
      ],
      400,
    );
    const offcpu = on(result('offcputime', { stacks: [writes], total: 2_000_000, blocks: 400 }));
    const alone = analyzeRun({ run: run(), results: [offcpu] });
    expect(alone[0]?.title).toContain('reclaiming memory');
    expect(alone[0]?.title).not.toContain('disk I/O');

    const stalls = on(
      result('reclaim', {
        groups: [
          {
            pid: 7,
            comm: 'cache-api',
            kind: 'cgroup',
            stalls: 400,
            stalledMs: 2100,
            longestMs: 40,
            reclaimedBytes: 64 * MiB,
            cgroup: '/app',
            limitedAt: '/app',
            limitBytes: 256 * MiB,
          },
        ],
        histogram: { count: 400 },
        top: 10,
      }),
    );
    const [top, ...rest] = analyzeRun({ run: run(), results: [offcpu, stalls] });
    expect(top?.capture).toBe('reclaim');
    expect(top?.title).toContain('256 MiB on /app');
    expect((top?.evidence.steps as { capture: string }[]).map((st) => st.capture)).toEqual(['offcputime']);
    expect(rest.filter((f) => f.capture === 'offcputime')).toEqual([]);
  });

  it('reads the refault counter of the subtree from memory.stat, v1 and v2, and of kernels before 5.9', () => {
    expect(refaultedPages('workingset_refault_file 5\ntotal_workingset_refault_file 40\n', 1)).toBe(40);
    expect(refaultedPages('anon 1\nworkingset_refault_anon 3\nworkingset_refault_file 7\n', 2)).toBe(7);
    expect(refaultedPages('workingset_refault 9\n', 2)).toBe(9);
    expect(refaultedPages('cache 1\n', 1)).toBeUndefined();
  });

  describe('thrashing: a working set larger than the limit', () => {
    // 3.6 s of the fixtures' 6 s window waiting for disk reads (summed over threads); its cgroup read back 300 MiB under a 48 MiB limit; its reclaim stalls are short.
    const thrashing = (refaultedBytes: number) =>
      on(
        result('reclaim', {
          groups: [
            {
              pid: 7,
              comm: 'catalog',
              kind: 'cgroup',
              stalls: 40,
              stalledMs: 20, // 0.3% of the window: alone, too little for a finding
              longestMs: 2,
              reclaimedBytes: 300 * MiB,
              cgroup: '/svc/catalog',
              limitedAt: '/svc',
              limitBytes: 48 * MiB,
              peakBytes: 48 * MiB,
              refaultedBytes,
            },
          ],
          histogram: { count: 40 },
          top: 10,
        }),
      );
    const diskReads = on(
      result('offcputime', {
        stacks: [
          stack(
            7,
            'catalog',
            3_600_000,
            [user('pread', 'libc.so.6'), kernel('filemap_read'), kernel('folio_wait_bit_common'), kernel('io_schedule'), kernel('schedule')],
            20_000,
          ),
        ],
        total: 3_600_000,
        blocks: 20_000,
      }),
    );

    it("names the limit and the pages read back, and leads the process's disk waits as its own cost", () => {
      const [top, ...rest] = analyzeRun({ run: run(), results: [diskReads, thrashing(300 * MiB)] });
      expect(top?.capture).toBe('reclaim');
      expect(top?.severity).toBe('critical'); // 0.6 s/s of waits, as one cause
      expect(top?.title).toMatch(
        /^catalog \(pid 7\) is thrashing at its memory cgroup's limit \(48 MiB on \/svc, peak 48 MiB\): the cgroup read back 300 MiB of file pages it had evicted \(50 MiB\/s, 6\.3× the limit\)/,
      );
      expect(top?.title).toContain('Its own cost: catalog (pid 7) spent 3.60 s');
      expect(top?.evidence).toMatchObject({ refaultedBytes: 300 * MiB, refaultedBytesPerS: 50 * MiB });
      // Its impact is the disk waits plus its stalls, as one cause's.
      expect(top?.impact?.value).toBeCloseTo(0.6 + 0.02 / 6, 3);
      expect(top?.impact?.bears).toEqual(['latency', 'disk', 'health']);
      expect(rest.filter((f) => f.capture === 'offcputime')).toEqual([]);
    });

    it('takes its fast reads of a file (filetop) as an effect: they reach the disk because the limit evicts them', () => {
      const reads = on(
        result('filetop', {
          rows: [{ pid: 7, comm: 'catalog', path: '/data/catalog.dat', kind: 'file', readBytes: 500 * MiB, writeBytes: 0, reads: 128_000, writes: 0 }],
          totalFiles: 1,
        }),
      );
      const alone = analyzeRun({ run: run(), results: [reads] });
      expect(alone.map((f) => f.capture)).toEqual(['filetop']); // on its own, a finding
      const [top, ...rest] = analyzeRun({ run: run(), results: [reads, diskReads, thrashing(300 * MiB)] });
      expect(top?.capture).toBe('reclaim');
      expect(top?.title).toContain('Effect: catalog (pid 7) read /data/catalog.dat at');
      expect(rest).toEqual([]);
      // A writer is no effect of it.
      const writes = on(
        result('filetop', {
          rows: [{ pid: 7, comm: 'catalog', path: '/data/log', kind: 'file', readBytes: 0, writeBytes: 500 * MiB, reads: 0, writes: 500 }],
          totalFiles: 1,
        }),
      );
      expect(analyzeRun({ run: run(), results: [writes, diskReads, thrashing(300 * MiB)] }).map((f) => f.capture)).toContain('filetop');
    });

    it("with the host short of free memory, the host's pages read back: it names the host, not a limit", () => {
      const hostWide = on(
        result('reclaim', {
          groups: [{ pid: 7, comm: 'catalog', kind: 'direct', stalls: 40, stalledMs: 20, longestMs: 2, reclaimedBytes: 300 * MiB, cgroup: '/' }],
          histogram: { count: 40 },
          top: 10,
          hostRefaultedBytes: 120 * MiB,
        }),
      );
      const [top, ...rest] = analyzeRun({ run: run(), results: [diskReads, hostWide] });
      expect(top?.capture).toBe('reclaim');
      expect(top?.title).toMatch(
        /^catalog \(pid 7\) is thrashing with the host short of free memory: the host read back 120 MiB of file pages it had evicted \(20 MiB\/s\)/,
      );
      expect(top?.title).toContain('Its own cost: catalog (pid 7) spent 3.60 s');
      expect(rest.filter((f) => f.capture === 'offcputime')).toEqual([]);
    });

    it('below 1 MiB/s read back, it is no thrash: the stalls alone decide, and the disk waits stand apart', () => {
      const findings = analyzeRun({ run: run(), results: [diskReads, thrashing(5 * MiB)] });
      expect(findings.map((f) => f.capture)).toEqual(['offcputime']);
      expect(findings[0]?.title).toContain('waiting for disk I/O');
    });
  });
});
