// The report bundle of a real run, through the real API: RedisClient, the API on a
// loopback port, an in-process worker capturing every result kind on this
// kernel. The .tar.gz is unpacked as a tar tool would: every entry stays in
// the bundle's directory, every JSON parses and says what it should, the
// capture files are the stored artifacts byte for byte, the pprof decodes,
// the SVGs are well-formed, and the download is audited.
import { release } from 'node:os';
import { gunzipSync } from 'node:zlib';
import { Profile } from 'pprof-format';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RedisClient } from '../../src/redis/connection.js';
import { MANIFEST_FORMAT } from '../../src/report/manifest.js';
import { staysInside } from '../../src/report/names.js';
import { connectRedis } from '../../src/redis/connection.js';
import { bpfHandlesOf, kernelSkipReason } from '../helpers/kernel.js';
import { redisServerChildren } from '../helpers/redis.js';
import { fakeNode, isJsonError, startStack, type Stack } from '../server/harness.js';
import { checkWellFormed } from '../stacks/xml.js';
import { realRun, REPORT_CAPTURES, type RealRun } from './real-run.js';
import { unpack, type UnpackedEntry } from './unpack.js';

const skip = kernelSkipReason();
const NODE = 'report-node';
const IDLE = 'report-idle-node';

async function download(stack: Stack, path: string, token: string | undefined = stack.adminToken) {
  const res = await fetch(stack.admin.baseUrl + path, { headers: token ? { authorization: `Bearer ${token}` } : {}, signal: AbortSignal.timeout(30_000) });
  return { res, body: Buffer.from(await res.arrayBuffer()) };
}

/** Every <svg ...>...</svg> fragment of an HTML page (they do not nest here). */
function svgFragments(html: string, className: string): string[] {
  const out: string[] = [];
  const re = new RegExp(`<svg class="${className}"[\\s\\S]*?</svg>`, 'g');
  for (const m of html.matchAll(re)) out.push(m[0]);
  return out;
}

describe.skipIf(skip)(`the report bundle of a real run${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let stack: Stack;
  let run: RealRun;
  let entries: Map<string, UnpackedEntry>;
  let root: string;
  let beats: RedisClient;
  let idle: ReturnType<typeof fakeNode>;

  beforeAll(async () => {
    stack = await startStack([NODE]);
    beats = connectRedis(stack.redis.url, 'report-test-heartbeats');
    idle = fakeNode(beats, IDLE);
    await idle.ready;
    run = await realRun(stack, NODE);
    root = `sherlock-${run.id}`;
  }, 60_000);

  afterAll(async () => {
    idle?.stop();
    beats?.disconnect();
    await stack?.stop();
    expect(redisServerChildren()).toEqual([]);
    expect(bpfHandlesOf()).toEqual({ programIds: [], links: 0, maps: 0 });
  });

  it('streams sherlock-<id>.tar.gz with every entry inside sherlock-<id>/', async () => {
    const { res, body } = await download(stack, `/v1/runs/${run.id}/report`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/gzip');
    expect(res.headers.get('content-encoding')).toBeNull();
    expect(res.headers.get('content-disposition')).toBe(`attachment; filename="${root}.tar.gz"`);
    expect(body.subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
    entries = await unpack(body);
    for (const name of entries.keys()) expect(staysInside(name.replace(/\/$/, ''), root), name).toBe(true);
    const files = [...entries.values()].filter((e) => e.type === 'file').map((e) => e.name.slice(root.length + 1));
    for (const top of ['manifest.json', 'findings.json', 'summary.md', 'report.html']) expect(files).toContain(top);
    for (const capture of REPORT_CAPTURES) expect(files).toContain(`nodes/${NODE}/${capture}.json`);
    for (const raw of ['execsnoop.ndjson', 'opensnoop.ndjson', 'profile.folded.txt', 'profile.pb.gz', 'profile.speedscope.json', 'profile.svg']) {
      expect(files).toContain(`nodes/${NODE}/${raw}`);
    }
    // Directories first, as tar tools like them.
    expect(entries.get(`${root}/`)?.type ?? entries.get(root)?.type).toBe('directory');
  });

  it('writes a manifest with the run, the node and its kernel, timings, and per-capture events, drops and BPF CPU cost', async () => {
    const view = await stack.admin.run(run.id);
    const manifest = JSON.parse(entries.get(`${root}/manifest.json`)!.data.toString('utf8'));
    expect(manifest.format).toBe(MANIFEST_FORMAT);
    expect(manifest.run).toMatchObject({
      id: run.id,
      status: 'completed',
      requestedBy: 'test-admin',
      reason: `report test ${run.marker}`,
      durationMs: 2000,
      runbook: null,
    });
    expect(manifest.run.steps.map((s: { capture: string }) => s.capture)).toEqual([...REPORT_CAPTURES]);
    expect(manifest.timings).toMatchObject({ createdAt: view.createdAt, startedAt: view.startedAt, finishedAt: view.finishedAt, requestedDurationMs: 2000 });
    expect(manifest.timings.wallMs).toBeGreaterThanOrEqual(1900);
    // The run ended with a (here empty) comparison with the baseline, stored and bundled.
    expect(manifest.files).toEqual({ findings: 'findings.json', baseline: 'baseline.json', summary: 'summary.md', html: 'report.html' });
    expect(manifest.baseline).toEqual({ file: 'baseline.json', rows: 0, regressions: 0, nodesWithout: [NODE] });
    expect(manifest.nodes).toHaveLength(1);
    const node = manifest.nodes[0];
    expect(node).toMatchObject({ name: NODE, dir: `nodes/${NODE}`, status: 'completed', kernel: release(), kernelSource: 'worker' });
    expect(node.wallMs).toBeGreaterThanOrEqual(1900);
    expect(node.captures.map((c: { capture: string }) => c.capture)).toEqual([...REPORT_CAPTURES]);
    let events = 0;
    for (const c of node.captures) {
      const summary = view.nodes[NODE]!.captures!.find((s) => s.capture === c.capture)!;
      expect(c).toMatchObject({ status: 'ok', kind: summary.kind, events: summary.count, dropped: summary.dropped, cancelled: false });
      expect(typeof c.bpfCpuNs).toBe('number');
      expect(c.bpfRunCount, c.capture).toBeGreaterThanOrEqual(0);
      expect(c.drops).toBeTypeOf('object');
      expect(c.timings).toMatchObject({ openMs: expect.any(Number), loadMs: expect.any(Number), attachMs: expect.any(Number) });
      // Each file listed is in the bundle with the size said.
      expect(c.files[0]).toMatchObject({ name: `${c.capture}.json`, path: `nodes/${NODE}/${c.capture}.json` });
      for (const f of c.files) expect(entries.get(`${root}/${f.path}`)?.size, f.path).toBe(f.bytes);
      events += c.events;
    }
    // Some program ran: the CPU cost is measured, not assumed.
    expect(node.captures.some((c: { bpfCpuNs: number; bpfRunCount: number }) => c.bpfCpuNs > 0 && c.bpfRunCount > 0)).toBe(true);
    expect(manifest.totals).toMatchObject({ nodes: 1, byStatus: { completed: 1 }, events });
    expect(manifest.findings).toMatchObject({ analyzed: expect.any(Boolean), count: expect.any(Number), file: 'findings.json' });
  });

  it("holds each capture result as stored, a streaming capture's events once (in its NDJSON, which the JSON names), its raw files parsing as their formats", async () => {
    const file = (name: string) => entries.get(`${root}/nodes/${NODE}/${name}`)!.data;
    const lines = (name: string) =>
      file(name)
        .toString('utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    let streaming = 0;
    for (const capture of REPORT_CAPTURES) {
      const stored = await stack.admin.artifact(run.id, NODE, `${capture}.json`);
      const result = JSON.parse(file(`${capture}.json`).toString('utf8'));
      expect(result).toMatchObject({ capture, cancelled: false, dropped: expect.any(Number), bpfCpuNs: expect.any(Number) });
      const whole = stored.body as Record<string, unknown>;
      if (whole.kind !== 'events') {
        expect(file(`${capture}.json`).toString('utf8') === stored.text, capture).toBe(true);
        continue;
      }
      // Everything but the events as stored, in the same order; the events are the NDJSON's lines, each once.
      streaming++;
      const { events, ...rest } = whole as { events: unknown[] };
      expect(result, capture).toEqual({ ...rest, eventsFile: `${capture}.ndjson`, eventCount: events.length });
      expect(lines(`${capture}.ndjson`), capture).toEqual(events);
      expect(events.length, capture).toBeGreaterThan(0);
      for (const event of events.slice(0, 50)) expect(file(`${capture}.json`).toString('utf8'), capture).not.toContain(JSON.stringify(event));
    }
    expect(streaming).toBe(2); // execsnoop and opensnoop
    // execsnoop saw the marker execs, in its NDJSON only.
    const execs = lines('execsnoop.ndjson') as { argv?: string[] }[];
    expect(execs.filter((e) => e.argv?.[1]?.startsWith(run.marker))).toHaveLength(5);
    expect(file('execsnoop.json').toString('utf8')).not.toContain(run.marker);
    // No capture's records twice anywhere in the node's directory: each marker exec is in exactly one file.
    const nodeFiles = [...entries.values()].filter((e) => e.type === 'file' && e.name.startsWith(`${root}/nodes/${NODE}/`));
    for (let i = 0; i < 5; i++) {
      const holders = nodeFiles.filter((e) => e.data.toString('utf8').includes(`${run.marker}-${i}`)).map((e) => e.name.slice(root.length + 1));
      expect(holders, `marker ${i}`).toEqual([`nodes/${NODE}/execsnoop.ndjson`]);
    }

    const pprof = Profile.decode(gunzipSync(file('profile.pb.gz')));
    expect(pprof.sample.length).toBeGreaterThan(0);
    expect(pprof.sample.reduce((a, s) => a + Number(s.value[0]), 0)).toBe(JSON.parse(file('profile.json').toString('utf8')).total);

    const folded = file('profile.folded.txt').toString('utf8').trim().split('\n');
    expect(folded.length).toBeGreaterThan(0);
    for (const line of folded) expect(line).toMatch(/^.+ \d+$/);
    const speedscope = JSON.parse(file('profile.speedscope.json').toString('utf8'));
    expect(speedscope.$schema).toMatch(/speedscope/);

    const svg = file('profile.svg').toString('utf8');
    const elements = checkWellFormed(svg);
    expect(elements[0]!.name).toBe('svg');
    expect(elements.filter((e) => e.name === 'g' && e.attributes.get('class') === 'f').length).toBeGreaterThan(1);
  });

  it('writes findings.json, a summary.md to paste, and a report.html whose SVGs are well-formed', async () => {
    // The findings analysis stored when the run ended, as GET /v1/runs/:id/findings gives them.
    const findings = JSON.parse(entries.get(`${root}/findings.json`)!.data.toString('utf8'));
    const stored = await stack.admin.get(`/v1/runs/${run.id}/findings`);
    expect(stored.status).toBe(200);
    expect(findings).toEqual({ runId: run.id, origin: null, analyzed: true, findings: stored.body.findings });
    expect(findings.findings.length).toBeGreaterThan(0); // a quiet run still says what was checked
    for (const f of findings.findings) {
      expect(f).toMatchObject({ id: expect.any(String), severity: expect.stringMatching(/^(critical|warning|info)$/), title: expect.any(String), node: NODE });
    }
    const manifest = JSON.parse(entries.get(`${root}/manifest.json`)!.data.toString('utf8'));
    expect(manifest.findings).toMatchObject({ analyzed: true, count: findings.findings.length });

    const summary = entries.get(`${root}/summary.md`)!.data.toString('utf8');
    expect(summary).toMatch(new RegExp(`^# Sherlock run ${run.id}: completed\n`));
    expect(summary).toContain('**Requested by:** test-admin');
    expect(summary).toContain('| node | kernel | capture | events | dropped | BPF CPU | duration | status |');
    for (const capture of REPORT_CAPTURES) expect(summary).toMatch(new RegExp(`\\| ${capture} \\| [\\d,]+ \\| [\\d,]+ \\| [\\d.]+ m?s \\|`));

    expect(summary).toContain('## Top findings');
    expect(summary).toContain(`## Compared with baseline\n\n_Nothing to compare: no scheduled baseline yet for ${NODE} (target all)._`);
    const top = findings.findings[0];
    const label = ({ critical: 'CRITICAL', warning: 'WARNING', info: 'info' } as Record<string, string>)[top.severity];
    expect(summary).toContain(`1. **${label}** ${NODE}${top.capture === '*' ? '' : ` · ${top.capture}`} — `);

    const html = entries.get(`${root}/report.html`)!.data.toString('utf8');
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(html).toContain(run.id);
    const escapeHtml = (t: string) => t.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
    for (const f of findings.findings) expect(html).toContain(`<span class="finding-title">${escapeHtml(f.title)}</span>`);
    expect(html.indexOf('id="findings"')).toBeLessThan(html.indexOf('id="overview"')); // findings first
    expect(html).not.toMatch(/<(script|link|img|iframe)[^>]+(src|href)=["']?(https?:)?\/\//i); // nothing from the network
    expect(html).toContain(`href="nodes/${NODE}/profile.svg"`); // raw files linked beside the page
    const hists = svgFragments(html, 'hist');
    expect(hists.length).toBeGreaterThan(0); // runqlat has an overall histogram at least
    for (const s of hists) checkWellFormed(s);
    const flames = svgFragments(html, 'flamegraph');
    expect(flames).toHaveLength(2); // top-down and bottom-up
    const frames = checkWellFormed(flames[0]!).filter((e) => e.name === 'g' && e.attributes.get('class') === 'f');
    expect(frames.length).toBeGreaterThan(1);
    expect(flames[0]).not.toMatch(/ id="/); // ids would clash between graphs on one page
  });

  it('serves report.html on its own, audits both downloads, and refuses unknown, unfinished and anonymous requests', async () => {
    const { res, body } = await download(stack, `/v1/runs/${run.id}/report.html`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    const html = body.toString('utf8');
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(html.trimEnd().endsWith('</html>')).toBe(true);
    expect(html).not.toContain('href="nodes/'); // no files beside it when served alone

    const log = await stack.admin.get('/v1/audit?limit=1000');
    const downloads = (log.body.entries as { action: string; subject: string; actor: string; details?: { file?: string } }[]).filter(
      (e) => e.action === 'report.download' && e.subject === run.id,
    );
    expect(downloads.map((d) => d.details?.file).sort()).toEqual(['report.html', `sherlock-${run.id}.tar.gz`]);
    expect(downloads.every((d) => d.actor === 'test-admin')).toBe(true);

    const unknown = await stack.admin.get('/v1/runs/00000000-0000-4000-8000-000000000000/report');
    expect(unknown.status).toBe(404);
    expect(isJsonError(unknown)).toBe(true);
    expect((await stack.admin.get('/v1/runs/not-a-uuid/report.html')).status).toBe(404);
    expect((await stack.admin.get(`/v1/runs/${run.id}/report`, { token: null })).status).toBe(401);

    const waiting = await stack.admin.submit({ steps: [{ capture: 'execsnoop' }], duration: '1s', targets: { nodes: [IDLE] } });
    const early = await stack.admin.get(`/v1/runs/${waiting}/report`);
    expect(early.status).toBe(409);
    expect(early.body.error.code).toBe('run_not_finished');
    expect((await stack.admin.delete(`/v1/runs/${waiting}`)).status).toBe(202);
  });

  it("names the runbook, its title and params in a runbook run's manifest, summary and page", async () => {
    const id = await stack.admin.submit({ runbook: 'high-cpu', params: { frequency: 49 }, duration: '1s', targets: { nodes: [NODE] } });
    const view = await stack.admin.waitFinal(id, 20_000);
    expect(view.status).toBe('completed');
    const { res, body } = await download(stack, `/v1/runs/${id}/report`);
    expect(res.status).toBe(200);
    const bundle = await unpack(body);
    const top = `sherlock-${id}`;
    const manifest = JSON.parse(bundle.get(`${top}/manifest.json`)!.data.toString('utf8'));
    expect(manifest.run).toMatchObject({ id, runbook: 'high-cpu', runbookTitle: 'High CPU', params: { frequency: 49 } });
    const steps = manifest.run.steps.map((s: { capture: string }) => s.capture);
    expect(manifest.nodes[0].captures.map((c: { capture: string }) => c.capture)).toEqual(steps);
    for (const capture of steps) expect(bundle.has(`${top}/nodes/${NODE}/${capture}.json`), capture).toBe(true);
    expect(bundle.get(`${top}/summary.md`)!.data.toString('utf8')).toContain('**What:** runbook `high-cpu` (High CPU) for 1.00 s');
    const html = bundle.get(`${top}/report.html`)!.data.toString('utf8');
    expect(html).toContain('<h1>Sherlock report: high-cpu</h1>');
    expect(html).toContain('<dt>Params</dt><dd>frequency=49</dd>');
  });

  it('stops reading when the client goes away mid-download, and serves the next download whole', async () => {
    const controller = new AbortController();
    const res = await fetch(`${stack.admin.baseUrl}/v1/runs/${run.id}/report`, {
      headers: { authorization: `Bearer ${stack.adminToken}` },
      signal: controller.signal,
    });
    const reader = res.body!.getReader();
    await reader.read();
    controller.abort();
    await reader.read().catch(() => {});
    const again = await download(stack, `/v1/runs/${run.id}/report`);
    expect(again.res.status).toBe(200);
    const second = await unpack(again.body);
    expect([...second.keys()].sort()).toEqual([...entries.keys()].sort());
    // Same bytes for the same run (the generated-at time aside).
    expect(second.get(`${root}/nodes/${NODE}/profile.pb.gz`)!.data.equals(entries.get(`${root}/nodes/${NODE}/profile.pb.gz`)!.data)).toBe(true);
  });
});
