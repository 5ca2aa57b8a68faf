// The benchmarks' load generator counts what a real HTTP server answers: each
// answer once, by status, whether its body has a length or comes in chunks.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAnswer, runLoad } from '../../bench/http-load.js';

describe('the load generator', () => {
  let server: http.Server;
  let url: string;
  let received = 0;

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        received++;
        const ok = req.headers.authorization === 'Bearer t0k' && JSON.parse(body).n === 1;
        if (received % 2) res.writeHead(ok ? 202 : 400, { 'content-type': 'application/json' }).end(JSON.stringify({ ok }));
        else {
          res.writeHead(ok ? 202 : 400); // no length: chunked
          res.write('{"ok":');
          res.end(`${ok}}`);
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/runs`;
  });

  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('sends authenticated requests and counts each answer by status, chunked or not', async () => {
    const report = await runLoad({ url, token: 't0k', body: JSON.stringify({ n: 1 }), concurrency: 4, warmupMs: 50, durationMs: 300 });
    expect(report.errors).toBe(0);
    expect(Object.keys(report.statuses)).toEqual(['202']);
    const counted = report.statuses['202']!;
    expect(counted).toBeGreaterThan(20);
    expect(counted).toBeLessThanOrEqual(received); // warm-up answers are not counted
    expect(report.p50Ms).toBeGreaterThan(0);
  });

  it('reads where an answer ends only once all of it is there', () => {
    const full = Buffer.from('HTTP/1.1 202 Accepted\r\nContent-Length: 5\r\n\r\nhelloHTTP/1.1 200 OK');
    expect(parseAnswer(full)).toEqual({ status: 202, length: full.indexOf('HTTP/1.1 200') });
    expect(parseAnswer(full.subarray(0, 40))).toBeUndefined();
    const chunked = Buffer.from('HTTP/1.1 400 Bad Request\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n');
    expect(parseAnswer(chunked)).toEqual({ status: 400, length: chunked.length });
    expect(parseAnswer(chunked.subarray(0, chunked.length - 2))).toBeUndefined();
  });
});
