// Inputs that used to give 500s or match through Object.prototype: each gets a
// clear 4xx (or matches nothing), and the server stays usable afterwards.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadTriggerSettings } from '../../src/triggers/settings.js';
import { RunbookCatalog } from '../../src/runbooks/catalog.js';
import { validateParams } from '../../src/runbooks/params.js';
import { parseCommand } from '../../src/triggers/chatops/parse.js';
import { projectRoot } from '../../src/util/paths.js';
import { slackSignature } from '../../src/triggers/chatops/verify.js';
import { redisServerChildren } from '../helpers/redis.js';
import { fakeNode, isJsonError, startStack, type Stack } from './harness.js';

const PROTO_WORDS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf'];
const SIGNING = 'hostile-signing';

describe('hostile names through the API', () => {
  let stack: Stack;
  let node: ReturnType<typeof fakeNode>;

  beforeAll(async () => {
    stack = await startStack([], { env: { SHERLOCK_SLACK_SIGNING_SECRET: SIGNING } });
    node = fakeNode(stack.conn, 'hostile-node');
    await node.ready;
  }, 30_000);

  afterAll(async () => {
    node?.stop();
    await stack?.stop();
    expect(redisServerChildren()).toEqual([]);
  }, 30_000);

  it('an artifact name with ":" (a chunk key\'s shape) is a 400 naming the rule; a bad node name too', async () => {
    await stack.conn.hset('{sherlock}:run:r1', 'id', 'r1');
    const id = await stack.admin.submit({ steps: [{ capture: 'execsnoop' }], duration: '1s', targets: { nodes: ['hostile-node'] } });
    for (const name of ['execsnoop.json:0', 'a:b', '.hidden', 'x'.repeat(200)]) {
      const reply = await stack.admin.get(`/v1/runs/${id}/nodes/hostile-node/artifacts/${encodeURIComponent(name)}`);
      expect(reply.status, name).toBe(400);
      expect(isJsonError(reply)).toBe(true);
      expect(reply.body.error.message).toContain('artifact names are');
    }
    for (const bad of ['__proto__', 'constructor', 'Bad%20Name']) {
      const reply = await stack.admin.get(`/v1/runs/${id}/nodes/${bad}/artifacts/execsnoop.json`);
      expect([400, 404], bad).toContain(reply.status);
      expect(isJsonError(reply)).toBe(true);
    }
    expect((await stack.admin.delete(`/v1/runs/${id}`)).status).toBe(202);
  });

  it('GET /v1/audit?before=abc is a 400 saying what an id looks like', async () => {
    const reply = await stack.admin.get('/v1/audit?before=abc');
    expect(reply.status).toBe(400);
    expect(reply.body.error.message).toContain('audit entry id');
    const page = await stack.admin.get('/v1/audit?limit=1');
    expect(page.status).toBe(200);
    const next = await stack.admin.get(`/v1/audit?before=${page.body.entries[0].id}`);
    expect(next.status).toBe(200);
  });

  it('a heartbeat with an invalid node name is no node: /metrics, /v1/nodes, targets and cancel still work', async () => {
    const record = JSON.stringify({
      name: 'Bad Name:1',
      labels: {},
      kernel: 'x',
      btf: true,
      captures: ['execsnoop'],
      busy: false,
      lastSeen: new Date().toISOString(),
      version: '0',
    });
    await stack.conn
      .multi()
      .hset('{sherlock}:nodes', 'Bad Name:1', record)
      .zadd('{sherlock}:nodes:seen', Date.now(), 'Bad Name:1')
      .hset('{sherlock}:nodes', 'garbage', '{nope')
      .zadd('{sherlock}:nodes:seen', Date.now(), 'garbage')
      .exec();
    try {
      expect((await stack.admin.get('/metrics')).status).toBe(200);
      const nodes = await stack.admin.get('/v1/nodes');
      expect(nodes.status).toBe(200);
      expect(nodes.body.nodes.map((n: { name: string }) => n.name)).toEqual(['hostile-node']);
      const id = await stack.admin.submit({ steps: [{ capture: 'execsnoop' }], duration: '1s', targets: { all: true } });
      expect((await stack.admin.run(id)).nodes).toHaveProperty('hostile-node');
      expect((await stack.admin.delete(`/v1/runs/${id}`)).status).toBe(202);
      const named = await stack.admin.post('/v1/runs', { steps: [{ capture: 'execsnoop' }], duration: '1s', targets: { nodes: ['Bad Name:1'] } });
      expect(named.status).toBe(400);
    } finally {
      await stack.conn.multi().hdel('{sherlock}:nodes', 'Bad Name:1', 'garbage').zrem('{sherlock}:nodes:seen', 'Bad Name:1', 'garbage').exec();
    }
  });

  it('__proto__ and friends as label names match no node; as param names they are unknown params', async () => {
    for (const word of PROTO_WORDS) {
      const labels = await stack.admin.call('POST', '/v1/runs', {
        rawBody: `{"steps":[{"capture":"execsnoop"}],"duration":"1s","targets":{"labels":{"${word}":"x"}}}`,
        contentType: 'application/json',
      });
      expect(labels.status, word).toBe(409);
      expect(labels.body.error.code).toBe('no_live_node');
      const params = await stack.admin.call('POST', '/v1/runs', {
        rawBody: `{"runbook":"high-cpu","params":{"${word}":"x"},"duration":"1s","targets":{"all":true}}`,
        contentType: 'application/json',
      });
      expect(params.status, word).toBe(400);
      expect(params.text).toContain(`unknown param ${word}`);
    }
    // A label the node has still matches.
    const id = await stack.admin.submit({ steps: [{ capture: 'execsnoop' }], duration: '1s', targets: { labels: { fake: 'yes' } } });
    expect((await stack.admin.delete(`/v1/runs/${id}`)).status).toBe(202);
  });

  it("/sherlock constructor (and friends) is an unknown command, not a function's source", async () => {
    for (const word of PROTO_WORDS) {
      for (const text of [word, `run ${word}`]) {
        const body = new URLSearchParams({ user_id: 'U1', user_name: 'a', channel_id: 'C1', channel_name: 'ops', command: '/sherlock', text }).toString();
        const ts = String(Math.floor(Date.now() / 1000));
        const res = await fetch(`${stack.api.url}/v1/chatops/slack`, {
          method: 'POST',
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            'x-slack-request-timestamp': ts,
            'x-slack-signature': slackSignature(SIGNING, ts, body),
          },
          body,
        });
        expect(res.status).toBe(200);
        const reply = (await res.json()) as { text: string };
        expect(reply.text).toMatch(/unknown (command|runbook)/);
        expect(reply.text).not.toMatch(/native code|function/);
      }
    }
  });
});

describe('prototype words in pure lookups', () => {
  const runbooks = RunbookCatalog.load(join(projectRoot, 'runbooks'));

  it('chat commands and params', () => {
    for (const word of PROTO_WORDS) {
      expect(parseCommand(word, runbooks.names())).toMatchObject({ kind: 'help' });
      expect(parseCommand(`run ${word}`, runbooks.names())).toMatchObject({ kind: 'help' });
      const { errors } = validateParams(runbooks.get('high-cpu')!, JSON.parse(`{"${word}": "1"}`));
      expect(errors.map((e) => e.param)).toEqual([word]);
    }
  });

  it('config: an alias or allow rule named like a prototype key is an ordinary key', () => {
    const settings = loadTriggerSettings(
      {
        env: {
          SHERLOCK_SLACK_SIGNING_SECRET: 'x'.repeat(20),
          SHERLOCK_CHATOPS_ALIASES: '{"constructor": "high-cpu", "prototype": "disk-io"}',
          SHERLOCK_CHATOPS_ALLOW: '{"high-cpu": {"users": ["alice"]}}',
        },
      },
      runbooks,
    );
    expect(parseCommand('constructor', runbooks.names(), settings.chatops.aliases)).toMatchObject({ kind: 'run', runbook: 'high-cpu' });
    expect(parseCommand('prototype', runbooks.names(), settings.chatops.aliases)).toMatchObject({ kind: 'run', runbook: 'disk-io' });
    expect(parseCommand('__proto__', runbooks.names(), settings.chatops.aliases)).toMatchObject({ kind: 'help' });
    expect(parseCommand('toString', runbooks.names(), settings.chatops.aliases)).toMatchObject({ kind: 'help' });
    expect(Object.hasOwn(settings.chatops.allow!, 'toString')).toBe(false);
  });
});
