// The layers of src/ (.dependency-cruiser.cjs): imports point down, never in
// a cycle, between modules or between folders. A fixture tree that breaks
// each rule shows the rules can fail.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/util/paths.js';
import { KNOWN_FOLDER_CYCLES, KNOWN_RULE_VIOLATIONS } from './known-violations.js';

interface Cruise {
  modules: { source: string; dependencies: { resolved: string }[] }[];
  summary: { violations: { rule: { name: string }; from: string; to: string }[] };
}

const depcruise = join(projectRoot, 'node_modules', '.bin', 'depcruise');
const config = join(projectRoot, '.dependency-cruiser.cjs');

/** dependency-cruiser's JSON for `src` under `cwd` (it exits non-zero on violations; the JSON says which). */
function cruise(cwd: string): Cruise {
  try {
    return JSON.parse(
      execFileSync(depcruise, ['src', '--config', config, '--output-type', 'json'], { cwd, encoding: 'utf8', maxBuffer: 64 << 20, timeout: 60_000 }),
    ) as Cruise;
  } catch (err) {
    const stdout = (err as { stdout?: string }).stdout;
    if (stdout?.startsWith('{')) return JSON.parse(stdout) as Cruise;
    throw err;
  }
}

const violationText = (v: { rule: { name: string }; from: string; to: string }) => `${v.rule.name}: ${v.from} → ${v.to}`;

/** Sets of folders of src/ that import each other, round any loop (strongly connected, two or more). */
function folderCycles(result: Cruise): string[][] {
  const folderOf = (path: string) => /^src\/([^/]+)\//.exec(path)?.[1];
  const edges = new Map<string, Set<string>>();
  for (const m of result.modules) {
    const from = folderOf(m.source);
    if (!from) continue;
    for (const d of m.dependencies) {
      const to = folderOf(d.resolved);
      if (to && to !== from) edges.set(from, (edges.get(from) ?? new Set()).add(to));
    }
  }
  const reach = (start: string) => {
    const seen = new Set([start]);
    for (const stack = [start]; stack.length; ) for (const next of edges.get(stack.pop()!) ?? []) if (!seen.has(next)) stack.push(seen.add(next) && next);
    return seen;
  };
  const reachable = new Map([...edges.keys()].map((f) => [f, reach(f)]));
  const cycles = new Map<string, string[]>();
  for (const [folder, seen] of reachable) {
    const group = [...seen].filter((other) => reachable.get(other)?.has(folder)).sort();
    if (group.length > 1) cycles.set(group.join(), group);
  }
  return [...cycles.values()];
}

describe('layers', () => {
  const result = cruise(projectRoot);

  it('every import in src/ obeys the layer rules', () => {
    const known = new Set(KNOWN_RULE_VIOLATIONS.map((v) => `${v.rule}: ${v.from} → ${v.to}`));
    const found = result.summary.violations.map(violationText);
    expect(
      found.filter((v) => !known.has(v)),
      'imports that break a layer rule (.dependency-cruiser.cjs)',
    ).toEqual([]);
    expect(
      [...known].filter((v) => !found.includes(v)),
      'known violations that are gone: delete them from known-violations.ts',
    ).toEqual([]);
  });

  it('no two folders of src/ import each other, directly or round a loop', () => {
    const known = new Set(KNOWN_FOLDER_CYCLES.map((c) => c.folders.join()));
    const found = folderCycles(result).map((c) => c.join());
    expect(
      found.filter((c) => !known.has(c)),
      'folder cycles',
    ).toEqual([]);
    expect(
      [...known].filter((c) => !found.includes(c)),
      'known folder cycles that are gone: delete them from known-violations.ts',
    ).toEqual([]);
  });

  it('the rules catch each kind of break (fixture tree)', () => {
    const fixture = cruise(join(projectRoot, 'test', 'architecture', 'fixture'));
    const rules = new Set(fixture.summary.violations.map((v) => v.rule.name));
    for (const rule of ['no-circular', 'ground-looks-down', 'triggers-and-schedules-not-through-http', 'http-only-in-api', 'every-file-in-a-layer']) {
      expect(rules, rule).toContain(rule);
    }
    expect(folderCycles(fixture)).toEqual([['core', 'model']]);
  });
});
