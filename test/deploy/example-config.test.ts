// deploy/sherlock.example.yaml documents every setting: as shipped it parses
// (and is the defaults), with its "#= " lines switched on it still parses and
// names every key the config schema has, and its header names every
// environment variable the code reads. A new setting without a line there fails here.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { DEFAULT_LOAD_LIMITS } from '../../src/config/load-limits.js';
import { SERVER_SETTINGS } from '../../src/config/server-config.js';
import { configFileSchema, TRIGGER_ENV } from '../../src/triggers/settings.js';
import { projectRoot } from '../../src/util/paths.js';
import { settingPaths } from './schema-keys.js';

const text = readFileSync(join(projectRoot, 'deploy', 'sherlock.example.yaml'), 'utf8');

/** The file with its "#= " lines on; an active line they replace (same key, same indent) is dropped. */
function switchedOn(source: string): string {
  const lines = source.split('\n');
  const optional = lines.map((l) => /^(\s*)#= (.*)$/.exec(l)).filter((m): m is RegExpExecArray => Boolean(m));
  const replaced = new Set(optional.map((m) => `${m[1]!.length}:${/^(\w+):/.exec(m[2]!)?.[1] ?? ''}`));
  return lines
    .filter((l) => {
      const m = /^(\s*)(\w+):/.exec(l);
      return !m || !replaced.has(`${m[1]!.length}:${m[2]}`);
    })
    .map((l) => l.replace(/^(\s*)#= /, '$1'))
    .join('\n');
}

/** Dotted paths of the keys a parsed document has; arrays of objects contribute their items' keys. */
function docPaths(value: unknown, prefix = ''): string[] {
  if (Array.isArray(value)) return [prefix, ...value.flatMap((item) => (item && typeof item === 'object' ? docPaths(item, prefix) : []))];
  if (!value || typeof value !== 'object') return prefix ? [prefix] : [];
  return [prefix, ...Object.entries(value).flatMap(([k, v]) => docPaths(v, prefix ? `${prefix}.${k}` : k))].filter(Boolean);
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : /\.tsx?$/.test(name) ? [path] : [];
  });
}

describe('deploy/sherlock.example.yaml', () => {
  it('parses as shipped, and is the defaults: no secret set, every limit at its default', () => {
    const parsed = configFileSchema.safeParse(parse(text));
    expect(parsed.success ? [] : parsed.error.issues).toEqual([]);
    const doc = parsed.data!;
    expect(doc.load).toEqual(DEFAULT_LOAD_LIMITS);
    expect(doc.triggers.slack?.signingSecret).toBeUndefined();
    expect(doc.triggers.alertmanager?.token).toBeUndefined();
    expect(doc.triggers.hooks?.rules).toEqual([]);
    expect(doc.limits).toEqual({ signedBodyBytes: 256 * 1024, bodyDeadlineSeconds: 10 });
  });

  it('with its "#= " settings on, parses and names every key of the config schema', () => {
    const doc = parse(switchedOn(text));
    const parsed = configFileSchema.safeParse(doc);
    expect(parsed.success ? [] : parsed.error.issues).toEqual([]);
    const named = new Set(docPaths(doc));
    const schemaPaths = settingPaths(configFileSchema, '', { intoArrays: true });
    expect(schemaPaths.length).toBeGreaterThan(25);
    expect(schemaPaths.filter((p) => !named.has(p))).toEqual([]);
  });

  it('gives every setting a one-line meaning', () => {
    const settingLines = text.split('\n').filter((l) => /^\s*(#= )?\s*-?\s*\w+:\s*\S/.test(l) && !/^\s*#\s{2,}/.test(l));
    expect(settingLines.filter((l) => !/\s#\s\S/.test(l.replace(/^\s*#= /, '')))).toEqual([]);
  });

  it('names every environment variable the code reads, and every process setting', () => {
    const read = new Set<string>(Object.keys(TRIGGER_ENV));
    for (const file of sourceFiles(join(projectRoot, 'src'))) {
      for (const m of readFileSync(file, 'utf8').matchAll(/\benv\.(SHERLOCK_[A-Z0-9_]+|REDIS_URL)\b/g)) read.add(m[1]!);
    }
    expect(read.size).toBeGreaterThan(20);
    const header = text.split('\n').filter((l) => l.startsWith('#') && !l.startsWith('#= '));
    expect([...read].filter((name) => !header.some((l) => new RegExp(`\\b${name}\\b`).test(l)))).toEqual([]);
    // Each process setting (flags over environment) has its line too.
    const flags: Record<string, string> = {
      redisUrl: '--redis',
      port: '--port',
      host: '--host',
      stateDir: '--state-dir',
      retentionDays: '--retention-days',
      node: '--node',
      labels: '--label',
      configFile: '--config',
      falcoRules: '--falco-rules',
      adminToken: 'SHERLOCK_ADMIN_TOKEN',
      warm: '--warm',
    };
    expect([...SERVER_SETTINGS].sort()).toEqual(Object.keys(flags).sort());
    for (const flag of Object.values(flags)) expect(header.join('\n')).toContain(flag);
  });
});
