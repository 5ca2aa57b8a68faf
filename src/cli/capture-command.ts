// `sherlock capture NAME --duration 5s [--pid N] [--comm NAME] [--json]`:
// one capture on this host, no Redis; a table for people or JSON for tools.
// A line on stderr says when the probes are live; the table (with what was
// learnt later, like an exec's exit) prints when the window ends.
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { CaptureDefinition, CaptureResult } from '../captures/capture.js';
import { CAPTURE_NAMES, loadCapture } from '../captures/capture-names.js';
import { runCapture, MAX_DURATION_MS, type CaptureProgress } from '../captures/run-capture.js';
import { missingTracingCapabilities, PermissionError } from '../libbpf/index.js';
import { formatDuration, parseDuration } from '../util/duration.js';
import { paramFlags, paramsFromFlags, type ParamFlag } from './param-flags.js';
import { targetFromFlags } from './target-flags.js';
import { renderTable } from '../format/index.js';
import { UsageError } from './usage-error.js';
import { makeDirectory } from '../util/make-dir.js';

const commonOptions = {
  duration: { type: 'string', default: '10s' },
  pid: { type: 'string', multiple: true },
  comm: { type: 'string' },
  cgroup: { type: 'string' },
  unit: { type: 'string' },
  port: { type: 'string' },
  uid: { type: 'string' },
  json: { type: 'boolean', default: false },
  out: { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

export async function captureUsage(def?: CaptureDefinition): Promise<string> {
  if (!def) {
    // Only here are all the captures loaded: for their summaries.
    const { captureNames, captures } = await import('../captures/registry.js');
    const list = captureNames().map((n) => `  ${n.padEnd(12)} ${captures.get(n)!.summary}`);
    return ['usage: sherlock capture NAME [--duration 10s] [--pid N] [--comm NAME] [--json]', '', 'captures:', ...list].join('\n');
  }
  const extra = paramFlags(def.settings).map((f) => `  --${f.flag} ${f.type === 'boolean' ? '' : `<${f.type}>`}  ${f.description}`);
  return [
    `usage: sherlock capture ${def.name} [options]   (${def.summary})`,
    '  --duration 10s     how long to capture (ms, s, m, h; at most 1h); Ctrl-C ends it early',
    '  --pid N            only these processes (repeat or comma-separate)',
    '  --comm NAME        only processes with this command name',
    '  --cgroup PATH      only this cgroup v2 (path under the cgroup2 mount)',
    '  --unit NAME        only this systemd unit (its cgroup)',
    '  --port N           only the processes listening on this TCP port',
    '  --uid N            only this user',
    '  --json             one JSON document instead of a table',
    '  --out DIR          also write the result and its files (flame graph, pprof, ndjson) into DIR',
    ...extra,
  ].join('\n');
}

export async function captureCommand(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h') {
    process.stdout.write((await captureUsage()) + '\n');
    return name ? 0 : 2;
  }
  const def = await loadCapture(name);
  if (!def) throw new UsageError(`unknown capture "${name}"; available: ${CAPTURE_NAMES.join(', ')}`);

  const extra = paramFlags(def.settings);
  const { values } = parseFlags(def, extra, rest);
  if (values.help) {
    process.stdout.write((await captureUsage(def)) + '\n');
    return 0;
  }
  const durationMs = parseDuration(String(values.duration));
  if (durationMs === undefined || durationMs <= 0 || durationMs > MAX_DURATION_MS) {
    throw new UsageError(`--duration takes a duration like 500ms, 5s, 2m (at most 1h), got "${String(values.duration)}"`);
  }
  const target = targetFromFlags(values);
  const params = paramsFromFlags(extra, values);

  const missing = missingTracingCapabilities();
  if (missing.length) throw new PermissionError(`${missing.join(' and ')} (or root)`, `sherlock capture ${name}`);
  // Made now: a bad --out fails before the window, not after it.
  if (values.out !== undefined) {
    try {
      makeDirectory(String(values.out));
    } catch (err) {
      throw new UsageError(`--out: ${(err as Error).message}`);
    }
  }

  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const indicator = progressIndicator(def.name, Boolean(process.stderr.isTTY) && !values.json);
  try {
    const result = await runCapture(def, {
      durationMs,
      params,
      target,
      signal: controller.signal,
      onProgress: indicator.update,
      onLive: () => {
        indicator.clear();
        process.stderr.write(`${def.name}: live for ${formatDuration(durationMs)}; Ctrl-C ends it\n`);
      },
    });
    indicator.clear();
    if (values.out !== undefined) writeOutputs(def, result, String(values.out));
    if (values.json) {
      process.stdout.write(JSON.stringify(result) + '\n');
    } else {
      const { columns, rows } = def.table(result);
      process.stdout.write((def.text ? def.text(result) : renderTable(columns, rows)) + '\n');
      const drops = result.dropped ? `, ${result.dropped} DROPPED (${JSON.stringify(result.drops)})` : ', 0 dropped';
      process.stderr.write(
        `${def.count(result)} ${def.kind === 'events' ? 'events' : 'rows'} in ${formatDuration(result.durationMs)}` +
          `${result.cancelled ? ' (stopped early)' : ''}${drops}, BPF CPU ${(result.bpfCpuNs / 1e6).toFixed(2)}ms\n`,
      );
    }
    return 0;
  } finally {
    indicator.clear();
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}

function parseFlags(def: CaptureDefinition, extra: ParamFlag[], args: string[]) {
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean; default?: string | boolean; short?: string }> = { ...commonOptions };
  for (const f of extra) for (const name of [f.flag, ...f.aliases]) options[name] = { type: f.type === 'boolean' ? 'boolean' : 'string' };
  try {
    return parseArgs({ args, options, allowPositionals: false, strict: true });
  } catch (err) {
    const allowed = Object.keys(options)
      .map((o) => `--${o}`)
      .join(', ');
    const what = (err as Error).message.split('\n')[0]!.replace(/\. To specify.*$/, '');
    throw new UsageError(`${what} for capture ${def.name}; allowed: ${allowed}`);
  }
}

/** "execsnoop 2.3s elapsed, 2.7s left" on one rewritten stderr line (TTY only). */
function progressIndicator(name: string, enabled: boolean) {
  let shown = false;
  return {
    update: enabled
      ? (p: CaptureProgress) => {
          shown = true;
          process.stderr.write(`\r\x1b[K${name}: ${formatDuration(p.elapsedMs)} elapsed, ${formatDuration(p.remainingMs)} left (Ctrl-C to stop early)`);
        }
      : undefined,
    clear() {
      if (shown) process.stderr.write('\r\x1b[K');
      shown = false;
    },
  };
}

/** The result as <capture>.json plus the capture's raw files; the paths go to stderr. */
function writeOutputs(def: CaptureDefinition, result: CaptureResult, dir: string): void {
  const files = [{ name: `${def.name}.json`, content: JSON.stringify(result, null, 2) + '\n' }, ...(def.files?.(result) ?? [])];
  for (const file of files) {
    const { content } = file;
    if (typeof content === 'string' || Buffer.isBuffer(content)) writeFileSync(join(dir, file.name), content);
    else {
      writeFileSync(join(dir, file.name), '');
      for (const chunk of content) appendFileSync(join(dir, file.name), chunk);
    }
    process.stderr.write(`wrote ${join(dir, file.name)}\n`);
  }
}
