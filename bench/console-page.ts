// The console's pages on loopback: time to the last byte and bytes sent
// (gzip, as a browser asks) for the runs page full of runs (25 per page, 20
// live nodes), one run, the start form and the nodes page, each beside
// GET /healthz on the same server, the floor of any request there.
import http from 'node:http';
import { fmtMs, kv, median, note, numericColumns, percentile, section, table, verdict } from './report.js';
import { startBenchStack } from './server-common.js';

const ROUNDS = 40;
const NODES = Array.from({ length: 20 }, (_, i) => `console-bench-${i}`);
const TARGET_MS = 300;
const TARGET_BYTES = 200 * 1024;

/** One GET with raw bytes counted (no decoding): [ms to the last byte, bytes on the wire, status]. */
function get(
  url: string,
  headers: Record<string, string>,
): Promise<{ ms: number; bytes: number; status: number; headers: http.IncomingHttpHeaders; body: string }> {
  const t0 = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers: { 'accept-encoding': 'gzip', ...headers }, agent: false }, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (d: Buffer) => parts.push(d));
        res.on('end', () => {
          const body = Buffer.concat(parts);
          resolve({
            ms: Number(process.hrtime.bigint() - t0) / 1e6,
            bytes: body.length,
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: body.toString('latin1'),
          });
        });
      })
      .on('error', reject);
  });
}

async function signIn(base: string, token: string): Promise<string> {
  const form = await fetch(`${base}/login`);
  const csrfCookie = (form.headers.get('set-cookie') ?? '').split(';')[0]!;
  const csrf = /name="_csrf" value="([^"]+)"/.exec(await form.text())![1]!;
  const res = await fetch(`${base}/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { cookie: csrfCookie, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token, _csrf: csrf }),
  });
  return /sherlock_session=[^;]+/.exec(res.headers.get('set-cookie') ?? '')![0];
}

export async function consolePage(): Promise<void> {
  const stack = await startBenchStack('console');
  try {
    stack.fakeNodes(NODES);
    await new Promise((r) => setTimeout(r, 200));
    let runId = '';
    for (let i = 0; i < 30; i++) {
      const res = await fetch(`${stack.api.url}/v1/runs`, {
        method: 'POST',
        headers: { authorization: `Bearer ${stack.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ runbook: 'intermittent-latency', params: { comm: 'bench' }, targets: { nodes: NODES.slice(0, 3) }, reason: `bench ${i}` }),
      });
      if (res.status !== 202) throw new Error(`POST /v1/runs answered ${res.status}: ${await res.text()}`);
      runId = ((await res.json()) as { id: string }).id;
    }
    const cookie = await signIn(stack.api.url, stack.token);
    const pages = [
      ['GET /healthz (floor)', '/healthz'],
      ['runs (25 of 30)', '/runs'],
      ['one run (3 nodes, live)', `/runs/${runId}`],
      ['start form', '/start/intermittent-latency'],
      ['nodes (20)', '/nodes'],
    ] as const;
    note(`${ROUNDS} sequential requests per page on a fresh connection each, gzip accepted; the first (cold) request of each page is shown apart`);
    const rows: string[][] = [];
    let worstP99 = 0;
    let worstBytes = 0;
    for (const [label, path] of pages) {
      const cold = await get(stack.api.url + path, { cookie });
      if (cold.status !== 200) throw new Error(`${path} answered ${cold.status}`);
      const times: number[] = [];
      for (let i = 0; i < ROUNDS; i++) times.push((await get(stack.api.url + path, { cookie })).ms);
      const floor = path === '/healthz';
      if (!floor) {
        worstP99 = Math.max(worstP99, percentile(times, 99), cold.ms);
        worstBytes = Math.max(worstBytes, cold.bytes);
      }
      rows.push([
        label,
        fmtMs(cold.ms),
        fmtMs(median(times)),
        fmtMs(percentile(times, 99)),
        `${(cold.bytes / 1024).toFixed(1)} KiB`,
        String(cold.headers['content-encoding'] ?? 'none'),
      ]);
    }
    section('console pages');
    table(['page', 'cold', 'median', 'p99', 'sent', 'encoding'], rows, numericColumns(5));
    kv('slowest (cold or p99)', fmtMs(worstP99));
    kv('largest page sent', `${(worstBytes / 1024).toFixed(1)} KiB`);
    verdict(worstP99 < TARGET_MS && worstBytes < TARGET_BYTES, `every page under ${TARGET_MS} ms and ${TARGET_BYTES / 1024} KiB`);
  } finally {
    await stack.stop();
  }
}
