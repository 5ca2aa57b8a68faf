// One worker per node name: a second `sherlock worker` with the same --node
// refuses to start, naming the holder's host and pid, while the first is
// alive; once the first dies (SIGKILL, no clean release) its lease expires and
// a new worker takes the name over.
import { hostname } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NODE_TTL_MS } from '../../src/nodes/registry.js';
import { keys } from '../../src/redis/keys.js';
import { kernelSkipReason } from '../helpers/kernel.js';
import { processExists, redisServerChildren } from '../helpers/redis.js';
import { distSkipReason, spawnWorker, startStack, waitFor, type ChildWorker, type Stack } from './harness.js';

const skip = kernelSkipReason() ?? distSkipReason();
const NODE = 'lease-node';

describe.skipIf(skip)(`one worker process per node name${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let stack: Stack;
  const children: ChildWorker[] = [];
  const spawn = () => {
    const child = spawnWorker(NODE, stack.redis.url);
    children.push(child);
    return child;
  };
  const listed = async () => (await stack.admin.get('/v1/nodes')).body.nodes.some((n: { name: string }) => n.name === NODE);

  beforeAll(async () => {
    stack = await startStack();
  }, 30_000);

  afterAll(async () => {
    for (const c of children) await c.stop('SIGKILL', 5_000);
    for (const c of children) expect(processExists(c.pid)).toBe(false);
    await stack?.stop();
    expect(redisServerChildren()).toEqual([]);
  });

  it('refuses a second worker naming the holder, and lets one take over after the holder died', async () => {
    const first = spawn();
    await waitFor(
      'the first worker listed',
      async () => {
        if (first.child.exitCode !== null) throw new Error(`first worker exited: ${first.output()}`);
        return listed();
      },
      { timeoutMs: 20_000, intervalMs: 100 },
    );

    const second = spawn();
    const [code] = await second.exited;
    expect(code).toBe(1);
    expect(second.output()).toContain(`node name "${NODE}" is held by another worker, pid ${first.pid} on ${hostname()}`);
    expect(second.output()).not.toMatch(/\n\s+at /);
    expect(first.child.exitCode).toBeNull(); // the holder is untouched
    expect(JSON.parse((await stack.conn.get(keys.nodeLease(NODE)))!)).toMatchObject({ pid: first.pid, host: hostname() });

    // Dead without releasing: refused until the lease expires, then taken over.
    first.child.kill('SIGKILL');
    await first.exited;
    const early = spawn();
    expect((await early.exited)[0]).toBe(1);
    expect(early.output()).toMatch(new RegExp(`pid ${first.pid} .*if it died, its hold expires within \\d+ s`));

    await waitFor('the dead holder’s lease to expire', async () => (await stack.conn.exists(keys.nodeLease(NODE))) === 0, {
      timeoutMs: NODE_TTL_MS + 2_000,
      intervalMs: 200,
    });
    const next = spawn();
    await waitFor(
      'the new worker to hold the name',
      async () => {
        if (next.child.exitCode !== null) throw new Error(`new worker exited: ${next.output()}`);
        const value = await stack.conn.get(keys.nodeLease(NODE));
        return value !== null && (JSON.parse(value) as { pid: number }).pid === next.pid && (await listed());
      },
      { timeoutMs: 20_000, intervalMs: 100 },
    );

    // A clean stop gives the name back at once.
    expect(await next.stop('SIGTERM')).toEqual([0, null]);
    expect(await stack.conn.exists(keys.nodeLease(NODE))).toBe(0);
  }, 60_000);
});
