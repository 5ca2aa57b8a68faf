// A worker process killed mid-capture: the run still ends (partial) once the
// capture window plus grace has passed, the other node's data is intact, and
// the kernel dropped the dead worker's programs.
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RUN_GRACE_MS } from '../../src/worker/run-node-job.js';
import { bpfHandlesOf, kernelSkipReason, stillLoaded } from '../helpers/kernel.js';
import { processExists, redisServerChildren } from '../helpers/redis.js';
import { distSkipReason, execMarker, spawnWorker, startStack, waitCaptureLive, waitFor, type ChildWorker, type Stack } from './harness.js';

const skip = kernelSkipReason() ?? distSkipReason();
const DURATION_MS = 3000;

describe.skipIf(skip)(`a worker process killed during a run${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let stack: Stack;
  const children: ChildWorker[] = [];

  // Per attempt, not per file: a retry needs both workers alive again.
  beforeEach(async () => {
    stack = await startStack();
    children.splice(0);
    children.push(spawnWorker('crash-a', stack.redis.url), spawnWorker('crash-b', stack.redis.url));
    await waitFor(
      'both worker processes listed by GET /v1/nodes',
      async () => {
        for (const c of children) if (c.child.exitCode !== null) throw new Error(`worker ${c.node} exited: ${c.output()}`);
        const names = (await stack.admin.get('/v1/nodes')).body.nodes.map((n: { name: string }) => n.name);
        return names.includes('crash-a') && names.includes('crash-b');
      },
      { timeoutMs: 20_000, intervalMs: 100 },
    );
  }, 30_000);

  afterEach(async () => {
    for (const c of children) await c.stop('SIGKILL', 5_000);
    for (const c of children) expect(processExists(c.pid)).toBe(false);
    await stack?.stop();
    expect(redisServerChildren()).toEqual([]);
    expect(bpfHandlesOf()).toEqual({ programIds: [], links: 0, maps: 0 });
  });

  it('ends the run partial within duration + grace, keeps crash-b’s artifact, and leaves no program of crash-a loaded', async () => {
    const { admin } = stack;
    const [a, b] = children as [ChildWorker, ChildWorker];
    const marker = `sherlock-crash-${randomUUID()}`;
    const submittedAt = Date.now();
    const id = await admin.submit({ steps: [{ capture: 'execsnoop' }], duration: DURATION_MS, targets: { nodes: ['crash-a', 'crash-b'] } });

    await admin.waitRun(id, (r) => r.nodes['crash-a']?.status === 'running', 'crash-a running', 10_000);
    // Running is recorded before the load: wait until both nodes' probes are attached (capture-live).
    await waitCaptureLive(stack.conn, id, ['crash-a', 'crash-b'], DURATION_MS);
    const programIds = bpfHandlesOf(a.pid).programIds;
    expect(programIds.length).toBeGreaterThan(0);
    expect(stillLoaded(programIds, 0)).toEqual(programIds); // now, without waiting: the capture window runs
    expect(await execMarker(marker)).toBe(0);

    a.child.kill('SIGKILL');
    expect(await a.exited).toEqual([null, 'SIGKILL']);
    // The kernel frees a dead process's programs with its fds (RCU: soon after).
    await waitFor("crash-a's programs unloaded", () => stillLoaded(programIds).length === 0, { timeoutMs: 5_000, intervalMs: 50 });

    const limitMs = DURATION_MS + RUN_GRACE_MS + 5_000;
    const run = await admin.waitFinal(id, limitMs + 2_000);
    const endedAfter = Date.parse(run.finishedAt!) - submittedAt;
    expect(run.status).toBe('partial');
    expect(endedAfter).toBeLessThan(limitMs);
    // Not before the deadline: the reaper waits for the window plus grace.
    expect(endedAfter).toBeGreaterThanOrEqual(DURATION_MS + RUN_GRACE_MS - 1_000);

    const dead = run.nodes['crash-a']!;
    expect(dead.status).toBe('failed');
    expect(dead.error).toMatch(/did not report back within the capture window plus grace/);
    expect(dead.captures).toBeUndefined();
    expect((await admin.artifact(id, 'crash-a', 'execsnoop.json')).status).toBe(404);

    const alive = run.nodes['crash-b']!;
    expect(alive.status).toBe('completed');
    expect(alive.captures![0]).toMatchObject({ capture: 'execsnoop', cancelled: false, artifact: 'execsnoop.json' });
    const artifact = await admin.artifact(id, 'crash-b', 'execsnoop.json');
    expect(artifact.status).toBe(200);
    const events = (artifact.body as { events: { argv: string[] }[] }).events;
    expect(events).toHaveLength(alive.captures![0]!.count);
    const echoes = events.filter((e) => e.argv[0]?.endsWith('echo')).map((e) => e.argv.join(' '));
    expect(
      events.filter((e) => e.argv.includes(marker)),
      `marker ${marker}; echo execs seen: ${JSON.stringify(echoes)}`,
    ).toHaveLength(1);

    const timeline = await stack.conn.xrange(`{sherlock}:run:${id}:events`, '-', '+');
    const types = timeline.map(([, f]) => JSON.parse(f[1]!) as { type: string; node?: string; status?: string; reason?: string });
    expect(types).toContainEqual(expect.objectContaining({ type: 'node-finished', node: 'crash-a', status: 'failed', reason: 'timeout' }));
    expect(types.at(-1)).toMatchObject({ type: 'run-finished', status: 'partial' });
    expect(stillLoaded(programIds)).toEqual([]);

    // The surviving worker process stops cleanly and withdraws its node.
    expect(await b.stop('SIGTERM')).toEqual([0, null]);
    const names = (await admin.get('/v1/nodes')).body.nodes.map((n: { name: string }) => n.name);
    expect(names).not.toContain('crash-b');
  }, 45_000);
});
