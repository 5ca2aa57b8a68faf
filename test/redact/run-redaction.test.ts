// Secrets in real processes' argv never leave the worker: a chat-started
// suspicious-activity run watches processes started with each secret shape,
// and none of the secret values is anywhere in the bundle, the API's JSON,
// the logs or the posts to the command's response_url. The processes must be
// seen (their marker is in the results), or the test proves nothing.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compilePatterns } from '../../src/redact/index.js';
import { slackSignature } from '../../src/triggers/chatops/verify.js';
import { setLogLevel, setLogSink } from '../../src/util/logger.js';
import { startNodeWorker, type NodeWorker } from '../../src/worker/node-worker.js';
import { redisServerChildren } from '../helpers/redis.js';
import { unpack } from '../report/unpack.js';
import { RETENTION_SECONDS, startStack, waitFor, type Stack } from '../server/harness.js';
import { startResponseUrl, type ResponseUrl } from '../triggers/response-url.js';
import { kernelSkipReason } from '../helpers/kernel.js';

const NODE = 'redact-node';
const SIGNING = 'redact-signing-secret';
const skip = kernelSkipReason();

const SECRETS = {
  passwordFlag: 'Zq1pwFlagValue',
  mysqlAttached: 'Zq2mysqlValue',
  envAssignment: 'Zq3envTokenValue',
  urlCredentials: 'Zq4urlPassValue',
  bearer: 'Zq5bearerValueXYZ',
  aws: 'AKIAZQ6REDACTTEST012',
  sshpass: 'Zq7sshpassValue',
  tokenFlag: 'Zq8tokenFlagValue',
  github: 'ghp_Zq9githubAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
  slack: 'xoxb-Zq10slack-AAAAAAAAAAAA',
  privateKey: 'Zq11privateKeyBodyMIIEpAIBAAKCAQEA',
  shellLine: 'Zq12shellLineValue',
  basic: 'WnExM2Jhc2ljVmFsdWU=',
  operator: 'INTERNAL-Zq14',
};

describe.skipIf(Boolean(skip))(`secrets in argv are redacted before they leave the worker${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let stack: Stack;
  let worker: NodeWorker;
  let hook: ResponseUrl;
  let dir: string;
  const logs: string[] = [];

  beforeAll(async () => {
    setLogLevel('debug');
    setLogSink((level, msg, fields) => logs.push(`${level} ${msg} ${JSON.stringify(fields)}`));
    stack = await startStack([], { env: { SHERLOCK_SLACK_SIGNING_SECRET: SIGNING } });
    worker = await startNodeWorker({
      redisUrl: stack.redis.url,
      node: NODE,
      labels: {},
      retentionSeconds: RETENTION_SECONDS,
      redaction: compilePatterns(['acme-(?<secret>INTERNAL-[A-Za-z0-9]+)']),
    });
    hook = await startResponseUrl();
    dir = mkdtempSync(join(tmpdir(), 'sherlock-redact-'));
    for (const name of ['true', 'mysql', 'sshpass']) copyFileSync('/bin/true', join(dir, name));
  }, 30_000);

  afterAll(async () => {
    setLogSink(undefined);
    setLogLevel('error');
    await worker?.stop();
    await hook?.close();
    await stack?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
    expect(redisServerChildren()).toEqual([]);
  }, 30_000);

  const run = (file: string, args: string[], env: NodeJS.ProcessEnv = process.env) =>
    new Promise<void>((resolve, reject) => {
      const child = spawn(file, args, { stdio: 'ignore', env });
      child.once('error', reject);
      child.once('exit', () => resolve());
    });

  it('a chat-started run: no secret value anywhere it could go', async () => {
    const marker = `sherlock-redact-${randomUUID()}`;
    const body = new URLSearchParams({
      team_id: 'T1',
      channel_id: 'C1',
      channel_name: 'ops',
      user_id: 'U1',
      user_name: 'alice',
      command: '/sherlock',
      text: `run suspicious-activity 10s on ${NODE}`,
      response_url: hook.url,
    }).toString();
    const ts = String(Math.floor(Date.now() / 1000));
    const ack = await fetch(`${stack.api.url}/v1/chatops/slack`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-slack-request-timestamp': ts, 'x-slack-signature': slackSignature(SIGNING, ts, body) },
      body,
    });
    expect(ack.status).toBe(200);
    const id = await waitFor('the chat run', async () => (await stack.admin.get('/v1/runs?limit=1')).body.runs?.[0]?.id as string | undefined);
    const steps = ((await stack.admin.get(`/v1/runs/${id}`)).body.plan.steps as unknown[]).length;
    await waitFor(
      'every capture live',
      async () => {
        const entries = await stack.conn.xrange(`{sherlock}:run:${id}:events`, '-', '+');
        return entries.filter(([, f]) => JSON.parse(f[1]!).type === 'capture-live').length === steps;
      },
      { timeoutMs: 15_000, intervalMs: 20 },
    );

    const t = join(dir, 'true');
    await run(t, [marker, `--password=${SECRETS.passwordFlag}`]);
    await run(join(dir, 'mysql'), [marker, '-uroot', `-p${SECRETS.mysqlAttached}`, 'shop']);
    await run('/usr/bin/env', [`API_TOKEN=${SECRETS.envAssignment}`, t, marker]);
    await run(t, [marker, `https://alice:${SECRETS.urlCredentials}@example.com/x`]);
    await run(t, [marker, '-H', `Authorization: Bearer ${SECRETS.bearer}`]);
    await run(t, [marker, '-H', `Authorization: Basic ${SECRETS.basic}`]);
    await run(t, [marker, SECRETS.aws]);
    await run(join(dir, 'sshpass'), [marker, '-p', SECRETS.sshpass, 'ssh', 'host']);
    await run(t, [marker, '--token', SECRETS.tokenFlag]);
    await run(t, [marker, SECRETS.github, SECRETS.slack]);
    await run(t, [marker, `-----BEGIN PRIVATE KEY-----\n${SECRETS.privateKey}\n-----END PRIVATE KEY-----`]);
    await run('/bin/sh', ['-c', `mysql -uroot -p${SECRETS.shellLine} ${marker}`], { ...process.env, PATH: `${dir}:${process.env.PATH}` });
    await run(t, [marker, `acme-${SECRETS.operator}`]);

    const final = await stack.admin.waitFinal(id, 30_000);
    expect(final.status).toBe('completed');
    await waitFor('the final chat post', () => hook.posts.some((p) => p.body.text.includes('finished')), { timeoutMs: 10_000 });

    const places = new Map<string, string>();
    const bundle = await fetch(`${stack.api.url}/v1/runs/${id}/report`, { headers: { authorization: `Bearer ${stack.adminToken}` } });
    expect(bundle.status).toBe(200);
    const entries = await unpack(Buffer.from(await bundle.arrayBuffer()));
    for (const [name, entry] of entries) places.set(`bundle ${name}`, entry.data.toString('utf8'));
    for (const path of [`/v1/runs/${id}`, `/v1/runs/${id}/findings`, `/v1/runs/${id}/events`, `/v1/runs/${id}/report.html`, '/v1/audit', '/v1/runs']) {
      places.set(`GET ${path}`, (await stack.admin.get(path)).text);
    }
    for (const name of ['execsnoop.json', 'execsnoop.ndjson', 'opensnoop.json', 'analysis.json']) {
      places.set(`artifact ${name}`, (await stack.admin.artifact(id, NODE, name)).text);
    }
    places.set('chat posts', JSON.stringify(hook.posts));
    places.set('logs', logs.join('\n'));

    // The processes were seen, and their secrets counted.
    const ndjson = places.get('artifact execsnoop.ndjson')!;
    expect(ndjson.split(marker).length - 1).toBeGreaterThanOrEqual(13);
    const manifest = JSON.parse(entries.get(`sherlock-${id}/manifest.json`)!.data.toString('utf8'));
    const exec = manifest.nodes[0].captures.find((c: { capture: string }) => c.capture === 'execsnoop');
    expect(exec.redactions).toBeGreaterThanOrEqual(Object.keys(SECRETS).length);
    expect(ndjson).toContain('[REDACTED]');
    expect(ndjson).toContain('--password=[REDACTED]');

    const leaks: string[] = [];
    for (const [place, text] of places) {
      for (const [shape, secret] of Object.entries(SECRETS)) if (text.includes(secret)) leaks.push(`${shape} in ${place}`);
    }
    expect(leaks).toEqual([]);
  }, 90_000);
});
