// suspicious-activity: the built-in runbook's rules against execs, opens and
// connects built here (a shell whose parent is nginx, an open of /etc/shadow,
// a write under /etc, a connect to an unexpected port), and the rule schema.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EventSpoolWriter } from '../../src/captures/event-spool.js';
import { openRecords } from '../../src/captures/opensnoop/analyze.js';
import { analyzeRun } from '../../src/runs/analyze-run.js';
import { ruleSchema } from '../../src/analysis/rules.js';
import { RunbookCatalog } from '../../src/runbooks/catalog.js';
import { expandRunbook } from '../../src/runbooks/expand.js';
import { projectRoot } from '../../src/util/paths.js';
import { conn, exec, histogram, NODE, on, open, result, run } from './fixtures.js';

const catalog = RunbookCatalog.load(join(projectRoot, 'runbooks'));
const plan = expandRunbook(catalog, { runbook: 'suspicious-activity' });

function analyze(events: { execs?: unknown[]; opens?: unknown[]; conns?: unknown[]; connlat?: unknown[] }) {
  return analyzeRun({
    run: run({ runbook: 'suspicious-activity', params: plan.params, rules: plan.rules, steps: plan.steps }),
    results: [
      on(result('execsnoop', { events: events.execs ?? [] })),
      on(result('opensnoop', { events: events.opens ?? [] })),
      on(result('tcplife', { events: events.conns ?? [], missedRuns: 0 })),
      on(result('tcpconnlat', { histograms: events.connlat ?? [], slowest: [], failures: [], missedRuns: 0 })),
    ],
  });
}

const byRule = (findings: ReturnType<typeof analyze>, rule: string) => findings.find((f) => f.evidence.rule === rule);

describe('suspicious-activity rules', () => {
  it('a shell whose parent is nginx: critical, naming the parent and the command', () => {
    const findings = analyze({ execs: [exec({}), exec({ pid: 4001, comm: 'ls', filename: '/bin/ls', argv: ['ls'], pcomm: 'sh', ppid: 4000 })] });
    const hit = byRule(findings, 'shell-from-web-server')!;
    expect(hit.severity).toBe('critical');
    expect(hit.title).toBe(
      'A web server started a shell: nginx (pid 812) ran sh -c id [rule shell-from-web-server]; next: who started it (the parent chain in execsnoop.ndjson) and whether that is expected on this host.',
    );
    expect(hit.capture).toBe('execsnoop');
    expect(hit.file).toBe(`nodes/${NODE}/execsnoop.json`);
    expect(hit.evidence.hits).toBe(1);
    expect(findings[0]).toBe(hit);
  });

  it('a shell started by something else is not that rule', () => {
    expect(byRule(analyze({ execs: [exec({ pcomm: 'sshd' })] }), 'shell-from-web-server')).toBeUndefined();
  });

  it('an open of /etc/shadow: critical, unless by a program that reads it for a living', () => {
    const findings = analyze({
      opens: [
        open({}),
        open({ pid: 4101, comm: 'sshd' }),
        open({ pid: 4102, comm: 'python3', path: '/etc/gshadow', retval: -13, error: 'EACCES', fd: undefined }),
      ],
    });
    const hit = byRule(findings, 'shadow-read')!;
    expect(hit.severity).toBe('critical');
    expect(hit.title).toBe(
      'The password hashes were opened: cat (pid 4100) opened /etc/shadow for reading (2 hits by cat (pid 4100) and python3 (pid 4102)) [rule shadow-read]; next: which program opened it and what it did next (its execs and connects in this run).',
    );
    expect((hit.evidence.examples as { comm: string }[]).map((e) => e.comm)).toEqual(['cat', 'python3']);
  });

  it('a write under /etc is a warning; reads there and writes elsewhere are not', () => {
    const findings = analyze({
      opens: [
        open({ comm: 'vi', path: '/etc/passwd', flagNames: 'O_WRONLY|O_CREAT|O_TRUNC', flags: 577, mode: '0644' }),
        open({ comm: 'vi', path: '/etc/hosts', flagNames: 'O_RDONLY' }),
        open({ comm: 'vi', path: '/home/u/notes', flagNames: 'O_WRONLY' }),
        open({ comm: 'dpkg', path: '/usr/bin/ls', flagNames: 'O_WRONLY' }),
      ],
    });
    const hit = byRule(findings, 'system-write')!;
    expect(hit.severity).toBe('warning');
    expect(hit.evidence.hits).toBe(1);
    expect(hit.title).toContain('vi (pid 4100) opened /etc/passwd for writing');
  });

  it('connects to a port outside the allowed list, not loopback ones', () => {
    const findings = analyze({
      conns: [conn({}), conn({ remote: '203.0.113.9:443' }), conn({ remote: '127.0.0.1:6379' }), conn({ remote: '10.0.0.2:22', direction: 'passive' })],
      connlat: [{ labels: { destination: '198.51.100.7:6667' }, histogram: histogram({ 8: 2 }) }],
    });
    const hit = byRule(findings, 'unexpected-port')!;
    expect(hit.severity).toBe('warning');
    expect(hit.capture).toBe('tcplife');
    expect(hit.evidence.hits).toBe(3); // curl → 4444, and two connects to 6667 whose process tcpconnlat did not record
    expect(hit.title).toBe(
      'An outbound connect went to an unexpected port: curl (pid 4200) connected to 203.0.113.9:4444 (3 hits by unknown process and curl (pid 4200)) [rule unexpected-port]; next: which program connected and whether that destination is expected.',
    );
  });

  it("the allowed ports come from the run's params", () => {
    const mine = expandRunbook(catalog, { runbook: 'suspicious-activity', params: { allowedPorts: '4444' } });
    const findings = analyzeRun({ run: run({ rules: mine.rules }), results: [on(result('tcplife', { events: [conn({})], missedRuns: 0 }))] });
    expect(findings.map((f) => f.title)).toEqual([expect.stringMatching(/^No problems found on web-1: checked TCP connections and 7 rules\.$/)]);
  });

  it("rules given to analyzeRun win over the plan's", () => {
    const rule = ruleSchema.parse({ name: 'any-exec', title: 'Something ran', severity: 'info', exec: { comm: '*' } });
    const findings = analyzeRun({ run: run({ rules: plan.rules }), results: [on(result('execsnoop', { events: [exec({ pcomm: 'sshd' })] }))], rules: [rule] });
    expect(findings.map((f) => f.evidence.rule).filter(Boolean)).toEqual(['any-exec']);
  });
});

describe('rules over a spooled result', () => {
  it('read once from the spool, every hit counted, twenty kept as examples', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sherlock-rules-spool-'));
    try {
      const writer = new EventSpoolWriter<Record<string, unknown>>({ dir, budgetBytes: Infinity }, 'opensnoop');
      for (let i = 0; i < 30_000; i++) writer.append(open({ pid: 5000 + (i % 7), path: i % 3 ? `/tmp/f${i}` : '/etc/shadow' }));
      const data = { events: [], eventSpool: writer.close() };
      expect(Array.isArray(openRecords(data))).toBe(false); // a generator: records are never one array
      const rule = ruleSchema.parse({ name: 'shadow', title: 'Shadow read', severity: 'warning', open: { path: '/etc/shadow' } });
      const findings = analyzeRun({ run: run(), rules: [rule], results: [on(result('opensnoop', data))] });
      expect(findings.map((f) => [f.evidence.rule, f.evidence.hits, (f.evidence.examples as unknown[]).length])).toEqual([['shadow', 10_000, 20]]);
      expect(findings[0]!.title).toContain('10,000 hits by cat (pid 5000), cat (pid 5003)');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('rule schema', () => {
  it.each([
    [{ name: 'x', title: 'X' }, 'exactly one of exec, open or connect'],
    [{ name: 'x', title: 'X', exec: { comm: 'sh' }, open: { path: '/x' } }, 'this one has exec and open'],
    [{ name: 'X!', title: 'X', exec: {} }, 'lowercase'],
    [{ name: 'x', title: 'X', connect: { port: 'http' } }, 'ports are numbers'],
    [{ name: 'x', title: 'X', connect: { port: '80,99999' } }, 'port 99999 is not 1-65535'],
    [{ name: 'x', title: 'X', open: { access: 'append' } }, 'read'],
    [{ name: 'x', title: 'X', exec: { colour: 'red' } }, 'colour'],
  ])('%j is rejected: %s', (rule, message) => {
    const parsed = ruleSchema.safeParse(rule);
    expect(parsed.success).toBe(false);
    expect(JSON.stringify(parsed.error!.issues)).toContain(message);
  });

  it('globs: * spans slashes, ? one character; a single pattern or a list', () => {
    const rule = ruleSchema.parse({ name: 'g', title: 'G', open: { path: '/usr/?in/*', comm: ['a*', 'b'] } });
    const findings = analyzeRun({
      run: run(),
      rules: [rule],
      results: [
        on(
          result('opensnoop', {
            events: [open({ comm: 'apt', path: '/usr/bin/x/y' }), open({ comm: 'c', path: '/usr/bin/z' }), open({ comm: 'b', path: '/usr/lib/z' })],
          }),
        ),
      ],
    });
    expect(findings[0]!.evidence.hits).toBe(1);
  });
});
