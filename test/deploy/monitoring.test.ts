// The shipped alert rules and Grafana dashboard: well formed, and every Sherlock
// series they query is one the API exposes (renaming a metric fails here).
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { promtoolCheckRules, promtoolSkipReason } from '../helpers/promtool.js';

const noPromtool = promtoolSkipReason();

const root = join(import.meta.dirname, '..', '..');
const families = (text: string) => new Set([...text.matchAll(/sherlock_[a-z_]+/g)].map(([m]) => m.replace(/_(bucket|sum|count)$/, '')));
const exposed = new Set(
  ['src/api/metrics.ts', 'src/redis/shared-metrics.ts', ...readdirSync(join(root, 'src/api/routes')).map((f) => `src/api/routes/${f}`)].flatMap((f) => [
    ...families(readFileSync(join(root, f), 'utf8')),
  ]),
);

describe('monitoring examples', () => {
  it('alert rules: every rule named, with an expression on exposed series, a severity and a summary', () => {
    const rules = parse(readFileSync(join(root, 'deploy/prometheus/sherlock-alerts.yaml'), 'utf8')) as {
      groups: Array<{ name: string; rules: Array<{ alert: string; expr: string; labels: { severity: string }; annotations: { summary: string } }> }>;
    };
    const all = rules.groups.flatMap((g) => g.rules);
    expect(all.length).toBeGreaterThan(3);
    for (const rule of all) {
      expect(rule.alert).toMatch(/^[A-Z]\w+$/);
      expect(['warning', 'critical']).toContain(rule.labels.severity);
      expect(rule.annotations.summary.length).toBeGreaterThan(5);
      for (const name of families(rule.expr)) expect(exposed, `${rule.alert} queries ${name}`).toContain(name);
    }
  });

  it.skipIf(noPromtool)(`alert rules: promtool check rules accepts them${noPromtool ? ` (skipped: ${noPromtool})` : ''}`, () => {
    const { status, output } = promtoolCheckRules(join(root, 'deploy/prometheus/sherlock-alerts.yaml'));
    expect(output).toMatch(/SUCCESS: \d+ rules found/);
    expect(status).toBe(0);
  });

  it('dashboard: every panel queries exposed series', () => {
    const dashboard = JSON.parse(readFileSync(join(root, 'deploy/grafana/sherlock-dashboard.json'), 'utf8')) as {
      uid: string;
      panels: Array<{ title: string; targets: Array<{ expr: string }> }>;
    };
    expect(dashboard.uid).toBe('sherlock');
    for (const panel of dashboard.panels) {
      expect(panel.targets.length).toBeGreaterThan(0);
      for (const t of panel.targets) for (const name of families(t.expr)) expect(exposed, `${panel.title} queries ${name}`).toContain(name);
    }
  });
});
