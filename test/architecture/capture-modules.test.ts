// A capture is one module: its checks, baseline numbers and rule events live
// in src/captures/<name>/, and the generic code finds them through the
// registry. These checks fail when generic code starts naming a capture again.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { captures } from '../../src/captures/registry.js';
import { projectRoot } from '../../src/util/paths.js';

const src = join(projectRoot, 'src');

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? tsFiles(path) : name.endsWith('.ts') ? [path] : [];
  });
}

describe('capture modules', () => {
  it('every registered capture carries its checks with a human name', () => {
    for (const d of captures.values()) {
      expect(d.analysis?.checks, d.name).toMatch(/\S/);
      expect(typeof d.analysis?.analyze, d.name).toBe('function');
    }
  });

  it('generic code names no capture as a string (it asks the registry)', () => {
    const names = [...captures.keys()];
    const quoted = new RegExp(`['"\`](${names.join('|')})['"\`]`);
    const offenders = tsFiles(src)
      .filter((f) => !relative(src, f).startsWith('captures/'))
      .flatMap((f) =>
        readFileSync(f, 'utf8')
          .split('\n')
          .map((line, i) => ({ line, at: `${relative(projectRoot, f)}:${i + 1}` }))
          .filter(({ line }) => !/^\s*(\/\/|\*)/.test(line) && quoted.test(line))
          .map(({ at, line }) => `${at}: ${line.trim()}`),
      );
    expect(offenders).toEqual([]);
  });

  it('rules of each kind have a capture that feeds them', () => {
    const kinds = new Set([...captures.values()].flatMap((d) => (d.ruleEvents ? [d.ruleEvents.kind] : [])));
    expect([...kinds].sort()).toEqual(['connect', 'exec', 'open']);
  });
});
