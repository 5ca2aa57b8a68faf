// reclaim against the real kernel: a v1 memory cgroup with a 16 MiB limit and
// a writer inside it filling the page cache far past the limit, so each of its
// writes past the limit reclaims the cgroup's own pages first. The capture
// times those stalls for the writer, names its memory cgroup and the limit,
// and the check turns them into a finding with the limit in its title.
import { once } from 'node:events';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, afterEach } from 'vitest';
import { reclaim } from '../../src/captures/reclaim/index.js';
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
});
