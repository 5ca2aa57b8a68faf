// A report built from a hand-made run record (no API, no kernel: a real
// Redis holding artifacts as the worker stores them) whose node, capture and
// file names are hostile. The API would refuse such node names; the report
// must not trust that. Also: a chunked artifact streams whole, an expired one
// is listed as missing, report.html is the same drawn once or twice, and a
// reader that leaves stops the bundle.
import { execFileSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RedisClient } from '../../src/redis/connection.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Finding } from '../../src/analysis/types.js';
import { createReportBundle } from '../../src/report/bundle.js';
import { staysInside } from '../../src/report/names.js';
import { publishHeartbeat } from '../../src/nodes/registry.js';
import { connectRedis } from '../../src/redis/connection.js';
import { CHUNK_BYTES, putArtifact } from '../../src/redis/artifacts.js';
import type { CaptureSummary, RunRecord } from '../../src/model/run.js';
import { setLogLevel } from '../../src/util/logger.js';
import { startTestRedis, type TestRedis } from '../helpers/redis.js';
import { checkWellFormed } from '../stacks/xml.js';
import { unpack } from './unpack.js';

const SKIP_REASON = 'tracepoint oom:mark_victim is not available in this kernel: OOM kills cannot be seen here';
setLogLevel('error'); // the expiry test makes the bundle log a warning by design

const HOSTILE_NODES = ['../x', '/abs', 'a\u0000b', 'a/b', 'a_b', '..', 'C:\\evil', 'new\nline', '<script>alert(1)</script>'];
const NOW = new Date('2026-01-02T03:04:05.000Z');

function meta(capture: string, kind: string) {
  return {
    capture,
    kind,
    target: 'all processes',
    startedAt: '2026-01-02T03:00:00.000Z',
    durationMs: 2000,
    requestedDurationMs: 2000,
    cancelled: false,
    dropped: 3,
    drops: { ringbuf_full: 3 },
    partialReads: 0,
    bpfCpuNs: 1_234_567,
    bpfRunCount: 42,
    bounds: { events: 1024 },
    timings: { openMs: 1, loadMs: 2, attachMs: 3 },
  };
}

const execResult = (marker: string) => ({
  ...meta('execsnoop', 'events'),
  events: [
    {
      time: '2026-01-02T03:00:00.100Z',
      pid: 10,
      tid: 10,
      ppid: 1,
      uid: 0,
      comm: 'sh</script><!--',
      pcomm: 'init',
      filename: '/bin/sh',
      argv: ['/bin/sh', '-c', marker],
      argsTruncated: false,
      retval: 0,
      cgroupId: '1',
    },
  ],
});

const histResult = () => ({
  ...meta('runqlat', 'histogram'),
  histograms: [
    {
      labels: { scope: 'all' },
      histogram: {
        unit: 'us',
        count: 7,
        sum: 300,
        buckets: [
          { low: 2, high: 4, count: 4 },
          { low: 64, high: 128, count: 3 },
        ],
        p50: 4,
        p90: 128,
        p99: 128,
      },
    },
  ],
  groupBy: 'process',
  top: 10,
});

function summary(capture: string, kind: string, count: number, artifact: string, files: string[] = [], bytes = 0): CaptureSummary {
  return { capture, kind, count, dropped: 3, bpfCpuNs: 1_234_567, durationMs: 2000, cancelled: false, artifact, bytes, files };
}

describe('a report from a hand-made run record with hostile names', () => {
  let redis: TestRedis;
  let conn: RedisClient;
  let run: RunRecord;
  const stored = new Map<string, string | Buffer>(); // `${node}\0${name}` -> content
  const marker = `hostile-${randomUUID()}`;

  const put = async (node: string, name: string, content: string | Buffer, contentType = 'application/json') => {
    stored.set(`${node}\0${name}`, content);
    return putArtifact(conn, { runId: run.id, node, name, contentType, ttlSeconds: 600 }, content);
  };

  beforeAll(async () => {
    redis = await startTestRedis();
    conn = connectRedis(redis.url, 'report-hostile-test');
    const id = randomUUID();
    run = {
      id,
      status: 'partial',
      createdAt: '2026-01-02T02:59:59.000Z',
      startedAt: '2026-01-02T03:00:00.000Z',
      finishedAt: '2026-01-02T03:00:03.000Z',
      requestedBy: 'alice <script>',
      plan: {
        steps: [{ capture: 'execsnoop', params: {} }],
        durationMs: 2000,
        target: { comm: 'x' },
        nodes: [...HOSTILE_NODES, 'web-1'],
        reason: 'why | not *bold*',
      },
      nodes: {},
    };
    for (const node of HOSTILE_NODES) {
      const exec = JSON.stringify(execResult(marker));
      await put(node, 'execsnoop.json', exec);
      await put(node, '../../escape.ndjson', 'escape\n', 'application/x-ndjson');
      await put(node, '/etc/passwd', 'root:x:0:0\n', 'text/plain');
      run.nodes[node] = {
        status: 'completed',
        kernel: `6.1.0-${node}`,
        startedAt: run.startedAt!,
        finishedAt: run.finishedAt!,
        captures: [summary('execsnoop', 'events', 1, 'execsnoop.json', ['../../escape.ndjson', '/etc/passwd'], Buffer.byteLength(exec))],
      };
    }
    // A normal node: a histogram, a chunked 9 MiB file, one expired file, one failed capture.
    const hist = JSON.stringify(histResult());
    await put('web-1', 'runqlat.json', hist);
    const big = Buffer.from(randomBytes(4.5 * 1024 * 1024).toString('hex'));
    const bigMeta = await put('web-1', 'big.ndjson', big, 'application/x-ndjson');
    expect(bigMeta.chunks).toBeGreaterThanOrEqual(Math.ceil(big.length / 2 / CHUNK_BYTES));
    // web-1's record has no kernel: the report falls back to its latest heartbeat.
    await publishHeartbeat(conn, { name: 'web-1', labels: {}, kernel: '6.9.9-heartbeat', btf: true, captures: [], busy: false, version: '0.1.0' });
    run.nodes['web-1'] = {
      status: 'completed',
      startedAt: run.startedAt!,
      finishedAt: run.finishedAt!,
      captures: [
        summary('runqlat', 'histogram', 1, 'runqlat.json', ['big.ndjson', 'gone.svg'], Buffer.byteLength(hist)),
        { capture: 'profile', kind: 'stacks', count: 0, dropped: 0, bpfCpuNs: 0, durationMs: 0, cancelled: false, error: 'perf_event_open: no such device' },
        // What the worker records for a NotSupportedError: skipped, with the reason.
        { capture: 'oomkill', kind: 'events', count: 0, dropped: 0, bpfCpuNs: 0, durationMs: 0, cancelled: false, error: SKIP_REASON, skipped: true },
      ],
    };
  });

  afterAll(async () => {
    conn?.disconnect();
    await redis?.dispose();
  });

  const findings = async (): Promise<Finding[]> => [
    {
      id: 'f1',
      severity: 'critical',
      title: 'Hostile <b>title</b> & more',
      node: '../x',
      capture: 'execsnoop',
      evidence: { rows: [{ comm: '<img src=x>' }] },
      file: 'nodes/.._x/execsnoop.json',
      score: 9,
    },
  ];

  it('keeps every entry inside the bundle directory, each node apart, each file as stored', async () => {
    const bundle = await createReportBundle({ redis: conn, run, loadFindings: findings, now: NOW });
    const root = `sherlock-${run.id}`;
    expect(bundle.filename).toBe(`${root}.tar.gz`);
    const entries = await unpack(bundle.stream);
    const stats = await bundle.done;
    for (const name of entries.keys()) {
      expect(staysInside(name.replace(/\/$/, ''), root), JSON.stringify(name)).toBe(true);
      // eslint-disable-next-line no-control-regex -- control characters are what must not be in a name
      expect(name).not.toMatch(/[\u0000-\u001f\\]/);
    }
    const manifest = JSON.parse(entries.get(`${root}/manifest.json`)!.data.toString('utf8'));
    const dirs = manifest.nodes.map((n: { dir: string }) => n.dir);
    expect(new Set(dirs).size).toBe(HOSTILE_NODES.length + 1);
    for (const node of manifest.nodes) {
      expect(node.dir).toMatch(/^nodes\/[A-Za-z0-9._+@=,~-]+$/);
      expect(['nodes/.', 'nodes/..']).not.toContain(node.dir);
    }
    // Each hostile node's files are in its own directory, byte for byte, under sanitized names.
    for (const node of HOSTILE_NODES) {
      const entry = manifest.nodes.find((n: { name: string }) => n.name === node);
      expect(entry, node).toBeDefined();
      expect(entry.kernel).toBe(`6.1.0-${node}`);
      for (const file of entry.captures[0].files) {
        const content = stored.get(`${node}\0${file.name}`)!;
        const got = entries.get(`${root}/${file.path}`);
        expect(got, `${node} ${file.name} at ${file.path}`).toBeDefined();
        expect(got!.data.equals(Buffer.from(content))).toBe(true);
        expect(file.path.startsWith(`${entry.dir}/`)).toBe(true);
      }
    }
    expect(entries.get(`${root}/nodes/web-1/big.ndjson`)!.data.length).toBe(9 * 1024 * 1024);
    expect(stats.missing).toEqual(['nodes/web-1/gone.svg']);
    const web = manifest.nodes.find((n: { name: string }) => n.name === 'web-1');
    expect(web.captures[0].files.find((f: { name: string }) => f.name === 'gone.svg')).toEqual({
      name: 'gone.svg',
      path: 'nodes/web-1/gone.svg',
      missing: true,
    });
    expect(web.captures[1]).toMatchObject({ capture: 'profile', status: 'failed', error: 'perf_event_open: no such device', files: [] });
    expect(web.captures[2]).toMatchObject({ capture: 'oomkill', status: 'skipped', reason: SKIP_REASON, files: [] });
    expect(web.captures[2].error).toBeUndefined();
    expect(web).toMatchObject({ kernel: '6.9.9-heartbeat', kernelSource: 'heartbeat' });
    expect(manifest.nodes.find((n: { name: string }) => n.name === '/abs')).toMatchObject({ kernel: '6.1.0-/abs', kernelSource: 'worker' });
    expect(manifest.captures).toBeUndefined();
    expect(manifest.run).toMatchObject({ requestedBy: 'alice <script>', reason: 'why | not *bold*', target: { comm: 'x' } });
    expect(manifest.findings).toMatchObject({ analyzed: true, count: 1, bySeverity: { critical: 1 } });

    const html = entries.get(`${root}/report.html`)!.data.toString('utf8');
    expect(html).toContain(`Skipped on this host: ${SKIP_REASON}`);
    expect(html).not.toContain('<script>alert(1)</script>');
    expect(html).not.toContain('<img src=x>');
    expect(html).not.toContain('<b>title</b>');
    expect(html).not.toContain('\u0000');
    expect(html).not.toMatch(/<\/script><!--/); // a comm cannot end the inert node markup
    // Only our own two kinds of script elements, and each raw-text body closes where we close it.
    const scripts = [...html.matchAll(/<script\b[^>]*>/g)].map((m) => m[0]);
    expect(
      scripts.filter(
        (s) =>
          s !== '<script>' &&
          !/^<script type="text\/x-sherlock-node" id="node-[^"]+-body-\d+">$/.test(s) &&
          !/^<script type="text\/x-sherlock-evidence" id="finding-\d+-evidence">$/.test(s),
      ),
    ).toEqual([]);
    // The page script once; each node's inert parts: its intro (part 0) and one per capture.
    expect(scripts.filter((s) => s === '<script>')).toHaveLength(1);
    expect(scripts.filter((s) => /-body-0">$/.test(s))).toHaveLength(HOSTILE_NODES.length + 1);
    for (const svg of html.match(/<svg class="hist"[\s\S]*?<\/svg>/g) ?? []) checkWellFormed(svg);

    const summaryMd = entries.get(`${root}/summary.md`)!.data.toString('utf8');
    expect(summaryMd).toContain('why \\| not \\*bold\\*');
    expect(
      summaryMd
        .split('\n')
        .filter((l) => l.startsWith('| '))
        .every((l) => !l.includes('\n')),
    ).toBe(true);
    expect(summaryMd).toContain('new line'); // a newline in a node name does not break the table row
  });

  it('extracts with GNU tar into its one directory, nothing outside it', async () => {
    const bundle = await createReportBundle({ redis: conn, run, now: NOW });
    const chunks: Buffer[] = [];
    for await (const chunk of bundle.stream) chunks.push(chunk as Buffer);
    await bundle.done;
    const dir = mkdtempSync(join(tmpdir(), 'sherlock-report-tar-'));
    try {
      const file = join(dir, 'bundle.tar.gz');
      writeFileSync(file, Buffer.concat(chunks));
      const out = join(dir, 'out');
      mkdirSync(out);
      execFileSync('tar', ['-xzf', file, '-C', out], { stdio: ['ignore', 'ignore', 'pipe'] });
      expect(readdirSync(dir).sort()).toEqual(['bundle.tar.gz', 'out']);
      expect(readdirSync(out)).toEqual([`sherlock-${run.id}`]);
      const listed = execFileSync('tar', ['-tzf', file], { encoding: 'utf8' }).trim().split('\n');
      expect(listed.every((name) => name.startsWith(`sherlock-${run.id}`))).toBe(true);
      expect(readdirSync(join(out, `sherlock-${run.id}`, 'nodes')).sort()).toEqual(
        ['.._x', '__', '_abs', '_script_alert_1___script_', 'C__evil', 'a_b', 'a_b~2', 'a_b~3', 'new_line', 'web-1'].sort(),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('writes the same report.html whether it fits the spool or is drawn twice', async () => {
    const spooled = await createReportBundle({ redis: conn, run, now: NOW });
    const redrawn = await createReportBundle({ redis: conn, run, now: NOW, htmlSpoolBytes: 1 });
    const a = await unpack(spooled.stream);
    const b = await unpack(redrawn.stream);
    expect((await spooled.done).htmlRedrawn).toBe(false);
    expect((await redrawn.done).htmlRedrawn).toBe(true);
    const name = `sherlock-${run.id}/report.html`;
    expect(a.get(name)!.data.length).toBeGreaterThan(1000);
    expect(a.get(name)!.data.equals(b.get(name)!.data)).toBe(true);
    expect([...a.keys()]).toEqual([...b.keys()]);
  });

  it('stops when its reader goes away, and says so', async () => {
    const bundle = await createReportBundle({ redis: conn, run, now: NOW });
    const first = await new Promise<Buffer>((resolve) => bundle.stream.once('data', resolve));
    expect(first.length).toBeGreaterThan(0);
    bundle.stream.destroy();
    await expect(bundle.done).rejects.toThrow(/closed by its reader/);
  });

  it('fails the stream, not quietly, when an artifact expires while being read', async () => {
    const runId = run.id;
    const bundle = await createReportBundle({ redis: conn, run, now: NOW });
    // Drop a chunk of the big file after the plan was made.
    await conn.del(`{sherlock}:run:${runId}:artifact:web-1:big.ndjson:1`);
    await expect(unpack(bundle.stream)).rejects.toThrow();
    await expect(bundle.done).rejects.toThrow(/expired while being read/);
  });
});
