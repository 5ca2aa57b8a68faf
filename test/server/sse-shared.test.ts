// SSE clients share one Redis reader per API process: 1,000 clients over real
// HTTP on one run add at most 2 Redis connections (CLIENT LIST), and each of
// them sees each transition exactly once, then the stream ends with the run.
import { request, type ClientRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisServerChildren } from '../helpers/redis.js';
import { fakeNode, startStack, waitFor, type Stack } from './harness.js';

const CLIENTS = 1000;

interface SseClient {
  req: ClientRequest;
  text: string;
  ended: boolean;
}

describe('SSE clients sharing one Redis reader', () => {
  let stack: Stack;
  let node: ReturnType<typeof fakeNode>;
  const clients: SseClient[] = [];

  beforeAll(async () => {
    stack = await startStack();
    node = fakeNode(stack.conn, 'sse-node');
    await node.ready;
  }, 30_000);

  afterAll(async () => {
    for (const c of clients) c.req.destroy();
    node?.stop();
    await stack?.stop();
    expect(redisServerChildren()).toEqual([]);
  });

  const connections = async () =>
    String(await stack.conn.client('LIST'))
      .trim()
      .split('\n').length;

  it(`serves ${CLIENTS} clients with at most 2 more Redis connections, each seeing every transition once`, async () => {
    const id = await stack.admin.submit({ steps: [{ capture: 'execsnoop' }], duration: '5s', targets: { nodes: ['sse-node'] } });
    const before = await connections();
    const url = new URL(`${stack.api.url}/v1/runs/${id}/events`);
    for (let i = 0; i < CLIENTS; i++) {
      const client: SseClient = { text: '', ended: false, req: undefined as unknown as ClientRequest };
      client.req = request(
        { host: url.hostname, port: url.port, path: url.pathname, agent: false, headers: { authorization: `Bearer ${stack.adminToken}` } },
        (res) => {
          res.setEncoding('utf8');
          res.on('data', (d: string) => (client.text += d));
          res.on('end', () => (client.ended = true));
        },
      );
      client.req.on('error', () => (client.ended = true));
      client.req.end();
      clients.push(client);
    }
    await waitFor('every client to have the run-queued event', () => clients.every((c) => c.text.includes('event: run-queued')), {
      timeoutMs: 60_000,
      intervalMs: 100,
    });
    expect(clients.filter((c) => c.ended)).toHaveLength(0);
    const during = await connections();
    expect(during - before).toBeLessThanOrEqual(2);

    // A transition while all of them wait on the shared reader: the queued node is cancelled, the run ends.
    expect((await stack.admin.delete(`/v1/runs/${id}`)).status).toBe(202);
    await waitFor('every stream to end with the run', () => clients.every((c) => c.ended), { timeoutMs: 60_000, intervalMs: 100 });
    const count = (text: string, what: string) => text.split(what).length - 1;
    for (const c of clients) {
      expect(count(c.text, 'event: run-queued')).toBe(1);
      expect(count(c.text, 'event: node-finished')).toBe(1);
      expect(count(c.text, 'event: run-finished')).toBe(1);
    }
    expect(await connections()).toBeLessThanOrEqual(before + 2);
  }, 120_000);
});
