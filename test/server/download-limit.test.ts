// Report downloads are limited per API process (load.maxConcurrentDownloads):
// beyond the limit a download is a 429 with Retry-After and a JSON error
// naming the setting; a slot comes back when a download ends or its client
// hangs up. Real HTTP on loopback, a real Redis, a stored run big enough that
// unread downloads stay open.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CaptureSummary } from '../../src/model/run.js';
import { putArtifact } from '../../src/redis/artifacts.js';
import { keys } from '../../src/redis/keys.js';
import { RunStore } from '../../src/runs/store.js';
import { redisServerChildren } from '../helpers/redis.js';
import { unpack } from '../report/unpack.js';
import { isJsonError, RETENTION_SECONDS, sleep, startStack, waitFor, type Stack } from './harness.js';

const NODE = 'dl-node';

/** A completed run with one execsnoop result of ~12 MB of incompressible argv: more than loopback buffers hold. */
async function storeBigRun(stack: Stack): Promise<{ id: string; json: string }> {
  const store = new RunStore(stack.conn, { retentionSeconds: RETENTION_SECONDS });
  const id = randomUUID();
  const startedAt = new Date(Date.now() - 30_000).toISOString();
  await store.create(id, { steps: [{ capture: 'execsnoop', params: {} }], durationMs: 1000, target: {}, nodes: [NODE] }, 'test', new Date(Date.now() - 31_000));
  const events = Array.from({ length: 12_000 }, (_, i) => ({
    time: startedAt,
    pid: 10_000 + i,
    ppid: 1,
    uid: 0,
    comm: 'sh',
    filename: '/bin/sh',
    argv: ['/bin/sh', '-c', randomBytes(384).toString('base64')],
    retval: 0,
  }));
  const result = {
    capture: 'execsnoop',
    kind: 'events',
    target: 'all processes',
    startedAt,
    durationMs: 1000,
    requestedDurationMs: 1000,
    cancelled: false,
    dropped: 0,
    drops: {},
    partialReads: 0,
    bpfCpuNs: 0,
    bpfRunCount: 0,
    bounds: {},
    timings: { openMs: 0, loadMs: 0, attachMs: 0 },
    events,
  };
  const json = JSON.stringify(result);
  const meta = await putArtifact(
    stack.conn,
    { runId: id, node: NODE, name: 'execsnoop.json', contentType: 'application/json', ttlSeconds: RETENTION_SECONDS },
    json,
  );
  const summary: CaptureSummary = {
    capture: 'execsnoop',
    kind: 'events',
    count: events.length,
    dropped: 0,
    bpfCpuNs: 0,
    durationMs: 1000,
    cancelled: false,
    artifact: 'execsnoop.json',
    bytes: meta.bytes,
    files: [],
  };
  await store.setNodeState(id, NODE, { status: 'completed', kernel: 'test', startedAt, finishedAt: new Date().toISOString(), captures: [summary] });
  await stack.conn.hset(keys.run(id), { status: 'completed', startedAt, finishedAt: new Date().toISOString() });
  return { id, json };
}

describe('report download limit', () => {
  let stack: Stack;
  let dir: string;
  let runId: string;
  let storedJson: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sherlock-downloads-'));
    const configFile = join(dir, 'sherlock.yaml');
    writeFileSync(configFile, 'load:\n  maxConcurrentDownloads: 2\n', { mode: 0o600 });
    stack = await startStack([], { configFile });
    ({ id: runId, json: storedJson } = await storeBigRun(stack));
  }, 30_000);

  afterAll(async () => {
    await stack?.stop();
    rmSync(dir, { recursive: true, force: true });
    expect(redisServerChildren()).toEqual([]);
  });

  /** Starts a download and reads only its headers: the server keeps streaming into full buffers. */
  const open = async (path: string) => {
    const controller = new AbortController();
    const res = await fetch(`${stack.api.url}${path}`, { headers: { authorization: `Bearer ${stack.adminToken}` }, signal: controller.signal });
    return { res, hangUp: () => controller.abort() };
  };

  it('answers 429 with Retry-After past the limit and takes downloads again once one ends', async () => {
    const first = await open(`/v1/runs/${runId}/report`);
    const second = await open(`/v1/runs/${runId}/report.html`);
    const opened = [first, second];
    try {
      expect(first.res.status).toBe(200);
      expect(second.res.status).toBe(200);
      await sleep(200); // both still streaming: their clients read nothing
      for (const path of [`/v1/runs/${runId}/report`, `/v1/runs/${runId}/report.html`]) {
        const refused = await stack.admin.get(path);
        expect(refused.status).toBe(429);
        expect(isJsonError(refused)).toBe(true);
        expect(refused.headers.get('retry-after')).toBe('5');
        expect(refused.body.error.code).toBe('too_many_downloads');
        expect(refused.body.error.message).toContain(
          '2 report downloads are streaming from this server, the most it serves at once (load.maxConcurrentDownloads = 2)',
        );
      }
      // A client that hangs up gives its slot back.
      first.hangUp();
      const third = await waitFor(
        'a slot freed by the hang-up',
        async () => {
          const r = await open(`/v1/runs/${runId}/report`);
          if (r.res.status === 200) return r;
          await r.res.body?.cancel();
          return undefined;
        },
        { timeoutMs: 10_000, intervalMs: 50 },
      );
      opened.push(third);
      // A download read to its end gives its slot back too.
      const whole = Buffer.from(await third.res.arrayBuffer());
      expect(whole.length).toBeGreaterThan(1_000_000);
      expect(whole[0]).toBe(0x1f); // gzip
      second.hangUp();
      await waitFor('both slots free', async () => (await stack.admin.get(`/v1/runs/${runId}/report.html`, { timeoutMs: 30_000 })).status === 200, {
        timeoutMs: 30_000,
        intervalMs: 100,
      });
    } finally {
      for (const o of opened) o.hangUp();
    }
  }, 60_000);

  it('streams a large bundle intact to parallel readers over HTTP; a bad run id is a clear 4xx', async () => {
    // Two at once (the limit): each is read back as a tar and its capture JSON compared byte for byte.
    const downloads = await Promise.all(
      [0, 1].map(async () => {
        const res = await fetch(`${stack.api.url}/v1/runs/${runId}/report`, { headers: { authorization: `Bearer ${stack.adminToken}` } });
        expect(res.status).toBe(200);
        expect(res.headers.get('content-type')).toBe('application/gzip');
        return unpack(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>));
      }),
    );
    const want = createHash('sha256').update(storedJson).digest('hex');
    for (const entries of downloads) {
      const root = `sherlock-${runId}`;
      const capture = [...entries.values()].find((e) => e.name.startsWith(`${root}/nodes/`) && e.name.endsWith('/execsnoop.json'));
      expect(capture?.size).toBe(Buffer.byteLength(storedJson));
      expect(createHash('sha256').update(capture!.data).digest('hex')).toBe(want);
      const manifest = entries.get(`${root}/manifest.json`)!.data.toString();
      expect(JSON.parse(manifest)).toBeTruthy();
      expect(manifest).toContain(`"bytes": ${Buffer.byteLength(storedJson)}`);
      const html = entries.get(`${root}/report.html`)!.data.toString();
      expect(html).toContain('execsnoop');
      expect(html.trimEnd().endsWith('</html>')).toBe(true);
    }
    const unknown = await stack.admin.get(`/v1/runs/${randomUUID()}/report`);
    expect(unknown.status).toBe(404);
    expect(isJsonError(unknown)).toBe(true);
  }, 60_000);

  it('refuses a bad setting at start, naming it', async () => {
    const { configFileSchema } = await import('../../src/triggers/settings.js');
    const parsed = configFileSchema.safeParse({ load: { maxConcurrentDownloads: 0 } });
    expect(parsed.success).toBe(false);
    expect(parsed.error!.issues[0]!.path.join('.')).toBe('load.maxConcurrentDownloads');
  });
});
