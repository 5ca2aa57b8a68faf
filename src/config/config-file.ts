// Reading a YAML config file (the Sherlock config, SHERLOCK_HOOKS_CONFIG):
// its document, or the one line that says why it could not be read, and
// whether group or others can read it (it may hold secrets).
import { readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';

// The YAML parser (69 modules) is loaded with the first file read: a worker without a config file never holds it (issue 17).
let yaml: typeof import('yaml') | undefined;
const parseYaml = (text: string): unknown => (yaml ??= createRequire(import.meta.url)('yaml') as typeof import('yaml')).parse(text);

export type YamlFile = { ok: true; doc: unknown; mode: number } | { ok: false; problem: string };

const MAX_CONFIG_BYTES = 1024 * 1024;

export function readYamlFile(path: string): YamlFile {
  let text: string;
  let mode: number;
  try {
    const stat = statSync(path);
    if (!stat.isFile()) return { ok: false, problem: `${path}: not a regular file` };
    if (stat.size > MAX_CONFIG_BYTES) return { ok: false, problem: `${path}: ${stat.size} bytes is more than a config file may hold (1 MiB)` };
    mode = stat.mode;
    text = readFileSync(path, 'utf8');
  } catch (err) {
    return { ok: false, problem: `${path}: cannot read: ${(err as Error).message}` };
  }
  const parsed = parseYamlText(text, path);
  return parsed.ok ? { ok: true, doc: parsed.doc, mode } : parsed;
}

/** An empty document is an empty mapping. */
export function parseYamlText(text: string, where: string): { ok: true; doc: unknown } | { ok: false; problem: string } {
  try {
    return { ok: true, doc: parseYaml(text) ?? {} };
  } catch (err) {
    return { ok: false, problem: `${where}: invalid YAML: ${(err as Error).message.split('\n')[0]!.replace(/:$/, '')}` };
  }
}

/** "0644" when group or others may read the file, else undefined. */
export function readableByOthers(mode: number): string | undefined {
  return mode & 0o044 ? (mode & 0o777).toString(8).padStart(4, '0') : undefined;
}
