// Bodies after authentication: bearer routes answer 401 before reading a body
// that never ends; signed routes read at most limits.signedBodyBytes within
// limits.bodyDeadlineSeconds, then answer 413/408 and close the connection.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisServerChildren } from '../helpers/redis.js';
import { startStack, type Stack } from '../server/harness.js';

interface RawReply {
  head: string;
  closedAfterMs: number;
}

/** Sends the head and `sent` bytes of the body, then nothing more; resolves with the reply once the server closes. */
function slowRequest(url: string, path: string, headers: Record<string, string>, sent: string): Promise<RawReply> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const start = Date.now();
    const socket = net.connect(Number(port), hostname);
    let data = '';
    const guard = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the server kept the slow connection open for 15 s; got: ${data.slice(0, 200)}`));
    }, 15_000);
    socket.on('connect', () => {
      const lines = [`POST ${path} HTTP/1.1`, `Host: ${hostname}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`), '', ''];
      socket.write(lines.join('\r\n') + sent);
    });
    socket.setEncoding('utf8').on('data', (d: string) => (data += d));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(guard);
      resolve({ head: data, closedAfterMs: Date.now() - start });
    });
  });
}

describe('request bodies and authentication', () => {
  let stack: Stack;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sherlock-slow-body-'));
    const file = join(dir, 'sherlock.yaml');
    writeFileSync(
      file,
      'triggers:\n  slack: {signingSecret: slow-body-signing-secret}\n  generic: {secret: slow-body-generic}\nlimits: {signedBodyBytes: 2048, bodyDeadlineSeconds: 0.5}\n',
      { mode: 0o600 },
    );
    stack = await startStack([], { configFile: file, env: {} });
  }, 30_000);

  afterAll(async () => {
    await stack?.stop();
    rmSync(dir, { recursive: true, force: true });
    expect(redisServerChildren()).toEqual([]);
  }, 30_000);

  it('a bearer route refuses a missing token before reading a body that never ends', async () => {
    const reply = await slowRequest(stack.api.url, '/v1/runs', { 'content-type': 'application/json', 'content-length': '100000' }, '{"steps":');
    expect(reply.head).toMatch(/^HTTP\/1\.1 401/);
    expect(reply.closedAfterMs).toBeLessThan(5_000);
    const chunked = await slowRequest(stack.api.url, '/v1/runs', { 'content-type': 'application/json', 'transfer-encoding': 'chunked' }, '9\r\n{"steps":\r\n');
    expect(chunked.head).toMatch(/^HTTP\/1\.1 401/);
    expect(chunked.closedAfterMs).toBeLessThan(5_000);
  });

  for (const path of ['/v1/chatops/slack', '/v1/hooks/generic']) {
    it(`${path}: a slow sender gets 408 after the deadline and its connection is closed`, async () => {
      const headers = {
        'content-type': path.includes('slack') ? 'application/x-www-form-urlencoded' : 'application/json',
        'content-length': '1000',
        'x-sherlock-secret': 'slow-body-generic',
      };
      const reply = await slowRequest(stack.api.url, path, headers, 'text=he');
      expect(reply.head).toMatch(/^HTTP\/1\.1 408/);
      expect(reply.head).toContain('did not arrive within 0.5 s');
      expect(reply.closedAfterMs).toBeGreaterThanOrEqual(400);
      expect(reply.closedAfterMs).toBeLessThan(5_000);
    });

    it(`${path}: a body over the limit is a 413, declared or streamed`, async () => {
      const declared = await slowRequest(
        stack.api.url,
        path,
        { 'content-type': 'application/json', 'content-length': '5000', 'x-sherlock-secret': 'slow-body-generic' },
        'a',
      );
      expect(declared.head).toMatch(/^HTTP\/1\.1 413/);
      const chunk = 'x'.repeat(3000);
      const streamed = await slowRequest(
        stack.api.url,
        path,
        { 'content-type': 'application/json', 'transfer-encoding': 'chunked', 'x-sherlock-secret': 'slow-body-generic' },
        `${chunk.length.toString(16)}\r\n${chunk}\r\n`,
      );
      expect(streamed.head).toMatch(/^HTTP\/1\.1 413/);
    });
  }

  it('the server still answers normally afterwards', async () => {
    expect((await stack.admin.get('/v1/nodes')).status).toBe(200);
  });
});
