// A run's BPF CPU budget: the run's own, else its runbook's, else the server
// default, within the operator's maximum from the config file's `load`
// section; a run over the maximum is refused saying which setting bounds it.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_LOAD_LIMITS, loadLimitsFrom } from '../../src/config/load-limits.js';
import { Invalid } from '../../src/model/errors.js';
import type { NodeInfo } from '../../src/nodes/registry.js';
import { planRun } from '../../src/planner/plan.js';
import { runRequestSchema } from '../../src/planner/run-request.js';
import { RunbookCatalog } from '../../src/runbooks/catalog.js';
import { loadTriggerSettings, TriggerConfigError } from '../../src/triggers/settings.js';

const dir = mkdtempSync(join(tmpdir(), 'sherlock-cpu-budget-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const live: NodeInfo[] = [
  { name: 'n1', labels: {}, kernel: 'k', btf: true, captures: ['execsnoop'], busy: false, lastSeen: new Date().toISOString(), version: '0' },
];
const request = (extra: Record<string, unknown>) => runRequestSchema.parse({ steps: [{ capture: 'execsnoop' }], targets: { all: true }, ...extra });

function catalogWith(cpuBudget: number): RunbookCatalog {
  const books = join(dir, `books-${cpuBudget}`);
  mkdirSync(books);
  writeFileSync(
    join(books, 'cheap.yaml'),
    `name: cheap\ntitle: Cheap\ndescription: a runbook with its own CPU budget\nsteps:\n  - capture: execsnoop\nlimits:\n  cpuBudget: ${cpuBudget}\n`,
  );
  const catalog = RunbookCatalog.load(books);
  expect(catalog.errors).toEqual([]);
  return catalog;
}

describe('the BPF CPU budget of a run', () => {
  const limits = { cpuBudgetPercent: 5, maxCpuBudgetPercent: 20 };

  it('is the server default, the runbook’s, or the run’s own', () => {
    expect(planRun(request({}), live, undefined, limits).cpuBudgetPercent).toBe(5);
    expect(planRun(request({ cpuBudget: 0.5 }), live, undefined, limits).cpuBudgetPercent).toBe(0.5);
    const catalog = catalogWith(2);
    expect(planRun(runRequestSchema.parse({ runbook: 'cheap', targets: { all: true } }), live, catalog, limits).cpuBudgetPercent).toBe(2);
    expect(planRun(runRequestSchema.parse({ runbook: 'cheap', targets: { all: true }, cpuBudget: 10 }), live, catalog, limits).cpuBudgetPercent).toBe(10);
    // A runbook asking for more than the operator allows gets the maximum.
    expect(planRun(runRequestSchema.parse({ runbook: 'cheap', targets: { all: true } }), live, catalogWith(50), limits).cpuBudgetPercent).toBe(20);
  });

  it('refuses a run over the operator’s maximum, naming the setting', () => {
    let error: unknown;
    try {
      planRun(request({ cpuBudget: 30 }), live, undefined, limits);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(Invalid);
    expect((error as Invalid).message).toBe("cpuBudget 30% exceeds this server's maximum of 20% of one CPU (load.maxCpuBudgetPercent)");
    expect(runRequestSchema.safeParse({ steps: [{ capture: 'execsnoop' }], targets: { all: true }, cpuBudget: 0 }).success).toBe(false);
  });

  it('reads load limits from the config file, and refuses a bad one at start', () => {
    const good = join(dir, 'good.yaml');
    writeFileSync(good, 'load:\n  cpuBudgetPercent: 3\n  maxCpuBudgetPercent: 40\n', { mode: 0o600 });
    expect(loadLimitsFrom(good)).toEqual({ ...DEFAULT_LOAD_LIMITS, cpuBudgetPercent: 3, maxCpuBudgetPercent: 40 });
    expect(loadLimitsFrom(undefined)).toEqual(DEFAULT_LOAD_LIMITS);
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'load:\n  cpuBudgetPercent: 30\n  maxCpuBudgetPercent: 20\n', { mode: 0o600 });
    expect(() => loadTriggerSettings({ configFile: bad, env: {} }, RunbookCatalog.load(dir))).toThrow(TriggerConfigError);
    expect(() => loadTriggerSettings({ configFile: bad, env: {} }, RunbookCatalog.load(dir))).toThrow(/cpuBudgetPercent 30 is above maxCpuBudgetPercent 20/);
  });
});
