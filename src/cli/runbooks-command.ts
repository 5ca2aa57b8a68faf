// `sherlock runbooks [NAME]`: the runbooks on disk (SHERLOCK_RUNBOOKS_DIR, else
// the project's runbooks/), read locally with the server's own checks; no API
// needed. A list (name, title, description), or one runbook's params, target,
// steps, limits and thresholds. Invalid files are named on stderr (exit 1).
import { parseArgs } from 'node:util';
import { paramsJsonSchema, allowedText } from '../runbooks/params.js';
import { RunbookCatalog, defaultRunbooksDir } from '../runbooks/catalog.js';
import { formatLoadError } from '../runbooks/loader.js';
import type { Runbook } from '../runbooks/schema.js';
import { formatDuration } from '../util/duration.js';
import { renderTable } from '../format/index.js';
import { UsageError } from './usage-error.js';

export const runbooksUsage = `usage: sherlock runbooks [NAME] [--json] [--dir DIR]

  Lists the runbooks (name, title, description), or shows one: its params,
  target, steps, limits and thresholds. Reads runbooks/*.yaml locally with the
  server's checks (SHERLOCK_RUNBOOKS_DIR or --dir: another directory).
`;

function wrap(text: string, width: number, indent: string): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width - indent.length) {
      lines.push(indent + line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(indent + line);
  return lines.join('\n');
}

function listText(runbooks: Runbook[], width: number): string {
  if (!runbooks.length) return '(no runbooks)\n';
  return runbooks.map((r) => `${r.name} — ${r.title}\n${wrap(r.description, width, '    ')}\n`).join('\n');
}

function detailText(r: Runbook, width: number): string {
  const out: string[] = [`${r.name} — ${r.title}`, wrap(r.description, width, '  '), ''];
  const params = Object.entries(r.params);
  out.push('params:');
  if (!params.length) out.push('  (none)');
  else {
    out.push(
      renderTable(
        [
          { header: '  NAME', value: ([name]) => `  ${name}` },
          { header: 'TYPE', value: ([, p]) => p.type + (p.required ? ' (required)' : '') },
          {
            header: 'DEFAULT',
            value: ([, p]) => (p.default === undefined ? '-' : p.type === 'duration' ? formatDuration(p.default as number) : String(p.default)),
          },
          { header: 'ALLOWED', value: ([, p]) => allowedText(p) },
          { header: 'WHAT', value: ([, p]) => p.description ?? '' },
        ],
        params,
      ),
    );
  }
  const target = Object.entries(r.target).filter(([, p]) => p);
  out.push('', `target: ${target.length ? target.map(([field, param]) => `params.${param} → target.${field}`).join(', ') : 'the whole host'}`);
  out.push('', 'steps (one shared window):');
  for (const s of r.steps) out.push(`  ${s.capture}${Object.keys(s.params).length ? `  ${JSON.stringify(s.params)}` : ''}`);
  out.push(
    '',
    `window: ${formatDuration(r.limits.defaultDuration)} by default, at most ${formatDuration(r.limits.maxDuration)}${r.limits.maxEvents !== undefined ? `; at most ${r.limits.maxEvents} events per streaming capture` : ''}`,
  );
  const thresholds = Object.entries(r.thresholds);
  if (thresholds.length) out.push(`thresholds: ${thresholds.map(([k, v]) => `${k} ${v}`).join(', ')}`);
  if (r.rules.length) out.push(`rules: ${r.rules.map((rule) => (rule as { name?: string }).name ?? '?').join(', ')}`);
  out.push('', `file: ${r.file}`);
  return out.join('\n') + '\n';
}

export async function runbooksCommand(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: { json: { type: 'boolean' }, dir: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    throw new UsageError(`${(err as Error).message.split('\n')[0]} for sherlock runbooks; allowed: --json, --dir DIR`);
  }
  if (parsed.values.help) {
    process.stdout.write(runbooksUsage);
    return 0;
  }
  if (parsed.positionals.length > 1) throw new UsageError(`sherlock runbooks takes at most one runbook name, got ${parsed.positionals.join(' ')}`);
  const catalog = RunbookCatalog.load(parsed.values.dir ?? defaultRunbooksDir());
  const width = Math.max(60, Math.min(process.stdout.columns ?? 100, 120));
  const name = parsed.positionals[0];
  for (const error of catalog.errors) process.stderr.write(`sherlock: runbook not loaded: ${formatLoadError(error)}\n`);

  if (name) {
    const runbook = catalog.get(name);
    if (!runbook) {
      const broken = catalog.errors.find((e) => e.file.replace(/^.*\//, '').replace(/\.ya?ml$/, '') === name);
      throw new UsageError(broken ? `runbook ${name} is invalid (see above)` : `unknown runbook "${name}"; runbooks: ${catalog.names().join(', ') || 'none'}`);
    }
    if (parsed.values.json) process.stdout.write(JSON.stringify({ ...runbook, params: paramsJsonSchema(runbook) }, null, 2) + '\n');
    else process.stdout.write(detailText(runbook, width));
    return 0;
  }
  if (parsed.values.json) {
    process.stdout.write(
      JSON.stringify(
        {
          runbooks: catalog.list().map((r) => ({ name: r.name, title: r.title, description: r.description })),
          errors: catalog.errors.map((e) => ({ file: e.file, field: e.field, message: e.message })),
        },
        null,
        2,
      ) + '\n',
    );
  } else process.stdout.write(listText(catalog.list(), width));
  return catalog.errors.length ? 1 : 0;
}
