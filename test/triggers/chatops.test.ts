// Slack/Mattermost slash commands: the grammar as a pure function, and the
// receiver through the real API, Redis and an in-process worker, with a local
// HTTP server standing in for Slack's response_url.
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunStore } from '../../src/runs/store.js';
import { parseCommand } from '../../src/triggers/chatops/parse.js';
import { editDistance } from '../../src/util/closest-name.js';
import { slackSignature } from '../../src/triggers/chatops/verify.js';
import { redisServerChildren } from '../helpers/redis.js';
import { RETENTION_SECONDS, fakeNode, startStack, waitFor, type Stack } from '../server/harness.js';
import { startResponseUrl, type Posted, type ResponseUrl } from './response-url.js';

const RUNBOOKS = ['disk-io', 'health-check', 'high-cpu', 'intermittent-latency', 'restarts', 'suspicious-activity'];

describe('chatops grammar', () => {
  it('an alias with a bare service, a window and nodes', () => {
    expect(parseCommand('latency checkout 30s on web-1,web-2', RUNBOOKS)).toEqual({
      kind: 'run',
      runbook: 'intermittent-latency',
      params: { service: 'checkout' },
      duration: '30s',
      nodes: ['web-1', 'web-2'],
    });
  });

  it('run <runbook> with name=value params; window and nodes optional', () => {
    expect(parseCommand('run high-cpu pid=4242', RUNBOOKS)).toEqual({ kind: 'run', runbook: 'high-cpu', params: { pid: '4242' } });
    expect(parseCommand('run high-cpu pid=4242 2s on n1', RUNBOOKS)).toEqual({
      kind: 'run',
      runbook: 'high-cpu',
      params: { pid: '4242' },
      duration: '2s',
      nodes: ['n1'],
    });
    expect(parseCommand('cpu', RUNBOOKS)).toEqual({ kind: 'run', runbook: 'high-cpu', params: {} });
  });

  it('status, cancel, runbooks, help', () => {
    expect(parseCommand('status r-123', RUNBOOKS)).toEqual({ kind: 'status', run: 'r-123' });
    expect(parseCommand('cancel r-123', RUNBOOKS)).toEqual({ kind: 'cancel', run: 'r-123' });
    expect(parseCommand('runbooks', RUNBOOKS)).toEqual({ kind: 'runbooks' });
    expect(parseCommand('help', RUNBOOKS)).toEqual({ kind: 'help' });
    expect(parseCommand('', RUNBOOKS)).toEqual({ kind: 'help' });
  });

  it('a command that does not parse gets the help with the closest runbook name', () => {
    expect(parseCommand('run hihg-cpu', RUNBOOKS)).toMatchObject({ kind: 'help', suggestion: 'high-cpu' });
    expect(parseCommand('latnecy checkout', RUNBOOKS)).toMatchObject({ kind: 'help', suggestion: 'latency' });
    expect(parseCommand('run disk-oi', RUNBOOKS)).toMatchObject({ kind: 'help', suggestion: 'disk-io' });
    expect(parseCommand('zzzzzzzzzzzzzzzzzzzz', RUNBOOKS)).toEqual(expect.objectContaining({ kind: 'help' }));
    expect(parseCommand('zzzzzzzzzzzzzzzzzzzz', RUNBOOKS)).not.toHaveProperty('suggestion');
    expect(parseCommand('latency a b', RUNBOOKS)).toMatchObject({ kind: 'help', problem: expect.stringContaining('unexpected "b"') });
    expect(parseCommand('status', RUNBOOKS)).toMatchObject({ kind: 'help' });
    expect(parseCommand('run high-cpu 2s 3s', RUNBOOKS)).toMatchObject({ kind: 'help', problem: expect.stringContaining('two durations') });
  });

  it('configured aliases', () => {
    expect(parseCommand('slow api', RUNBOOKS, { slow: 'intermittent-latency' })).toMatchObject({ runbook: 'intermittent-latency', params: { service: 'api' } });
    expect(editDistance('kitten', 'sitting')).toBe(3);
  });
});

describe('POST /v1/chatops/slack', () => {
  const NODE = 'chat-node';
  const SECRET = 'test-signing-secret';
  let stack: Stack;
  let hook: ResponseUrl;
  let hookUrl: string;
  let posts: Posted[] = [];
  let busy: ChildProcess | undefined;
  // Read once at API start, as in production (a config file works the same: test/triggers/settings.test.ts).
  const env = {
    SHERLOCK_SLACK_SIGNING_SECRET: SECRET,
    SHERLOCK_MATTERMOST_TOKEN: 'mm-token',
    SHERLOCK_CHATOPS_ALLOW: JSON.stringify({ 'disk-io': { users: ['bob'] } }),
    SHERLOCK_PUBLIC_URL: 'https://sherlock.example.test/',
  };

  beforeAll(async () => {
    stack = await startStack([NODE], { env });
    hook = await startResponseUrl();
    ({ url: hookUrl, posts } = hook);
  }, 30_000);

  afterAll(async () => {
    if (busy && busy.exitCode === null) busy.kill('SIGKILL');
    await hook?.close();
    await stack?.stop();
    expect(redisServerChildren()).toEqual([]);
  }, 30_000);

  const form = (text: string, extra: Record<string, string> = {}) =>
    new URLSearchParams({
      token: 'ignored',
      team_id: 'T1',
      channel_id: 'C42',
      channel_name: 'ops',
      user_id: 'U7',
      user_name: 'alice',
      command: '/sherlock',
      text,
      response_url: hookUrl,
      ...extra,
    }).toString();

  const send = (body: string, headers: Record<string, string>, url = stack.api.url): Promise<{ status: number; json(): Promise<any> }> =>
    fetch(`${url}/v1/chatops/slack`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body,
      signal: AbortSignal.timeout(10_000),
    });

  const signed = (body: string, timestamp = Math.floor(Date.now() / 1000)) => ({
    'x-slack-request-timestamp': String(timestamp),
    'x-slack-signature': slackSignature(SECRET, String(timestamp), body),
  });

  it('is disabled (404) while no secret is configured', async () => {
    const bare = await startStack([], { env: {} });
    try {
      const body = form('help');
      const res = await send(body, signed(body), bare.api.url);
      expect(res.status).toBe(404);
      const reply = await res.json();
      expect(reply.error.code).toBe('not_found');
      expect(reply.error.message).toContain('SHERLOCK_SLACK_SIGNING_SECRET');
    } finally {
      await bare.stop();
    }
  }, 30_000);

  it('a valid signature is accepted; a wrong one, a stale timestamp and a replay are 401', async () => {
    const body = form('help');
    const headers = signed(body);
    const ok = await send(body, headers);
    expect(ok.status).toBe(200);
    expect((await ok.json()).response_type).toBe('ephemeral');

    const replay = await send(body, headers);
    expect(replay.status).toBe(401);
    expect((await replay.json()).error.message).toMatch(/replay/);

    const other = form('runbooks');
    const wrong = await send(other, { ...signed(other), 'x-slack-signature': `v0=${'0'.repeat(64)}` });
    expect(wrong.status).toBe(401);
    expect((await wrong.json()).error.code).toBe('unauthorized');
    const short = await send(other, { ...signed(other), 'x-slack-signature': 'v0=abc' });
    expect(short.status).toBe(401);
    const unsigned = await send(other, {});
    expect(unsigned.status).toBe(401);

    const staleTs = Math.floor(Date.now() / 1000) - 6 * 60;
    const stale = await send(other, signed(other, staleTs));
    expect(stale.status).toBe(401);
    expect((await stale.json()).error.message).toMatch(/5 minutes/);
    // A body changed after signing does not pass either.
    const tampered = await send(form('runbooks '), signed(other));
    expect(tampered.status).toBe(401);
  });

  it('Mattermost: the token form field (constant-time), instead of a signature', async () => {
    const good = await send(form('runbooks', { token: 'mm-token' }), {});
    expect(good.status).toBe(200);
    expect((await good.json()).text).toContain('high-cpu');
    expect((await send(form('runbooks', { token: 'mm-tokeX' }), {})).status).toBe(401);
  });

  it('a command that does not parse: 200, ephemeral help with the closest runbook', async () => {
    const body = form('run hihg-cpu pid=1');
    const res = await send(body, signed(body));
    expect(res.status).toBe(200);
    const reply = await res.json();
    expect(reply.response_type).toBe('ephemeral');
    expect(reply.text).toContain('Did you mean *high-cpu*?');
    expect(reply.text).toContain('/sherlock run <runbook>');
  });

  it('who may run what: a refusal message, 200', async () => {
    const body = form(`run disk-io 2s on ${NODE}`);
    const res = await send(body, signed(body));
    expect(res.status).toBe(200);
    const reply = await res.json();
    expect(reply).toMatchObject({ response_type: 'ephemeral', text: expect.stringContaining('may not run disk-io') });
  });

  it('run high-cpu 2s: ack within 3 s, then progress and findings posted to response_url (≤ 5, in order), audited as the slack user', async () => {
    // Something busy to find: one process spinning for a few seconds.
    busy = spawn(process.execPath, ['-e', 'const end = Date.now() + 8000; while (Date.now() < end) {}'], { stdio: 'ignore' });
    const body = form(`run high-cpu pid=${busy.pid} 2s on ${NODE}`);
    const started = Date.now();
    const res = await send(body, signed(body));
    const ackMs = Date.now() - started;
    expect(res.status).toBe(200);
    expect(ackMs).toBeLessThan(3000);
    const ack = await res.json();
    expect(ack.response_type).toBe('in_channel');
    expect(ack.text).toContain('high-cpu');
    expect(ack.text).toContain(NODE);
    const runId = /run (\S+)\)/.exec(ack.text)?.[1];
    expect(runId).toBeTruthy();

    await waitFor('the final post', () => posts.some((p) => /finished/.test(p.body.text)), { timeoutMs: 60_000, intervalMs: 100 });
    await new Promise((r) => setTimeout(r, 1200)); // nothing more arrives after the final one
    expect(posts.length).toBeGreaterThanOrEqual(2);
    expect(posts.length).toBeLessThanOrEqual(5);
    for (let i = 1; i < posts.length; i++) expect(posts[i]!.at).toBeGreaterThanOrEqual(posts[i - 1]!.at);
    expect(posts[0]!.body.text).toMatch(/running on 1 of 1 node/);
    const last = posts.at(-1)!.body.text;
    expect(last).toMatch(new RegExp(`Run ${runId} \\(high-cpu\\) finished: \\*completed\\*`));
    expect(last).toContain(`https://sherlock.example.test/v1/runs/${runId}/report.html`);
    expect(last).toContain(`https://sherlock.example.test/v1/runs/${runId}/report`);
    const findings = (await new RunStore(stack.conn, { retentionSeconds: RETENTION_SECONDS }).getFindings(runId!)) ?? [];
    expect(findings.length).toBeGreaterThan(0);
    expect(last).toContain('Top findings');
    expect((last.match(/^• \[/gm) ?? []).length).toBe(Math.min(3, findings.length));

    const audit = await stack.admin.get('/v1/audit?limit=20');
    const entry = audit.body.entries.find((e: { action: string; subject: string }) => e.action === 'run.create' && e.subject === runId);
    expect(entry).toMatchObject({
      actor: 'slack:alice (U7) in #ops',
      details: { runbook: 'high-cpu', origin: { user: 'alice', channel: 'ops', command: expect.stringContaining('run high-cpu') } },
    });
    const run = await stack.admin.run(runId!);
    expect(run.requestedBy).toBe('slack:alice (U7) in #ops');

    const statusBody = form(`status ${runId}`);
    const status = await (await send(statusBody, signed(statusBody))).json();
    expect(status.text).toContain('completed');
  }, 90_000);

  it('cancel <run>: a queued run is cancelled and audited as the slack user', async () => {
    const idle = fakeNode(stack.conn, 'idle-node');
    try {
      await idle.ready;
      const startBody = form('run health-check 2s on idle-node', { response_url: '' });
      const ack = await (await send(startBody, signed(startBody))).json();
      const runId = /run (\S+)\)/.exec(ack.text)?.[1];
      expect(runId).toBeTruthy();
      const body = form(`cancel ${runId}`);
      const reply = await (await send(body, signed(body))).json();
      expect(reply).toMatchObject({ response_type: 'in_channel', text: expect.stringContaining(`Cancel requested for run ${runId}`) });
      expect((await stack.admin.run(runId!)).status).toBe('cancelled');
      const audit = await stack.admin.get('/v1/audit?limit=5');
      expect(audit.body.entries[0]).toMatchObject({ action: 'run.cancel', subject: runId, actor: 'slack:alice (U7) in #ops' });
    } finally {
      idle.stop();
    }
  });
});
