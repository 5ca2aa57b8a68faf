// The lean path (src/queue/job-args.ts) builds BullMQ's script arguments for a
// run's flow itself: they must be, byte for byte, what BullMQ's FlowProducer
// sends for the same flow at the same time (its Lua reads them positionally
// and stores the options it decodes). The calls FlowProducer makes are
// recorded from its own code; run-flow.test.ts checks what Redis then holds.
import { randomUUID } from 'node:crypto';
import { FlowProducer, QueueKeys, type FlowJob, type FlowJobEntry } from 'bullmq';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import type { RunPlan } from '../../src/model/run.js';
import { flowScriptCalls, scriptKeys } from '../../src/queue/job-args.js';
import { runFlow } from '../../src/queue/run-flow.js';

const plan = (nodes: string[], extra: Partial<RunPlan> = {}): RunPlan => ({
  steps: [{ capture: 'execsnoop', params: {} }],
  durationMs: 1000,
  target: {},
  nodes,
  ...extra,
});

describe("a run flow's BullMQ script arguments, built without FlowProducer", () => {
  // Never connects: only its argument building is used.
  const stock = new FlowProducer({ connection: { host: '127.0.0.1', port: 1, lazyConnect: true, maxRetriesPerRequest: 0 } });
  afterAll(() => stock.close());
  afterEach(() => vi.useRealTimers());

  /** What FlowProducer.add would send for `flow`: script name (without version) and arguments. */
  const bullmqCalls = async (flow: FlowJob) => {
    const calls: { name: string; args: unknown[] }[] = [];
    const recorder = {
      runCommand(name: string, args: unknown[]) {
        calls.push({ name: name.split(':')[0]!, args });
        return Promise.resolve('recorded');
      },
    };
    const internals = stock as unknown as {
      addNodes(entries: FlowJobEntry[], flows: FlowJob[]): Promise<unknown>;
      backend: { addJobToTransaction(client: unknown, ...rest: unknown[]): Promise<unknown> };
    };
    const entries: FlowJobEntry[] = [];
    await internals.addNodes(entries, [flow]);
    for (const e of entries) {
      await internals.backend.addJobToTransaction(recorder, e.jobData, e.jobId, e.parentKeyOpts, new QueueKeys(e.prefix).getKeys(e.queueName));
    }
    return calls;
  };

  it.each([
    ['one node', plan(['node-a'])],
    ['three nodes, a CPU budget and a target', plan(['node-a', 'node-b', 'db-1.example'], { cpuBudgetPercent: 5, target: { pids: [42] } as never })],
    // The longest node name (ids and keys past 31 bytes take str8), long non-ASCII data.
    ['the longest node name and long steps', plan(['n'.repeat(63)], { steps: [{ capture: 'execsnoop', params: { comm: 'ü'.repeat(200) } }] })],
  ])('are what FlowProducer sends: %s', async (_, p) => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-12-05T03:00:00.123Z'));
    const flow = runFlow(randomUUID(), p);
    const expected = await bullmqCalls(flow);
    const lean = flowScriptCalls(flow, Date.now());
    expect(lean.map((c) => c.name)).toEqual(expected.map((c) => c.name));
    expect(lean).toHaveLength(1 + p.nodes.length);
    lean.forEach((call, i) => {
      const want = expected[i]!.args;
      // The keys as the batch script builds them from the queue's prefix, then the arguments.
      const sent = [...scriptKeys(call), ...call.args];
      expect(sent).toHaveLength(want.length);
      sent.forEach((arg, j) => {
        // Buffers (msgpack) compared as hex so a difference shows where it is.
        if (Buffer.isBuffer(want[j])) expect(Buffer.isBuffer(arg) ? arg.toString('hex') : arg).toBe((want[j] as Buffer).toString('hex'));
        else expect(arg).toBe(want[j]);
      });
    });
  });

  it('refuses what it does not encode rather than writing something else', () => {
    const flow = runFlow(randomUUID(), plan(['node-a']));
    expect(() => flowScriptCalls({ ...flow, opts: { ...flow.opts, priority: 3 } }, Date.now())).toThrow(/priority is not written/);
    expect(() => flowScriptCalls({ ...flow, opts: { ...flow.opts, jobId: '12' } }, Date.now())).toThrow(/cannot be integers/);
    expect(() => flowScriptCalls({ ...flow, opts: { ...flow.opts, jobId: 'a:b' } }, Date.now())).toThrow(/cannot contain ':'/);
    const nested = { ...flow, children: [{ ...flow.children![0]!, children: [{ name: 'x', queueName: 'q', opts: { jobId: 'x-1' } }] }] };
    expect(() => flowScriptCalls(nested, Date.now())).toThrow(/direct children/);
  });
});
