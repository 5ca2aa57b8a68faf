// A real worker analyzes its own node: after real captures on this kernel it
// stores analysis.json beside its results (not among its captures), finalize
// merges it without reading the results back, and the stored findings equal
// those of the fallback (every result read back and analyzed in the API).
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keys } from '../../src/redis/keys.js';
import { analyzeStoredRun } from '../../src/runs/findings.js';
import { analyzedArtifacts, NODE_ANALYSIS_ARTIFACT, NODE_ANALYSIS_FORMAT, readNodeAnalyses, type NodeAnalysis } from '../../src/runs/node-analysis.js';
import { bpfHandlesOf, kernelSkipReason } from '../helpers/kernel.js';
import { redisServerChildren } from '../helpers/redis.js';
import { realRun } from '../report/real-run.js';
import { RunStore } from '../../src/runs/store.js';
import { RETENTION_SECONDS, startStack, waitFor, type Stack } from '../server/harness.js';

const skip = kernelSkipReason();
const NODE = 'analysis-node';

describe.skipIf(skip)(`a worker's own analysis${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack([NODE]);
  });

  afterAll(async () => {
    await stack?.stop();
    expect(redisServerChildren()).toEqual([]);
    expect(bpfHandlesOf()).toEqual({ programIds: [], links: 0, maps: 0 });
  });

  /** Checks the run's analysis.json, that finalize used it, and that the fallback gives the stored findings. */
  async function expectSameBothWays(id: string): Promise<NodeAnalysis> {
    const { conn } = stack;
    const store = new RunStore(conn, { retentionSeconds: RETENTION_SECONDS });
    const run = (await store.get(id))!;
    const stored = (await readNodeAnalyses(conn, id, [NODE])).get(NODE);
    if (typeof stored !== 'object') throw new Error(`no usable analysis.json: ${stored}`);
    expect(stored.format).toBe(NODE_ANALYSIS_FORMAT);
    expect(stored.artifacts).toEqual(analyzedArtifacts(run.nodes[NODE]).map((a) => a.artifact));
    expect(run.nodes[NODE]!.captures!.some((c) => c.artifact === NODE_ANALYSIS_ARTIFACT || c.files?.includes(NODE_ANALYSIS_ARTIFACT))).toBe(false);

    const findings = JSON.stringify(await store.getFindings(id));
    const merged = await analyzeStoredRun(conn, run);
    expect(merged.analyzedHere.size).toBe(0);
    expect(JSON.stringify(merged.findings)).toBe(findings);

    await conn.del(keys.artifact(id, NODE, NODE_ANALYSIS_ARTIFACT));
    const fallback = await analyzeStoredRun(conn, run);
    expect([...fallback.analyzedHere.keys()]).toEqual([NODE]);
    expect(JSON.stringify(fallback.findings)).toBe(findings);
    expect([...fallback.metrics]).toEqual([...merged.metrics]);
    return stored;
  }

  it('every result kind captured at once: analysis.json is stored, and finalize equals the fallback', async () => {
    const { id } = await realRun(stack, NODE);
    // Served like any artifact (though not listed among the node's captures).
    const reply = await stack.admin.artifact(id, NODE, NODE_ANALYSIS_ARTIFACT);
    expect(reply.status).toBe(200);
    expect(reply.body.format).toBe(NODE_ANALYSIS_FORMAT);
    const stored = await expectSameBothWays(id);
    expect(stored.part.checked.map((c) => c.capture).sort()).toEqual(['execsnoop', 'filetop', 'opensnoop', 'profile', 'runqlat', 'tcpconnlat', 'tcpretrans']);
    expect(stored.metrics.some((m) => m.metric === 'p99 run-queue latency')).toBe(true);
  });

  it("suspicious-activity: the worker's rules see its execs, and finalize equals the fallback", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sherlock-analysis-'));
    try {
      const program = join(dir, 'from-tmp');
      copyFileSync('/bin/true', program);
      const id = await stack.admin.submit({ runbook: 'suspicious-activity', duration: '2s', targets: { nodes: [NODE] } });
      await waitFor(
        'every capture live',
        async () => {
          const entries = await stack.conn.xrange(keys.runEvents(id), '-', '+');
          return entries.map(([, f]) => JSON.parse(f[1]!) as { type: string }).filter((e) => e.type === 'capture-live').length === 6; // one per step of suspicious-activity
        },
        { timeoutMs: 10_000, intervalMs: 10 },
      );
      for (let i = 0; i < 3; i++) spawnSync(program);
      const run = await stack.admin.waitFinal(id, 20_000);
      expect(run.status).toBe('completed');
      const stored = await expectSameBothWays(id);
      const hit = stored.part.findings.find((f) => f.evidence.rule === 'exec-from-tmp' && JSON.stringify(f.evidence.examples).includes(program));
      expect(hit?.severity).toBe('warning');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
