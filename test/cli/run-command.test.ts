// `sherlock run` as a user runs it: the compiled CLI as a child process against
// a real API, a real Redis and real workers (in this process, so the child is
// spawned asynchronously: a blocking spawn would freeze the API it talks to).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareStreamIds, normalizeApiUrl } from '../../src/cli/api-client.js';
import { paramValue, runRequest, stepsWithParams } from '../../src/cli/run/flags.js';
import { progressLine } from '../../src/cli/run/progress.js';
import { apiToken } from '../../src/cli/run/token.js';
import { UsageError } from '../../src/cli/usage-error.js';
import { bpfHandlesOf, kernelSkipReason } from '../helpers/kernel.js';
import { redisServerChildren } from '../helpers/redis.js';
import { distSkipReason, execMarker, fakeNode, sherlockBin, startStack, waitFor, type Stack } from '../server/harness.js';

const distSkip = distSkipReason();
const kernelSkip = distSkip ?? kernelSkipReason();
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/;

const tempDirs: string[] = [];
const tempDir = (what: string) => {
  const dir = mkdtempSync(join(tmpdir(), `sherlock-run-${what}-`));
  tempDirs.push(dir);
  return dir;
};
/** A state dir with no admin token, so no test reads /var/lib/sherlock by accident. */
const emptyStateDir = tempDir('state');

const children = new Set<ChildProcess>();

interface CliRun {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
}

/** `node bin/sherlock.js ARGS`, with no token or API URL from this environment unless given. */
function startCli(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 25_000): CliRun {
  const base: NodeJS.ProcessEnv = { ...process.env, SHERLOCK_STATE_DIR: emptyStateDir, SHERLOCK_LOG: 'error', LANG: 'C' };
  delete base.SHERLOCK_TOKEN;
  delete base.SHERLOCK_API_URL;
  const child = spawn(process.execPath, [sherlockBin, ...args], { env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) => {
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      children.delete(child);
      resolve({ code, signal, stdout, stderr });
    });
  });
  return { child, stdout: () => stdout, stderr: () => stderr, exited };
}

const cli = (args: string[], env?: NodeJS.ProcessEnv) => startCli(args, env).exited;

/** One line on stderr, no stack trace. */
function expectOneLine(stderr: string, message: RegExp): void {
  expect(stderr.trim()).toMatch(message);
  expect(stderr.trim().split('\n')).toHaveLength(1);
  expect(stderr).not.toMatch(/\n\s+at /);
}

afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

describe('sherlock run: building the request', () => {
  const flags = (values: Record<string, unknown>) => ({ wait: false, detach: false, json: false, help: false, ...values }) as Parameters<typeof runRequest>[0];

  it('targets every live node by default, and turns flags into the POST /v1/runs body', () => {
    expect(runRequest(flags({ steps: ['execsnoop,profile'] }), [])).toEqual({
      steps: [
        { capture: 'execsnoop', params: {} },
        { capture: 'profile', params: {} },
      ],
      targets: { all: true },
      untilStopped: true, // followed with no --duration: until Ctrl-C
    });
    // Detached, no one is there to press Ctrl-C: the runbook's (or server's) default window.
    expect(runRequest(flags({ steps: ['execsnoop'], detach: true }), [])).not.toHaveProperty('untilStopped');
    expect(
      runRequest(
        flags({
          param: ['service=checkout', 'threshold=100', 'verbose=true'],
          node: ['web-1,web-2', 'web-3'],
          duration: '30s',
          'target-comm': 'nginx',
          'target-pid': ['1,2'],
          reason: 'INC-42',
        }),
        ['intermittent-latency'],
      ),
    ).toEqual({
      runbook: 'intermittent-latency',
      params: { service: 'checkout', threshold: '100', verbose: 'true' }, // text: the server types them per runbook
      duration: 30_000,
      target: { comm: 'nginx', pid: [1, 2] },
      targets: { nodes: ['web-1', 'web-2', 'web-3'] },
      reason: 'INC-42',
    });
    expect(runRequest(flags({ steps: ['runqlat'], label: ['role=db', 'zone=a'] }), []).targets).toEqual({ labels: { role: 'db', zone: 'a' } });
  });

  it('--falco-rules names operator rule files (".yaml" optional); a path or a bad name is a usage error saying what is allowed', () => {
    expect(runRequest(flags({ 'falco-rules': ['extra,more.yaml', 'third'] }), ['suspicious-activity']).falcoRules).toEqual(['extra', 'more', 'third']);
    expect(runRequest(flags({}), ['suspicious-activity'])).not.toHaveProperty('falcoRules');
    expect(() => runRequest(flags({ 'falco-rules': ['/etc/falco/rules.yaml'] }), ['suspicious-activity'])).toThrow(
      /--falco-rules takes the name of an operator rule file on the workers .*not a path: "\/etc\/falco\/rules.yaml"/,
    );
    expect(() => runRequest(flags({ 'falco-rules': ['bad name'] }), ['suspicious-activity'])).toThrow(/letters, digits, "\.", "_" and "-", got "bad name"/);
  });

  it("sends --param to every step, or with capture. to one, in the captures' own key names", () => {
    expect(
      stepsWithParams(
        ['execsnoop', 'profile'],
        [
          ['max-events', '5'],
          ['profile.frequency', '49'],
        ],
      ),
    ).toEqual([
      { capture: 'execsnoop', params: { maxEvents: 5 } },
      { capture: 'profile', params: { maxEvents: 5, frequency: 49 } },
    ]);
    expect(() => stepsWithParams(['execsnoop'], [['profile.frequency', '49']])).toThrow(/names profile, which is not in --steps \(execsnoop\)/);
    expect([paramValue('12'), paramValue('-1.5'), paramValue('false'), paramValue('12a'), paramValue('')]).toEqual([12, -1.5, false, '12a', '']);
  });

  it('finds the token in --token, then SHERLOCK_TOKEN, then the local admin-token file; never sends that file to another host', () => {
    const state = tempDir('token');
    writeFileSync(join(state, 'admin-token'), 'shk_from_file\n');
    const local = 'http://127.0.0.1:7070';
    expect(apiToken({ token: 'shk_flag' }, local, { SHERLOCK_TOKEN: 'shk_env', SHERLOCK_STATE_DIR: state })).toBe('shk_flag');
    expect(apiToken({}, local, { SHERLOCK_TOKEN: 'shk_env', SHERLOCK_STATE_DIR: state })).toBe('shk_env');
    expect(apiToken({}, local, { SHERLOCK_STATE_DIR: state })).toBe('shk_from_file');
    expect(apiToken({}, 'http://localhost:7070', { SHERLOCK_STATE_DIR: state })).toBe('shk_from_file');
    expect(() => apiToken({}, 'http://sherlock.example:7070', { SHERLOCK_STATE_DIR: state })).toThrow(UsageError);
    expect(() => apiToken({}, local, { SHERLOCK_STATE_DIR: emptyStateDir })).toThrow(/no API token: pass --token T or set SHERLOCK_TOKEN/);
  });

  it('reads the API URL as people type it', () => {
    expect(normalizeApiUrl('sherlock.example:7070/')).toBe('http://sherlock.example:7070');
    expect(normalizeApiUrl('https://sherlock.example/api/')).toBe('https://sherlock.example/api');
    expect(() => normalizeApiUrl('ftp://x')).toThrow(/http:\/\/ or https:\/\//);
    expect(compareStreamIds('1700000000000-2', '1700000000000-10')).toBeLessThan(0);
    expect(compareStreamIds('1700000000001-0', '1700000000000-10')).toBeGreaterThan(0);
  });

  it("draws a node's bar from the run duration: elapsed, remaining, then the outcome", () => {
    const live = { status: 'running' as const, startedAt: 0, liveAt: 1000, durationMs: 4000, live: ['execsnoop'] };
    expect(progressLine('web-1', live, 2000, 6)).toBe('web-1   [######------------------]  1.0s of 4s, 3.0s left · execsnoop live');
    expect(progressLine('web-1', live, 9000, 6)).toBe('web-1   [########################]  storing results');
    expect(progressLine('web-1', { ...live, durationMs: 600_000 }, 13_500, 6, ['#', '-'], true)).toBe(
      'web-1   [------------------------]  12.5s, until Ctrl-C (at most 10m) · execsnoop live',
    );
    expect(progressLine('web-1', { status: 'queued', position: 3, live: [] }, 0, 6)).toBe('web-1   [------------------------]  queued, position 3');
    expect(progressLine('web-1', { status: 'failed', startedAt: 0, finishedAt: 12_000, reason: 'timeout', live: [] }, 0, 6)).toBe(
      'web-1   [------------------------]  failed in 12s: timeout',
    );
  });
});

describe.skipIf(distSkip)(`sherlock run: bad usage exits 2${distSkip ? ` (skipped: ${distSkip})` : ''}`, () => {
  const id = randomUUID();
  it.each([
    [['run', '--bogus'], /Unknown option '--bogus' for sherlock run; allowed: --param, --steps, --node, --label, --duration/],
    [['run'], /sherlock run needs a runbook \(sherlock run intermittent-latency\) or --steps execsnoop,profile/],
    [['run', 'high-cpu', '--steps', 'profile'], /give a runbook or --steps, not both/],
    [['run', 'a', 'b'], /sherlock run takes one runbook, got "a" "b"/],
    [['run', '--steps', 'execsnoop', '--duration', '20m'], /--duration takes 1s to 10m \(like 30s or 2m\), got "20m"/],
    [['run', '--steps', 'execsnoop', '--label', 'role'], /--label takes key=value, got "role"/],
    [['run', '--steps', 'execsnoop', '--node', 'a', '--label', 'k=v'], /give --node or --label, not both/],
    [['run', '--steps', 'execsnoop', '--detach', '--out', '/tmp'], /--out does not go with --detach/],
    [['run', '--steps', 'execsnoop', '--detach', '--wait'], /give --detach or --wait, not both/],
    [['run', '--steps', 'execsnoop', '--target-pid', 'abc'], /--target-pid takes positive process ids, got "abc"/],
    [['run', '--steps', 'execsnoop', '--target-port', '70000'], /--target-port takes a TCP port 1-65535/],
    [['run', '--steps', 'execsnoop', '--param', 'profile.frequency=9'], /--param profile.frequency names profile, which is not in --steps/],
    [['run', '--status', 'last'], /--status takes a run id \(a UUID from `sherlock run`\), got "last"/],
    [['run', '--status', id, '--steps', 'execsnoop'], /--status ID takes only --api and --token, not --steps/],
    [['run', '--cancel', id, '--wait'], /--cancel ID takes only --api and --token/],
    [['run', '--steps', 'execsnoop', '--api', 'ftp://x'], /--api takes an http:\/\/ or https:\/\/ URL/],
    [['run', '--steps', 'execsnoop'], /no API token: pass --token T or set SHERLOCK_TOKEN \(no admin token in .*admin-token either\)/],
  ])('%j → exit 2 with one line saying what is allowed', async (args, message) => {
    const { code, stdout, stderr } = await cli(args);
    expectOneLine(stderr, message);
    expect(stdout).toBe('');
    expect(code).toBe(2);
  });

  it('--help lists the flags, examples and the exit codes', async () => {
    const { code, stdout } = await cli(['run', '--help']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/--steps execsnoop,profile/);
    expect(stdout).toMatch(/--cancel ID/);
    expect(stdout).toMatch(/--json {15}NDJSON on stdout/);
    expect(stdout).toMatch(/\nexamples:\n {2}sherlock run --steps execsnoop {2,}watch every exec/);
    expect(stdout).toMatch(
      /\nexit codes:\n {2}0 {2}[^\n]*no finding is above info\n {2}1 {2}findings above info[^]*\n {2}2 {2}bad usage[^]*\n {2}3 {2}failure/,
    );
    expect(stdout).not.toMatch(/--wait|mi-b/); // the old spelling is taken, not shown
  });

  it('an API that is not there is one line and exit 3', async () => {
    const port = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const { port } = server.address() as { port: number };
        server.close(() => resolve(port));
      });
    });
    const { code, stderr } = await cli(['run', '--steps', 'execsnoop', '--api', `127.0.0.1:${port}`, '--token', 'shk_x']);
    expectOneLine(stderr, new RegExp(`cannot reach the API at http://127.0.0.1:${port} \\(ECONNREFUSED\\)`));
    expect(code).toBe(3);
  });
});

describe.skipIf(distSkip)(`sherlock run against an older API whose event stream drops${distSkip ? ` (skipped: ${distSkip})` : ''}`, () => {
  // A stand-in API: no findings or report routes yet (404 from the router), and
  // an SSE stream that ends mid-run the first time and is replayed in full on
  // the next connection, as the real one is.
  const id = randomUUID();
  const node = 'old-node';
  const at = (ms: number) => new Date(Date.UTC(2024, 0, 1, 0, 0, 0, ms)).toISOString();
  const record = (status: string) => ({
    id,
    status,
    createdAt: at(0),
    startedAt: at(10),
    ...(status === 'completed' ? { finishedAt: at(1500) } : {}),
    requestedBy: 'test',
    plan: { steps: [{ capture: 'execsnoop', params: {} }], durationMs: 1000, target: {}, nodes: [node] },
    nodes: {
      [node]:
        status === 'completed'
          ? {
              status: 'completed',
              startedAt: at(10),
              finishedAt: at(1400),
              captures: [
                {
                  capture: 'execsnoop',
                  kind: 'events',
                  count: 7,
                  dropped: 2,
                  bpfCpuNs: 1_500_000,
                  durationMs: 1000,
                  cancelled: false,
                  artifact: 'execsnoop.json',
                },
              ],
            }
          : { status: 'running', startedAt: at(10) },
    },
  });
  const events = [
    { type: 'run-queued', nodes: [node] },
    { type: 'node-started', node, durationMs: 1000 },
    { type: 'capture-live', node, capture: 'execsnoop' },
    { type: 'node-finished', node, status: 'completed' },
    { type: 'run-finished', status: 'completed' },
  ];
  let connections = 0;
  let server: Server;
  let url: string;
  const sent: string[] = [];

  beforeAll(async () => {
    server = createHttpServer((req, res) => {
      sent.push(`${req.method} ${req.url}`);
      const json = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      if (req.headers.authorization !== 'Bearer shk_old') return json(401, { error: { code: 'unauthorized', message: 'the API token is unknown or revoked' } });
      if (req.method === 'POST' && req.url === '/v1/runs')
        return json(202, { id, status: 'queued', nodes: [node], links: { self: `/v1/runs/${id}`, events: `/v1/runs/${id}/events` } });
      if (req.url === `/v1/runs/${id}`) return json(200, record(connections >= 2 ? 'completed' : 'running'));
      if (req.url === `/v1/runs/${id}/events`) {
        connections++;
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        const upTo = connections === 1 ? 2 : events.length; // the first stream breaks off after node-started
        for (const [i, e] of events.slice(0, upTo).entries()) res.write(`id: 1700000000000-${i}\nevent: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`);
        return res.end();
      }
      json(404, { error: { code: 'not_found', message: `no route ${req.method} ${req.url}` } });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });

  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
  });

  it('reconnects without repeating what it showed, then shows the capture summaries and skips the bundle with a note', async () => {
    const out = tempDir('out-old');
    const { code, stdout, stderr } = await cli(['run', '--steps', 'execsnoop', '--duration', '1s', '--wait', '--out', out, '--api', url], {
      SHERLOCK_TOKEN: 'shk_old',
    });
    expect(stderr).not.toMatch(/sherlock: /);
    expect(code).toBe(0);
    expect(connections).toBe(2);
    expect(stderr.split('\n').filter((l) => l.startsWith(`${node}: started`))).toHaveLength(1);
    expect(stderr).toMatch(new RegExp(`${node}: started, capturing for 1s\n${node}: execsnoop live\n${node}: completed after [\\d.]+m?s\nrun completed\n$`));
    expect(stdout).toMatch(new RegExp(`^run ${id} completed in 1.5s: 1 completed\n    ${node}  completed in 1.4s  \\(2 events DROPPED\\)\n`));
    expect(stdout).toMatch(
      /findings: not available from this API yet; what each node captured:\nNODE\s+CAPTURE\s+COUNT\s+DROPPED\s+BPF-CPU\s+TIME\s+RESULT\nold-node\s+execsnoop\s+7\s+2\s+1.50ms\s+1s\s+execsnoop.json\n/,
    );
    expect(stdout).toContain(
      `report: skipped, this API has no report bundle yet (GET /v1/runs/${id}/report); raw results are per node, e.g. ${url}/v1/runs/${id}/nodes/${node}/artifacts/execsnoop.json`,
    );
    expect(readdirSync(out)).toEqual([]);
    expect(sent).toContain(`GET /v1/runs/${id}/findings`);
  });
});

describe.skipIf(distSkip)(`sherlock run against the API: errors, --status, --cancel${distSkip ? ` (skipped: ${distSkip})` : ''}`, () => {
  let stack: Stack;
  let node: ReturnType<typeof fakeNode>;
  const FAKE = 'cli-fake';
  const withToken = (args: string[], token = stack.adminToken) => ['run', ...args, '--api', stack.api.url, '--token', token];

  beforeAll(async () => {
    stack = await startStack([]);
    // Live by heartbeat, no worker behind it: runs to it stay queued.
    node = fakeNode(stack.conn, FAKE);
    await node.ready;
  });

  afterAll(async () => {
    node?.stop();
    await stack?.stop();
    expect(redisServerChildren()).toEqual([]);
  });

  it("an unknown runbook prints the API's message and exits 3", async () => {
    const { code, stdout, stderr } = await cli(withToken(['nosuch-runbook']));
    expectOneLine(stderr, /^sherlock: unknown runbook "nosuch-runbook"/);
    expect(stdout).toBe('');
    expect(code).toBe(3);
  });

  it.each([
    ['a node that is not live', ['--steps', 'execsnoop', '--node', 'ghost'], /^sherlock: node ghost is not live; live nodes: .*cli-fake/],
    ['an unknown capture', ['--steps', 'nosuchcapture'], /^sherlock: invalid request body: steps\.0\.capture: capture must be one of: .*execsnoop/],
    ['a bad capture setting', ['--steps', 'execsnoop', '--param', 'maxEvents=0'], /^sherlock: steps\[0\] \(execsnoop\): .*maxEvents/],
    ['an unknown run', ['--status', randomUUID()], /^sherlock: no run [0-9a-f-]{36} \(it may have expired after the retention period\)/],
  ])("%s: the API's one-line message, exit 3", async (_what, args, message) => {
    const { code, stderr } = await cli(withToken(args));
    expectOneLine(stderr, message);
    expect(code).toBe(3);
  });

  it('a bad token exits 3 with the 401 message; a read-only token with the 403 one', async () => {
    const bad = await cli(withToken(['--steps', 'execsnoop'], 'shk_not-a-real-token'));
    expectOneLine(bad.stderr, /^sherlock: the API token is unknown or revoked \(pass --token or set SHERLOCK_TOKEN\)$/);
    expect(bad.code).toBe(3);
    const { secret } = await stack.api.tokens.create('cli-reader', ['runs:read'], 'test');
    const reader = await cli(withToken(['--steps', 'execsnoop', '--node', FAKE], secret));
    expectOneLine(reader.stderr, /^sherlock: this token lacks the runs:write scope \(it has: runs:read\)$/);
    expect(reader.code).toBe(3);
  });

  it('--detach prints the run id and links at once; --status shows it queued; --cancel cancels it once', async () => {
    // The token from the state dir of `sherlock up`, the API from SHERLOCK_API_URL.
    const state = tempDir('up-state');
    writeFileSync(join(state, 'admin-token'), `${stack.adminToken}\n`, { mode: 0o600 });
    const env = { SHERLOCK_STATE_DIR: state, SHERLOCK_API_URL: stack.api.url };
    const t0 = Date.now();
    const submitted = await cli(['run', '--steps', 'execsnoop', '--node', FAKE, '--duration', '5s', '--reason', 'cli test', '--detach'], env);
    expect(submitted.code).toBe(0);
    expect(Date.now() - t0).toBeLessThan(10_000);
    const id = UUID.exec(submitted.stdout)![0];
    expect(submitted.stdout).toMatch(new RegExp(`^run ${id} queued on 1 node: ${FAKE}\n`));
    expect(submitted.stdout).toContain(`status: sherlock run --status ${id} --api ${stack.api.url}`);
    expect(submitted.stdout).toContain(`events: ${stack.api.url}/v1/runs/${id}/events`);
    expect(submitted.stdout).toContain(`report: ${stack.api.url}/v1/runs/${id}/report`);
    expect(submitted.stdout).toContain(`cancel: sherlock run --cancel ${id}`);
    expect((await stack.admin.run(id)).plan).toMatchObject({ durationMs: 5000, nodes: [FAKE], reason: 'cli test' });

    const status = await cli(['run', '--status', id], env);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(new RegExp(`^run ${id}  queued\n`));
    expect(status.stdout).toMatch(/steps execsnoop, 5s on all processes \(cli test\)/);
    expect(status.stdout).toMatch(/asked by test-admin at /);
    expect(status.stdout).toMatch(new RegExp(`${FAKE}  queued \\(position 1\\)`));

    const cancel = await cli(['run', '--cancel', id], env);
    expect(cancel.stderr).toBe('');
    expect(cancel.code).toBe(0);
    expect(cancel.stdout).toMatch(new RegExp(`^cancel requested for run ${id} \\(status now cancelled\\)`));
    expect((await stack.admin.run(id)).status).toBe('cancelled');

    const again = await cli(['run', '--cancel', id], env);
    expectOneLine(again.stderr, new RegExp(`^sherlock: run ${id} already ended \\(cancelled\\)$`));
    expect(again.code).toBe(3);
  });
});

describe.skipIf(kernelSkip)(`sherlock run --wait on real workers${kernelSkip ? ` (skipped: ${kernelSkip})` : ''}`, () => {
  let stack: Stack;
  const NODES = ['cli-a', 'cli-b'];
  const withApi = (args: string[]) => ['run', ...args, '--api', stack.api.url, '--token', stack.adminToken];

  beforeAll(async () => {
    stack = await startStack(NODES);
  });

  afterAll(async () => {
    for (const child of children) child.kill('SIGKILL');
    await stack?.stop();
    expect(redisServerChildren()).toEqual([]);
    expect(bpfHandlesOf()).toEqual({ programIds: [], links: 0, maps: 0 });
  });

  /** The bundle, when this API serves GET /v1/runs/:id/report; else the note that says it skipped it. */
  function expectBundleOrNote(stdout: string, file: string): void {
    if (existsSync(file)) {
      expect(stdout).toContain(`report: ${file} (`);
      expect(readFileSync(file).subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b])); // gzip
    } else {
      expect(stdout).toMatch(/report: skipped, this API has no report bundle yet \(GET \/v1\/runs\/[0-9a-f-]{36}\/report\)/);
    }
  }

  /** Waits until the child's plain progress says every node's execsnoop is live. */
  const waitLive = (run: CliRun, nodes = NODES) =>
    waitFor('execsnoop live on every node', () => nodes.every((n) => run.stderr().includes(`${n}: execsnoop live`)), { timeoutMs: 10_000, intervalMs: 20 });

  /** Exit 1 when the findings printed hold one above info, else 0 (a shared host may give warnings the test did not make). */
  const expectExitFromFindings = (code: number | null, stdout: string) => expect(code).toBe(/\n {2}(WARNING|CRITICAL) /.test(stdout) ? 1 : 0);

  it('runs execsnoop on every live node: events as they arrive, per-node progress, the outcome, the bundle; exit by findings', async () => {
    const out = tempDir('out');
    const marker = `sherlock-cli-${randomUUID()}`;
    const run = startCli(withApi(['--steps', 'execsnoop', '--duration', '4s', '--out', out]));
    await waitLive(run);
    expect(await execMarker(marker)).toBe(0);
    // Printed while the window is still open, not at its end.
    await waitFor('the exec printed live', () => run.stdout().includes(marker), { timeoutMs: 3000, intervalMs: 20 });
    expect(run.stdout()).not.toMatch(/findings/);
    expect(run.stderr()).not.toMatch(/completed after/);
    const { code, stdout, stderr } = await run.exited;
    expect(stderr).not.toMatch(/sherlock: /);
    expectExitFromFindings(code, stdout);

    const id = UUID.exec(stderr)![0];
    expect(stderr).toMatch(new RegExp(`^run ${id} submitted to 2 nodes; Ctrl-C ends the window early and reports what was captured\n`));
    // The capture's own columns, a header once, then a row per exec with its node.
    expect(stdout).toMatch(/^NODE {3}EXECSNOOP {2}TIME\s+COMM\s+PID\s+PPID/m);
    for (const node of NODES) expect(stdout).toMatch(new RegExp(`^${node}  execsnoop  .*/bin/echo ${marker}`, 'm'));
    for (const node of NODES) {
      // In order, per node: started, live, completed.
      expect(stderr).toMatch(new RegExp(`${node}: started, capturing for 4s\n[^]*${node}: execsnoop live\n[^]*${node}: completed after \\d`));
    }
    expect(stderr).toMatch(/run completed\n$/);

    expect(stdout).toMatch(new RegExp(`\nrun ${id} completed in [\\d.]+s: 2 completed\n`));
    for (const node of NODES) expect(stdout).toMatch(new RegExp(`\n    ${node}  completed in [\\d.]+s\n`));
    if (/findings: not available from this API yet/.test(stdout)) {
      // No findings route yet: the per-node capture summaries instead.
      for (const node of NODES) expect(stdout).toMatch(new RegExp(`\n${node}\\s+execsnoop\\s+[1-9]\\d*\\s+0\\s+[\\d.]+ms\\s+4s\\s+execsnoop.json`));
    } else {
      expect(stdout).toMatch(/\nfindings: none|\nfindings \(\d+\):/);
    }
    expectBundleOrNote(stdout, join(out, `sherlock-${id}.tar.gz`));
    expect(readdirSync(out).filter((f) => f.endsWith('.part'))).toEqual([]);

    // What the CLI ran is what the API stored: both nodes saw the exec.
    for (const node of NODES) {
      const artifact = await stack.admin.artifact(id, node, 'execsnoop.json');
      expect(artifact.body.events.filter((e: { argv: string[] }) => e.argv.includes(marker))).toHaveLength(1);
    }
  });

  it("sends --node, --param, --target-* and --duration as the run's plan; --out FILE names the bundle", async () => {
    const out = tempDir('out-file');
    const file = join(out, 'incident.tar.gz');
    const { code, stdout, stderr } = await cli(
      withApi(['--steps', 'execsnoop', '--node', 'cli-b', '--param', 'max-events=50', '--target-comm', 'echo', '--duration', '1s', '--wait', '--out', file]),
    );
    expect(stderr).not.toMatch(/sherlock: /);
    expectExitFromFindings(code, stdout);
    const id = UUID.exec(stdout)![0];
    const run = await stack.admin.run(id);
    expect(run.plan).toMatchObject({
      durationMs: 1000,
      nodes: ['cli-b'],
      target: { comm: 'echo' },
      steps: [{ capture: 'execsnoop', params: { maxEvents: 50 } }],
    });
    expect(Object.keys(run.nodes)).toEqual(['cli-b']);
    expect(stderr).not.toMatch(/cli-a/);
    expectBundleOrNote(stdout, file);
  });

  it('with no --duration captures until Ctrl-C, then stops the run on every node, prints its findings and writes its report', async () => {
    const out = tempDir('out-int');
    const marker = `sherlock-cli-${randomUUID()}`;
    const run = startCli(withApi(['--steps', 'execsnoop', '--out', out]));
    await waitLive(run);
    // It names itself, and its command line no longer holds the token it was given.
    expect(readFileSync(`/proc/${run.child.pid}/comm`, 'utf8').trim()).toBe('sherlock run');
    expect(readFileSync(`/proc/${run.child.pid}/cmdline`, 'utf8')).not.toContain(stack.adminToken);
    const id = UUID.exec(run.stderr())![0];
    expect(run.stderr()).toMatch(new RegExp(`^run ${id} submitted to 2 nodes; capturing until Ctrl-C and reports what was captured\n`));
    for (const node of NODES) expect(run.stderr()).toContain(`${node}: started, capturing until Ctrl-C (at most 10m)`);
    expect(await execMarker(marker)).toBe(0);
    await waitFor('the exec printed live', () => NODES.every((n) => new RegExp(`^${n}  execsnoop  .*${marker}`, 'm').test(run.stdout())), {
      timeoutMs: 3000,
      intervalMs: 20,
    });
    const t0 = Date.now();
    run.child.kill('SIGINT');
    const { code, stderr, stdout } = await run.exited;
    expect(Date.now() - t0).toBeLessThan(15_000);
    expect(stderr).not.toMatch(/sherlock: /);
    expect(stderr).toContain('stopping: every node ends its window and stores what it captured');
    expectExitFromFindings(code, stdout);
    expect(stdout).toMatch(new RegExp(`\nrun ${id} completed in [\\d.]+m?s: 2 completed\n`));
    expect(stdout).toMatch(/\nfindings: none|\nfindings \(\d+\):/);
    expectBundleOrNote(stdout, join(out, `sherlock-${id}.tar.gz`));
    const stored = await stack.admin.run(id);
    expect(stored.status).toBe('completed');
    expect(stored.plan).toMatchObject({ untilStopped: true, durationMs: 600_000 });
    for (const node of NODES) {
      expect(stored.nodes[node]!.captures![0]).toMatchObject({ capture: 'execsnoop', cancelled: true });
      expect(stored.nodes[node]!.captures![0]!.durationMs).toBeLessThan(30_000);
      const artifact = await stack.admin.artifact(id, node, 'execsnoop.json');
      expect(artifact.body.events.filter((e: { argv: string[] }) => e.argv.includes(marker))).toHaveLength(1);
    }
  });

  it('a second Ctrl-C leaves at once (exit 130); the run still stops and completes', async () => {
    const run = startCli(withApi(['--steps', 'execsnoop', '--duration', '30s', '--out', tempDir('out-int2')]));
    await waitLive(run);
    const id = UUID.exec(run.stderr())![0];
    run.child.kill('SIGINT');
    await waitFor('stopping said', () => run.stderr().includes('stopping:'), { timeoutMs: 3000, intervalMs: 10 });
    run.child.kill('SIGINT');
    const { code, stderr } = await run.exited;
    expect(code).toBe(130);
    expect(stderr).toMatch(new RegExp(`left run ${id} without waiting; it is stopping and then finishes by itself|left; run ${id} has ended`));
    expect(stderr).not.toContain(stack.adminToken); // the secret stays out of the scrollback
    expect((await stack.admin.waitFinal(id, 15_000)).status).toBe('completed');
  });

  it('--json prints NDJSON: the run, each event as it arrives (redacted as stored), each finding, the run again with the exit code', async () => {
    const marker = `sherlock-cli-${randomUUID()}`;
    const run = startCli(withApi(['--steps', 'execsnoop', '--node', 'cli-a', '--duration', '3s', '--json', '--out', tempDir('out-json')]));
    await waitLive(run, ['cli-a']);
    // A secret on a command line: live output shows what the stored result shows, [REDACTED].
    const child = spawn('/bin/echo', [marker, `--password=${marker}-hunter2`], { stdio: 'ignore' });
    await new Promise((resolve) => child.once('exit', resolve));
    const { code, stdout, stderr } = await run.exited;
    expect(stderr).not.toMatch(/sherlock: /);
    const records = stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown> & { type: string });
    expect(records[0]).toMatchObject({ type: 'run', status: 'queued', nodes: ['cli-a'] });
    const last = records.at(-1)!;
    expect(last).toMatchObject({ type: 'run', status: 'completed', nodes: { 'cli-a': 'completed' }, exitCode: code });
    expect(String(last.report)).toMatch(/sherlock-[0-9a-f-]{36}\.tar\.gz$/);
    expect(records.slice(1, -1).every((r) => r.type === 'event' || r.type === 'finding' || r.type === 'not-shown')).toBe(true);
    const mine = records.filter((r) => r.type === 'event' && (r.event as { argv: string[] }).argv.includes(marker));
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({ node: 'cli-a', capture: 'execsnoop', event: { argv: ['/bin/echo', marker, '--password=[REDACTED]'] } });
    expect(stdout).not.toContain('hunter2');
    const findings = records.filter((r) => r.type === 'finding');
    expect(code).toBe(findings.some((f) => f.severity !== 'info') ? 1 : 0);
    expect(last.findings).toBe(findings.length);
    // Events come before findings: as they arrived, while the window was open.
    expect(records.findIndex((r) => r.type === 'finding')).not.toBeLessThan(records.findIndex((r) => r === mine[0]));
    // The human outcome went to stderr, out of the NDJSON.
    expect(stderr).toMatch(/run [0-9a-f-]{36} completed in/);
  });

  it('runs a runbook with --param (as text; the server types it) and prints its findings', async (ctx) => {
    const listed = await stack.admin.get('/v1/runbooks');
    if (listed.status !== 200 || !listed.body.runbooks?.some((r: { name: string }) => r.name === 'high-cpu')) return ctx.skip();
    const { code, stdout, stderr } = await cli(
      withApi(['high-cpu', '--param', 'frequency=49', '--node', 'cli-a', '--duration', '2s', '--out', tempDir('out-runbook')]),
    );
    expect(stderr).not.toMatch(/sherlock: /);
    expectExitFromFindings(code, stdout);
    const id = UUID.exec(stdout)![0];
    expect((await stack.admin.run(id)).plan).toMatchObject({ runbook: 'high-cpu', durationMs: 2000, params: { frequency: 49 } });
    expect(stderr).toMatch(/cli-a: profile live/);
    expect(stdout).toMatch(/\nfindings: none|\nfindings \(\d+\):/);

    const bad = await cli(withApi(['high-cpu', '--param', 'frequency=5000']));
    expectOneLine(bad.stderr, /^sherlock: runbook high-cpu: param frequency: 5000 is above the maximum 999/);
    expect(bad.code).toBe(3);
  });

  it('a run cancelled while it is followed ends the wait with its outcome and exit 3', async () => {
    const run = startCli(withApi(['--steps', 'execsnoop', '--duration', '30s', '--out', tempDir('out-cancel')]));
    await waitLive(run);
    const id = UUID.exec(run.stderr())![0];
    const status = await cli(withApi(['--status', id]));
    expect(status.stdout).toMatch(new RegExp(`^run ${id}  running\n`));
    for (const node of NODES) expect(status.stdout).toMatch(new RegExp(`\n    ${node}\\s+running\n`));
    expect((await cli(withApi(['--cancel', id]))).code).toBe(0);
    const { code, stdout, stderr } = await run.exited;
    expect(stderr).toMatch(/cli-a: cancelled after/);
    expect(stdout).toMatch(new RegExp(`(^|\n)run ${id} cancelled in [\\d.]+s: 2 cancelled\n`));
    expect(code).toBe(/\n {2}(WARNING|CRITICAL) /.test(stdout) ? 1 : 3);
    const after = await cli(withApi(['--status', id]));
    expect(after.stdout).toMatch(/execsnoop\.json \(stopped early\)/);
  });

  const hasScript = spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;
  it.skipIf(!hasScript)('on a terminal draws a progress bar per node with elapsed and remaining time', async () => {
    const out = tempDir('out-tty');
    const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
    const command = ['stty cols 120;', process.execPath, sherlockBin, ...withApi(['--steps', 'execsnoop', '--duration', '2s', '--wait', '--out', out])]
      .map((a, i) => (i === 0 ? a : quote(a)))
      .join(' ');
    // script(1) gives the CLI a pseudo-terminal; the output is what a person would see.
    const { code, stdout } = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
      const child = spawn('script', ['-qec', command, '/dev/null'], {
        env: { ...process.env, LANG: 'C', SHERLOCK_STATE_DIR: emptyStateDir },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      children.add(child);
      let text = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (text += d));
      child.once('close', (c) => {
        children.delete(child);
        resolve({ code: c, stdout: text });
      });
    });
    expectExitFromFindings(code, stdout);
    const frames = stdout.split('\x1b[2K');
    for (const node of NODES) {
      expect(frames.some((f) => new RegExp(`^${node}\\s+\\[#+-+\\]  \\d\\.\\ds of 2s, \\d\\.\\ds left · execsnoop live`).test(f))).toBe(true);
      expect(frames.some((f) => new RegExp(`^${node}\\s+\\[#{24}\\]  completed in`).test(f))).toBe(true);
    }
    expect(stdout).not.toMatch(/cli-a: started/); // bars instead of plain lines
    expect(stdout).toMatch(/run [0-9a-f-]{36} completed in [\d.]+s: 2 completed/);
  });
});
