// `sherlock rules check FILE...`: loads Falco rule files as a run would (in
// order, later ones changing earlier ones) and prints each rule as loaded or
// disabled with the reason; exits 1 when a file, list, macro or rule has an
// error (a syntax error names the file, line, rule and position).
import { parseArgs } from 'node:util';
import { checkRuleFiles } from '../falco/check-rules.js';
import { problemText } from '../falco/rule-file.js';
import { UsageError } from './usage-error.js';

const usage = `usage: sherlock rules check FILE... [--json]

Loads Falco rule files in order (later files append to or override earlier
ones, as falco -r a.yaml -r b.yaml does) against the fields Sherlock fills,
and prints each rule: loaded, disabled (with why) or error. Exit status 1
when anything has an error.
`;

export async function rulesCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
    process.stdout.write(usage);
    return sub ? 0 : 2;
  }
  if (sub !== 'check') throw new UsageError(`unknown rules command "${sub}"; try: sherlock rules check FILE...`);
  let parsed;
  try {
    parsed = parseArgs({ args: rest, options: { json: { type: 'boolean' } }, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(`${(err as Error).message.split('\n')[0]}; usage: sherlock rules check FILE... [--json]`);
  }
  if (!parsed.positionals.length) throw new UsageError('sherlock rules check needs at least one rule file');
  const started = performance.now();
  const { loaded, readProblems } = checkRuleFiles(parsed.positionals);
  const ms = performance.now() - started;
  const errors = [...readProblems, ...loaded.errors.map(problemText)];
  const warnings = loaded.warnings.map(problemText);
  if (parsed.values.json) {
    process.stdout.write(JSON.stringify({ files: loaded.files, rules: loaded.statuses, errors, warnings, loadMs: Math.round(ms) }, null, 2) + '\n');
    return errors.length ? 1 : 0;
  }
  const out: string[] = [];
  for (const s of loaded.statuses) {
    out.push(`${s.state.padEnd(8)} ${s.rule}${s.reason && s.state === 'disabled' ? ` — ${s.reason}` : ''}  (${s.file}:${s.line}, ${s.priority})`);
  }
  if (warnings.length) out.push('', 'warnings:', ...warnings.map((w) => `  ${w}`));
  if (errors.length) out.push('', 'errors:', ...errors.map((e) => `  ${e}`));
  const count = (state: string) => loaded.statuses.filter((s) => s.state === state).length;
  out.push(
    '',
    `${loaded.statuses.length} rules: ${count('loaded')} loaded, ${count('disabled')} disabled, ${count('error')} with errors; ${errors.length} error(s) in ${Math.round(ms)} ms`,
  );
  process.stdout.write(out.join('\n') + '\n');
  return errors.length ? 1 : 0;
}
