// oomkill against the real kernel: a v1 memory cgroup with a 32 MiB limit, a
// process holding memory in it (the preferred victim, oom_score_adj 1000) and
// another allocating until the limit is hit. Both get killed; the capture
// names each victim, the limit, the allocating task and the count.
import { once } from 'node:events';
import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, afterEach } from 'vitest';
import { oomkill } from '../../src/captures/oomkill/index.js';
import { oomkillLayout } from '../../src/captures/oomkill/decode.js';
import { oomkillBaseline } from '../../src/captures/oomkill/baseline.js';
import { mergeThresholds } from '../../src/analysis/common.js';
import { projectRoot } from '../../src/util/paths.js';
import { captureAround } from '../helpers/capture-around.js';
import { cLayout } from '../helpers/c-layout.js';
import { faultsBinary } from '../helpers/faults.js';
import { bpfHandlesOf, kernelSkipReason, stillLoaded } from '../helpers/kernel.js';
import { createMemcg, memcgSkipReason } from '../helpers/memcg.js';

const skip = kernelSkipReason() ?? memcgSkipReason();
const MiB = 1024 * 1024;

const exited = (child: ChildProcess) => (child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : once(child, 'exit').then(() => undefined));

function readyLine(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('hog did not get ready')), 10_000);
    child.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && (clearTimeout(timer), resolve()));
    child.once('exit', (code, sig) => reject(new Error(`hog ended early (${code ?? sig})`)));
  });
}

describe('oomkill record layout', () => {
  it('matches bpf/oomkill/oomkill.h', () => {
    const c = cLayout(join(projectRoot, 'bpf/oomkill/oomkill.h'), {
      oomkill_event: [
        'ts_ns',
        'victim_pid',
        'victim_tid',
        'trigger_pid',
        'trigger_tid',
        'victim_uid',
        'oom_score_adj',
        'levels',
        'has_task',
        'total_vm_pages',
        'anon_pages',
        'file_pages',
        'shmem_pages',
        'swap_pages',
        'pgtables_bytes',
        'victim_cgroup_id',
        'trigger_memcg_id',
        'memcg',
        'victim_comm',
        'trigger_comm',
      ],
      oomkill_memcg: ['cgroup_id', 'max_pages', 'usage_pages'],
    });
    const e = (m: string) => c[`oomkill_event.${m}`];
    expect(oomkillLayout).toEqual({
      tsNs: e('ts_ns'),
      victimPid: e('victim_pid'),
      victimTid: e('victim_tid'),
      triggerPid: e('trigger_pid'),
      triggerTid: e('trigger_tid'),
      victimUid: e('victim_uid'),
      oomScoreAdj: e('oom_score_adj'),
      levels: e('levels'),
      hasTask: e('has_task'),
      totalVmPages: e('total_vm_pages'),
      anonPages: e('anon_pages'),
      filePages: e('file_pages'),
      shmemPages: e('shmem_pages'),
      swapPages: e('swap_pages'),
      pgtablesBytes: e('pgtables_bytes'),
      victimCgroupId: e('victim_cgroup_id'),
      triggerMemcgId: e('trigger_memcg_id'),
      memcg: e('memcg'),
      memcgSize: c['oomkill_memcg.sizeof'],
      victimComm: e('victim_comm'),
      triggerComm: e('trigger_comm'),
      size: e('sizeof'),
    });
    expect([c['oomkill_memcg.cgroup_id'], c['oomkill_memcg.max_pages'], c['oomkill_memcg.usage_pages']]).toEqual([0, 8, 16]);
  });
});

describe.skipIf(skip)(`oomkill on the real kernel${skip ? ` (skipped: ${skip})` : ''}`, () => {
  afterEach(() => {
    expect(bpfHandlesOf()).toEqual({ programIds: [], links: 0, maps: 0 });
  });

  it('names both victims, the 32 MiB cgroup limit, the allocating task and the count', async () => {
    const faults = faultsBinary();
    const memcg = createMemcg(32 * MiB);
    try {
      let hogPid = 0;
      let allocPid = 0;
      const { result, programIds } = await captureAround(
        oomkill,
        async () => {
          const hog = memcg.spawn([faults, 'hog', '12']);
          await readyLine(hog);
          hogPid = hog.pid!;
          writeFileSync(`/proc/${hogPid}/oom_score_adj`, '1000');
          const alloc = memcg.spawn([faults, 'alloc', '512']);
          allocPid = alloc.pid!;
          await Promise.race([Promise.all([exited(hog), exited(alloc)]), new Promise((r) => setTimeout(r, 20_000))]);
          expect(hog.signalCode).toBe('SIGKILL');
          expect(alloc.signalCode).toBe('SIGKILL');
        },
        { settleMs: 100 },
      );
      expect(stillLoaded(programIds)).toEqual([]);

      const mine = result.events.filter((e) => e.pid === hogPid || e.pid === allocPid);
      expect(mine).toHaveLength(2);
      const [first, second] = mine;
      // First the preferred victim, killed for the allocator's allocation.
      expect(first).toMatchObject({ pid: hogPid, comm: 'faults', oomScoreAdj: 1000, cgroup: `/${memcg.name}`, triggerPid: allocPid, triggerComm: 'faults' });
      expect(first!.rssBytes).toBeGreaterThan(10 * MiB);
      expect(first!.anonBytes).toBeGreaterThan(10 * MiB);
      expect(first!.limit).toMatchObject({ scope: 'cgroup', cgroup: `/${memcg.name}`, limitBytes: 32 * MiB, source: 'memory.limit_in_bytes' });
      expect(first!.limit!.usageBytes).toBeGreaterThan(28 * MiB);
      // Then the allocator itself, with its own allocation.
      expect(second).toMatchObject({ pid: allocPid, triggerPid: allocPid, cgroup: `/${memcg.name}` });
      expect(second!.limit).toMatchObject({ cgroup: `/${memcg.name}`, limitBytes: 32 * MiB });

      const window = result.durationMs / 1000;
      const analysis = oomkill.analysis!.analyze({ ...result, events: mine } as never, {
        node: 'n1',
        capture: 'oomkill',
        file: 'nodes/n1/oomkill.json',
        thresholds: mergeThresholds(),
        windowSeconds: window,
      });
      expect(analysis.findings).toHaveLength(1); // one cause: the cgroup's limit
      const f = analysis.findings[0]!;
      expect(f.severity).toBe('warning');
      expect(f.title).toContain(`faults (pids ${hogPid} and ${allocPid}) were OOM-killed 2 times`);
      expect(f.title).toContain('2 times');
      expect(f.title).toContain(`32 MiB limit of memory cgroup /${memcg.name} (memory.limit_in_bytes)`);
      expect(f.title).toContain(`came from faults (pid ${allocPid})`);
      expect(f.evidence).toMatchObject({ kills: 2, impact: { events: 2 } });

      const [metric] = oomkillBaseline(result as never);
      expect(metric).toMatchObject({ metric: 'OOM kills', unit: 'per_min', samples: result.events.length, minSamples: 1 });
      expect(metric!.value).toBeCloseTo((result.events.length * 60_000) / result.durationMs, 5);
    } finally {
      await memcg.remove();
    }
  }, 40_000);

  it('a window without kills has none, and a baseline of zero', async () => {
    const { result } = await captureAround(oomkill, async () => {});
    expect(result.events.filter((e) => e.comm === 'faults')).toEqual([]);
    expect(oomkillBaseline({ events: [], durationMs: 10_000 })).toEqual([
      { metric: 'OOM kills', unit: 'per_min', capture: 'oomkill', value: 0, samples: 0, minSamples: 1 },
    ]);
  });
});
