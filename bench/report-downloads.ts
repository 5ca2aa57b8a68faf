// Parallel report downloads: a completed intermittent-latency run with about
// 200 MB of results (report-fixture.ts, stored as workers store them) is
// downloaded from GET /v1/runs/:id/report of an API in a fresh process, once
// alone, then 8 at a time from another fresh API process, while each samples
// its own RSS every 25 ms; a 9th download beside the 8 must be refused (429,
// Retry-After). Growth is from each process's settled RSS before its first download.
// The API runs with load.maxConcurrentDownloads = 8 (the default is 4).
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { createGunzip } from 'node:zlib';
import { connectRedis } from '../src/redis/connection.js';
import { startEmbeddedRedis } from '../src/redis/embedded.js';
import { startApiServer } from '../src/server/api-server.js';
import { RESULT_BYTES_DRAWN_AT_ONCE, type ReportMemoryFigures } from '../src/core/reports.js';
import { READ_SLICE_BYTES } from '../src/redis/artifacts.js';
import { setLogLevel } from '../src/util/logger.js';
import { LineChild } from './processes.js';
import { FULL_SIZE, writeFixtureRun } from './report-fixture.js';
import { fmtMB, fmtMiB, fmtMs, kv, note, section, table, verdict } from './report.js';
import { trackChild } from './server-common.js';

const CHILD_FLAG = '--report-downloads-api';
const PARALLEL = 8;
const SAMPLE_MS = 25;
/** About 34 MB of results per node at FULL_SIZE: 6 nodes ≈ 200 MB. */
const NODES = 6;
const TARGET_GROWTH_BYTES = 150e6;

interface MemoryReport {
  baseline: number;
  peak: number;
  peakHeap: number;
  after: number;
  /** What drawing the reports held at most (ReportService.memory). */
  held?: ReportMemoryFigures;
}

async function settle(): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with node --expose-gc');
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The API process: "info", "mark" (gc, baseline, start sampling), "report" (stop, gc, figures). */
async function apiChild(redisUrl: string, configFile: string): Promise<void> {
  setLogLevel('error');
  const api = await startApiServer({ redisUrl, port: 0, host: '127.0.0.1', retentionSeconds: 3600, configFile, stateDir: tmpdir() });
  const { secret } = await api.tokens.create('bench-downloads', ['runs:read'], 'bench');
  let sampler: NodeJS.Timeout | undefined;
  let report: MemoryReport | undefined;
  const reply = (value: unknown) => process.stdout.write(`${JSON.stringify(value)}\n`);
  let buffered = '';
  process.stdin.setEncoding('utf8');
  for await (const chunk of process.stdin) {
    buffered += chunk;
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const command = buffered.slice(0, nl).trim();
      buffered = buffered.slice(nl + 1);
      if (command === 'info') reply({ url: api.url, token: secret });
      else if (command === 'mark') {
        await settle();
        const baseline = process.memoryUsage().rss;
        const r: MemoryReport = { baseline, peak: baseline, peakHeap: 0, after: baseline };
        report = r;
        sampler = setInterval(() => {
          const u = process.memoryUsage();
          if (u.rss > r.peak) r.peak = u.rss;
          if (u.heapUsed > r.peakHeap) r.peakHeap = u.heapUsed;
        }, SAMPLE_MS);
        reply({ ok: true });
      } else if (command === 'report') {
        clearInterval(sampler);
        await settle();
        if (report) report.after = process.memoryUsage().rss;
        reply({ ...report, held: api.reports.memory() });
      }
    }
  }
  await api.stop();
}

interface Download {
  ms: number;
  gzBytes: number;
  /** Uncompressed (tar) bytes; counted for the first download of a batch only (client CPU). */
  tarBytes?: number;
}

async function download(url: string, token: string, gunzip: boolean): Promise<Download> {
  const t0 = performance.now();
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  if (res.status !== 200 || !res.body) throw new Error(`GET report answered ${res.status}: ${await res.text()}`);
  const body = Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>);
  let gzBytes = 0;
  let tarBytes = 0;
  body.on('data', (chunk: Buffer) => (gzBytes += chunk.length));
  if (gunzip) {
    const z = createGunzip({ chunkSize: 256 * 1024 });
    z.on('data', (chunk: Buffer) => (tarBytes += chunk.length));
    body.on('error', (err) => z.destroy(err));
    body.pipe(z);
    await once(z, 'end');
  } else {
    body.resume();
    await once(body, 'end');
  }
  return { ms: performance.now() - t0, gzBytes, ...(gunzip ? { tarBytes } : {}) };
}

export async function reportDownloads(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'sherlock-bench-downloads-'));
  const redis = await startEmbeddedRedis({ dataDir });
  trackChild(redis.process);
  const conn = connectRedis(redis.url, 'bench-downloads');
  const configFile = join(dataDir, 'sherlock.yaml');
  writeFileSync(configFile, `load:\n  maxConcurrentDownloads: ${PARALLEL}\n`, { mode: 0o600 });
  const children: LineChild[] = [];
  /** A fresh API process: its URL and a token. */
  const startApi = async () => {
    const child = new LineChild(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), CHILD_FLAG, redis.url, configFile]);
    children.push(child);
    const info = JSON.parse(await child.request('info', 30_000)) as { url: string; token: string };
    return { child, info };
  };
  try {
    const t0 = performance.now();
    const fixture = await writeFixtureRun(conn, { ...FULL_SIZE, nodes: NODES });
    note(
      `run: intermittent-latency over ${NODES} nodes, ${fixture.files} artifacts, ${fmtMB(fixture.rawBytes)} of results (${fmtMB(fixture.storedBytes)} gzip in Redis; ${fmtMs(performance.now() - t0)} to make)`,
    );
    const first = await startApi();
    await first.child.request('mark', 30_000);
    const alone = await download(`${first.info.url}/v1/runs/${fixture.run.id}/report`, first.info.token, true);
    const aloneMem = JSON.parse(await first.child.request('report', 60_000)) as MemoryReport;
    await first.child.close(5_000);

    const { child, info } = await startApi();
    const url = `${info.url}/v1/runs/${fixture.run.id}/report`;
    await child.request('mark', 30_000);
    const started = performance.now();
    const batch = Array.from({ length: PARALLEL }, (_, i) => download(url, info.token, i === 0));
    // Beside the 8: the 9th is refused while they stream.
    await new Promise((r) => setTimeout(r, 300));
    const extra = await fetch(url, { headers: { authorization: `Bearer ${info.token}` } });
    const extraBody = await extra.text();
    const parallel = await Promise.all(batch);
    const wallMs = performance.now() - started;
    const parallelMem = JSON.parse(await child.request('report', 120_000)) as MemoryReport;

    section(`GET /v1/runs/:id/report, ${fmtMB(fixture.rawBytes)} of results, load.maxConcurrentDownloads = ${PARALLEL}`);
    const growth = (m: MemoryReport) => m.peak - m.baseline;
    table(
      ['downloads', 'tar each', 'gz each', 'wall', 'RSS base', 'RSS peak', 'growth', 'heap peak', 'RSS after gc'],
      [
        [
          '1 alone',
          fmtMB(alone.tarBytes ?? 0),
          fmtMB(alone.gzBytes),
          fmtMs(alone.ms),
          fmtMiB(aloneMem.baseline),
          fmtMiB(aloneMem.peak),
          fmtMiB(growth(aloneMem)),
          fmtMiB(aloneMem.peakHeap),
          fmtMiB(aloneMem.after),
        ],
        [
          `${PARALLEL} parallel`,
          fmtMB(parallel[0]!.tarBytes ?? 0),
          fmtMB(parallel[0]!.gzBytes),
          fmtMs(wallMs),
          fmtMiB(parallelMem.baseline),
          fmtMiB(parallelMem.peak),
          fmtMiB(growth(parallelMem)),
          fmtMiB(parallelMem.peakHeap),
          fmtMiB(parallelMem.after),
        ],
      ],
      new Set([1, 2, 3, 4, 5, 6, 7, 8]),
    );
    // Timestamps in the manifest and page may differ by a few bytes between downloads.
    const whole = parallel.every((d) => Math.abs(d.gzBytes - alone.gzBytes) < 1024);
    kv('every parallel bundle as long as the one alone (±1 KB)', whole ? 'yes' : `no: ${parallel.map((d) => d.gzBytes).join(', ')} vs ${alone.gzBytes}`);
    kv(`download #${PARALLEL + 1} beside them`, `${extra.status}, Retry-After ${extra.headers.get('retry-after') ?? '-'}: ${extraBody.slice(0, 140)}`);
    kv(
      `RSS growth, ${PARALLEL} parallel vs 1`,
      `${fmtMiB(growth(parallelMem))} vs ${fmtMiB(growth(aloneMem))} (${(growth(parallelMem) / Math.max(1, growth(aloneMem))).toFixed(2)}×); per download ${fmtMiB(growth(parallelMem) / PARALLEL)}`,
    );
    kv(`aggregate throughput, ${PARALLEL} parallel`, `${(((parallel[0]!.tarBytes ?? 0) * PARALLEL) / 1e6 / (wallMs / 1000)).toFixed(1)} MB/s of tar`);
    const held = parallelMem.held;
    if (held) {
      kv(
        'held at most, 8 parallel',
        `${fmtMiB(held.keptBytes)} of one result's JSON parsed (load.reportParseMiB), ${(held.largestText / 1024).toFixed(1)} KiB largest single text, ${fmtMiB(held.gateHeld)} of ${fmtMiB(held.gateBudget)} in the result gate, ${fmtMiB(held.spoolBytes)} compressed page spool per download (load.reportSpoolMiB)`,
      );
    }
    note(
      `results are read as streams for report.html (arrays cut to their first rows, stacks folded one at a time into a compact flame tree); weights of at most ${fmtMiB(RESULT_BYTES_DRAWN_AT_ONCE)} drawn at once over all downloads; artifacts read from Redis in ${READ_SLICE_BYTES / 1024} KiB slices`,
    );
    verdict(
      growth(parallelMem) <= TARGET_GROWTH_BYTES && extra.status === 429 && whole,
      `API RSS growth with ${PARALLEL} parallel downloads ${fmtMB(growth(parallelMem))} vs ≤${fmtMB(TARGET_GROWTH_BYTES)}; the ${PARALLEL + 1}th refused with ${extra.status}`,
    );
  } finally {
    for (const c of children) await c.close(5_000);
    conn.disconnect();
    await redis.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (process.argv[2] === CHILD_FLAG && process.argv[1] === fileURLToPath(import.meta.url)) {
  const [redisUrl, configFile] = process.argv.slice(3);
  if (!redisUrl || !configFile) throw new Error(`${CHILD_FLAG} needs the Redis URL and the config file`);
  apiChild(redisUrl, configFile).then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
