// `sherlock run` flags → the POST /v1/runs body. Every mistake the CLI can
// see is a UsageError here, before anything is sent.
import type { BodyOf } from '../../client/operations.js';
import { parseArgs } from 'node:util';
import { MAX_RUN_DURATION_MS } from '../../model/limits.js';
import { formatDuration, parseDuration } from '../../util/duration.js';
import { flagList as list, targetFromFlags } from '../target-flags.js';
import { UsageError } from '../usage-error.js';
import { DEFAULT_API_URL, DEFAULT_STATE_DIR } from './view.js';

const MIN_DURATION_MS = 1000;

export const runOptions = {
  param: { type: 'string', multiple: true },
  steps: { type: 'string', multiple: true },
  node: { type: 'string', multiple: true },
  label: { type: 'string', multiple: true },
  duration: { type: 'string' },
  'target-pid': { type: 'string', multiple: true },
  'target-comm': { type: 'string' },
  'target-cgroup': { type: 'string' },
  'target-unit': { type: 'string' },
  'target-port': { type: 'string' },
  'target-uid': { type: 'string' },
  reason: { type: 'string' },
  'falco-rules': { type: 'string', multiple: true },
  detach: { type: 'boolean', short: 'd', default: false },
  json: { type: 'boolean', default: false },
  /** Following is the default now; --wait is still taken (older scripts), and hidden. */
  wait: { type: 'boolean', default: false },
  out: { type: 'string' },
  api: { type: 'string' },
  token: { type: 'string' },
  status: { type: 'string' },
  cancel: { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

export type RunFlags = ReturnType<typeof parseRunFlags>['values'];

export const runUsage = `usage: sherlock run RUNBOOK [options]       run a runbook on the live nodes through the API, and follow it
       sherlock run --steps execsnoop,profile [options]   captures ad hoc, no runbook
       sherlock run --status ID | --cancel ID

Follows the run: streaming captures (execsnoop, opensnoop, ...) print their events as they
arrive, a progress line shows each node's window (on a terminal), then the findings and the
report bundle. Without --duration it captures until Ctrl-C (at most the runbook's limit).
Ctrl-C ends the window early on every node: what was captured is kept, analyzed and
downloaded. A second Ctrl-C leaves at once (the run goes on finishing).

options:
  --duration 30s       a fixed window (1s to ${formatDuration(MAX_RUN_DURATION_MS)}; a runbook has its own limit); default: until Ctrl-C,
                       or the runbook's default window with --detach
  --param k=v          a runbook parameter (repeat); with --steps, k=v sets it on every step, capture.k=v on one
  --node N             only these nodes (repeat or comma-separate); default: every live node
  --label k=v          only the live nodes with these labels (repeat)
  --target-pid N, --target-comm NAME, --target-cgroup PATH, --target-unit NAME, --target-port N, --target-uid N
                       which processes the captures look at on each node (default: all)
  --reason TEXT        why (kept with the run and in the audit log)
  --falco-rules NAME   also match these operator Falco rule files (repeat or comma-separate): a file's name
                       without .yaml, from the directories in the workers' SHERLOCK_FALCO_RULES or falco.rules
  --json               NDJSON on stdout, one object a line: {"type":"event",...} as events arrive,
                       {"type":"finding",...} per finding, {"type":"run",...} first and last
  --out DIR|FILE       where the bundle goes (FILE ending .tar.gz or .tgz; default: sherlock-ID.tar.gz here)
  -d, --detach         submit, print the run id and links, and return (no following, no bundle)
  --api URL            the API (default: SHERLOCK_API_URL or ${DEFAULT_API_URL})
  --token T            an API token with runs:write (default: SHERLOCK_TOKEN, or the admin token of
                       \`sherlock up\` on this host: $SHERLOCK_STATE_DIR/admin-token, ${DEFAULT_STATE_DIR})
  --status ID          a run's status, nodes and captures;  --cancel ID  cancel it (marked cancelled)

examples:
  sherlock run --steps execsnoop                      watch every exec on every node until Ctrl-C
  sherlock run --steps execsnoop,opensnoop --node web-1 --target-unit nginx.service
  sherlock run intermittent-latency --param port=5432 --duration 30s --out /tmp/incident
  sherlock run high-cpu --label role=db --duration 20s --json | jq -c 'select(.type=="finding")'
  sherlock run disk-io --detach && sherlock run --status ID

exit codes:
  0  the run ended (completed, or stopped with Ctrl-C) and no finding is above info
  1  findings above info (warning or critical): read them, and the report
  2  bad usage (the message says what is allowed)
  3  failure: the API refused or could not be reached, the run failed, ended partial or was
     cancelled with no finding above info, or the report could not be downloaded
  130  left with a second Ctrl-C (143 on SIGTERM) before the run ended; the run goes on`;

export function parseRunFlags(args: string[]) {
  try {
    return parseArgs({ args, options: runOptions, allowPositionals: true, strict: true });
  } catch (err) {
    const what = (err as Error).message.split('\n')[0]!.replace(/\. To specify.*$/, '');
    throw new UsageError(
      `${what} for sherlock run; allowed: ${Object.keys(runOptions)
        .map((o) => `--${o}`)
        .join(', ')}`,
    );
  }
}

/** The POST /v1/runs body from the flags; every mistake the CLI can see is a UsageError. */
export function runRequest(values: RunFlags, positionals: string[]): BodyOf<'startRun'> {
  if (positionals.length > 1) throw new UsageError(`sherlock run takes one runbook, got ${positionals.map((p) => `"${p}"`).join(' ')}`);
  const runbook = positionals[0];
  const steps = list(values.steps);
  if (runbook && steps.length) throw new UsageError('give a runbook or --steps, not both');
  if (!runbook && !steps.length)
    throw new UsageError('sherlock run needs a runbook (sherlock run intermittent-latency) or --steps execsnoop,profile; see sherlock run --help');
  for (const s of steps) if (!/^[a-z0-9_-]+$/.test(s)) throw new UsageError(`--steps takes capture names like execsnoop,profile, got "${s}"`);
  if (values.detach && values.out !== undefined) throw new UsageError('--out does not go with --detach (the bundle exists once the run has ended)');
  if (values.detach && values.wait) throw new UsageError('give --detach or --wait, not both');

  const params = (values.param ?? []).map((p) => keyValue('--param', p));
  const body: Omit<BodyOf<'startRun'>, 'targets'> = {};
  if (runbook) {
    body.runbook = runbook;
    // As text: the server types them against the runbook's declarations ("5432" an int, "30s" a duration).
    if (params.length) body.params = Object.fromEntries(params);
  } else {
    body.steps = stepsWithParams(steps, params);
  }
  if (values.duration !== undefined) {
    // A runbook has a limit of its own, which the API names; ad-hoc steps have the server's.
    const ms = parseDuration(values.duration);
    if (ms === undefined || ms < MIN_DURATION_MS || (!runbook && ms > MAX_RUN_DURATION_MS)) {
      throw new UsageError(
        `--duration takes ${runbook ? 'at least 1s' : `1s to ${formatDuration(MAX_RUN_DURATION_MS)}`} (like 30s or 2m), got "${values.duration}"`,
      );
    }
    body.duration = ms;
  } else if (!values.detach) {
    // Followed with no window: it captures until Ctrl-C stops it (at most its limit).
    body.untilStopped = true;
  }
  const target = targetFromFlags(values, 'target-');
  if (Object.keys(target).length) body.target = target;
  const nodes = list(values.node);
  if (nodes.length && values.label?.length) throw new UsageError('give --node or --label, not both');
  if (values.reason !== undefined) body.reason = values.reason;
  const falcoRules = list(values['falco-rules']).map(falcoRuleName);
  if (falcoRules.length) body.falcoRules = falcoRules;
  if (nodes.length) return { ...body, targets: { nodes } };
  if (values.label?.length) return { ...body, targets: { labels: Object.fromEntries(values.label.map((l) => keyValue('--label', l))) } };
  return { ...body, targets: { all: true } };
}

/** "extra" or "extra.yaml" → "extra"; a path is refused: the files live on the workers, a request only names them. */
function falcoRuleName(text: string): string {
  if (text.includes('/'))
    throw new UsageError(`--falco-rules takes the name of an operator rule file on the workers (like "extra" for rules.d/extra.yaml), not a path: "${text}"`);
  const name = text.replace(/\.ya?ml$/, '');
  if (!/^[\w.-]{1,100}$/.test(name)) throw new UsageError(`--falco-rules names are letters, digits, ".", "_" and "-", got "${text}"`);
  return name;
}

function keyValue(flag: string, text: string): [string, string] {
  const eq = text.indexOf('=');
  if (eq <= 0) throw new UsageError(`${flag} takes key=value, got "${text}"`);
  return [text.slice(0, eq), text.slice(eq + 1)];
}

/** A capture setting: "30" → 30, "true" → true, anything else stays text; the capture's schema checks it on the server. */
export function paramValue(text: string): string | number | boolean {
  if (/^-?\d+(\.\d+)?$/.test(text) && Number.isFinite(Number(text))) return Number(text);
  if (text === 'true' || text === 'false') return text === 'true';
  return text;
}

const camel = (key: string) => key.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/** `k=v` goes to every step, `capture.k=v` to that capture's steps; keys may be kebab-case like the capture flags. */
export function stepsWithParams(steps: string[], params: [string, string][]): { capture: string; params: Record<string, unknown> }[] {
  const result = steps.map((capture) => ({ capture, params: {} as Record<string, unknown> }));
  for (const [key, value] of params) {
    const dot = key.indexOf('.');
    const capture = dot > 0 ? key.slice(0, dot) : undefined;
    if (capture && !steps.includes(capture)) throw new UsageError(`--param ${key} names ${capture}, which is not in --steps (${steps.join(', ')})`);
    for (const step of result) if (!capture || step.capture === capture) step.params[camel(capture ? key.slice(dot + 1) : key)] = paramValue(value);
  }
  return result;
}
