// `sherlock run RUNBOOK` (or `--steps a,b`): submits a run through the API,
// follows it per node from the SSE stream, then prints the findings and
// downloads the report bundle. `--status ID` and `--cancel ID` act on a run.
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { Column } from '../captures/capture.js';
import type { TargetSpec } from '../captures/target.js';
import { PermissionError } from '../libbpf/index.js';
import { FINAL_NODE_STATUSES, FINAL_STATUSES, type CaptureSummary, type NodeState, type NodeStatus, type RunRecord } from '../runs/types.js';
import { formatDuration, parseDuration } from '../util/duration.js';
import { ApiClient, ApiRequestError, normalizeApiUrl, type SseEvent } from './api-client.js';
import { describeTarget, renderTable } from '../format/index.js';
import { UsageError } from './usage-error.js';

export const DEFAULT_API_URL = 'http://127.0.0.1:7070';
const DEFAULT_STATE_DIR = '/var/lib/sherlock';
const MIN_DURATION_MS = 1000;
const MAX_DURATION_MS = 10 * 60_000;

const options = {
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
  wait: { type: 'boolean', default: false },
  out: { type: 'string' },
  api: { type: 'string' },
  token: { type: 'string' },
  status: { type: 'string' },
  cancel: { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

type Values = ReturnType<typeof parseFlags>['values'];

export const runUsage = `usage: sherlock run RUNBOOK [options]       run a runbook on the live nodes, through the API
       sherlock run --steps execsnoop,profile [options]   captures ad hoc, no runbook
       sherlock run --status ID | --cancel ID
  --param k=v          a runbook parameter (repeat); with --steps, k=v sets it on every step, capture.k=v on one
  --node N             only these nodes (repeat or comma-separate); default: every live node
  --label k=v          only the live nodes with these labels (repeat)
  --duration 30s       how long every capture runs (1s to 10m; a runbook has its default and limit)
  --target-pid N, --target-comm NAME, --target-cgroup PATH, --target-unit NAME, --target-port N, --target-uid N
                       which processes the captures look at on each node (default: all)
  --reason TEXT        why (kept with the run and in the audit log)
  --wait               follow the run, print its findings and download its report bundle
  --out DIR|FILE       where the bundle goes (FILE ending .tar.gz or .tgz; default: sherlock-ID.tar.gz here); needs --wait
  --api URL            the API (default: SHERLOCK_API_URL or ${DEFAULT_API_URL})
  --token T            an API token with runs:write (default: SHERLOCK_TOKEN, or the admin token of
                       \`sherlock up\` on this host: $SHERLOCK_STATE_DIR/admin-token, ${DEFAULT_STATE_DIR})
Exit codes: 0 the run completed, 1 it did not (partial, failed, cancelled) or the API said no,
2 bad usage, 130 Ctrl-C (the run goes on; the message says how to cancel it).`;

/** A run as GET /v1/runs/:id shows it. */
type RunView = RunRecord & {
  nodes: Record<string, NodeState & { position?: number }>;
  links?: Record<string, string>;
};

interface Submitted {
  id: string;
  status: string;
  nodes: string[];
  links: Record<string, string>;
}

export async function runCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(argv);
  if (values.help) {
    process.stdout.write(runUsage + '\n');
    return 0;
  }
  const base = normalizeApiUrl(values.api ?? process.env.SHERLOCK_API_URL ?? DEFAULT_API_URL);
  const only = (flag: 'status' | 'cancel') => {
    const id = values[flag]!;
    const others = Object.keys(values).filter((k) => !['status', 'cancel', 'api', 'token', 'help', 'wait'].includes(k) && k !== flag);
    if (positionals.length || others.length || values.wait || (flag === 'status' ? values.cancel : values.status) !== undefined) {
      throw new UsageError(`--${flag} ID takes only --api and --token${others.length ? `, not --${others[0]}` : positionals.length ? `, not "${positionals[0]}"` : ''}`);
    }
    if (!/^[0-9a-f-]{36}$/i.test(id)) throw new UsageError(`--${flag} takes a run id (a UUID from \`sherlock run\`), got "${id}"`);
    return id;
  };
  if (values.status !== undefined) {
    const id = only('status');
    return statusCommand(new ApiClient(base, apiToken(values, base)), id, base);
  }
  if (values.cancel !== undefined) {
    const id = only('cancel');
    return cancelCommand(new ApiClient(base, apiToken(values, base)), id, base);
  }

  const request = runRequest(values, positionals);
  const out = values.out !== undefined || values.wait ? bundleTarget(values) : undefined;
  const client = new ApiClient(base, apiToken(values, base));
  const run = await client.json<Submitted>('POST', '/v1/runs', request);
  if (!values.wait) {
    printSubmitted(run, base);
    return 0;
  }
  return followRun(client, run, base, out!);
}

function parseFlags(args: string[]) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (err) {
    const what = (err as Error).message.split('\n')[0]!.replace(/\. To specify.*$/, '');
    throw new UsageError(`${what} for sherlock run; allowed: ${Object.keys(options).map((o) => `--${o}`).join(', ')}`);
  }
}

// ---- the request ------------------------------------------------------------

/** The POST /v1/runs body from the flags; every mistake the CLI can see is a UsageError. */
export function runRequest(values: Values, positionals: string[]): Record<string, unknown> {
  if (positionals.length > 1) throw new UsageError(`sherlock run takes one runbook, got ${positionals.map((p) => `"${p}"`).join(' ')}`);
  const runbook = positionals[0];
  const steps = list(values.steps);
  if (runbook && steps.length) throw new UsageError('give a runbook or --steps, not both');
  if (!runbook && !steps.length) throw new UsageError('sherlock run needs a runbook (sherlock run intermittent-latency) or --steps execsnoop,profile; see sherlock run --help');
  for (const s of steps) if (!/^[a-z0-9_-]+$/.test(s)) throw new UsageError(`--steps takes capture names like execsnoop,profile, got "${s}"`);
  if (values.out !== undefined && !values.wait) throw new UsageError('--out needs --wait (the bundle exists once the run has ended)');

  const params = (values.param ?? []).map((p) => keyValue('--param', p));
  const body: Record<string, unknown> = {};
  if (runbook) {
    body.runbook = runbook;
    // As text: the server types them against the runbook's declarations ("5432" an int, "30s" a duration).
    if (params.length) body.params = Object.fromEntries(params);
  } else {
    body.steps = stepsWithParams(steps, params);
  }
  if (values.duration !== undefined) {
    // A runbook has a limit of its own, which the API names; ad-hoc steps have the server's 10m.
    const ms = parseDuration(values.duration);
    if (ms === undefined || ms < MIN_DURATION_MS || (!runbook && ms > MAX_DURATION_MS)) {
      throw new UsageError(`--duration takes ${runbook ? 'at least 1s' : '1s to 10m'} (like 30s or 2m), got "${values.duration}"`);
    }
    body.duration = ms;
  }
  const target = targetFromFlags(values);
  if (Object.keys(target).length) body.target = target;
  const nodes = list(values.node);
  if (nodes.length && values.label?.length) throw new UsageError('give --node or --label, not both');
  if (nodes.length) body.targets = { nodes };
  else if (values.label?.length) body.targets = { labels: Object.fromEntries(values.label.map((l) => keyValue('--label', l))) };
  else body.targets = { all: true };
  if (values.reason !== undefined) body.reason = values.reason;
  return body;
}

/** Repeated and comma-separated values as one list. */
const list = (values: string[] | undefined) => (values ?? []).flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean);

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

function targetFromFlags(values: Values): TargetSpec {
  const target: TargetSpec = {};
  const pids = list(values['target-pid']);
  if (pids.length) {
    target.pid = pids.map((p) => {
      const n = Number(p);
      if (!Number.isInteger(n) || n <= 0) throw new UsageError(`--target-pid takes positive process ids, got "${p}"`);
      return n;
    });
  }
  const comm = values['target-comm'];
  if (comm !== undefined) {
    if (!comm || comm.length > 15) throw new UsageError(`--target-comm takes a command name of 1 to 15 characters, got "${comm}"`);
    target.comm = comm;
  }
  if (values['target-cgroup'] !== undefined) target.cgroup = values['target-cgroup'];
  if (values['target-unit'] !== undefined) target.unit = values['target-unit'];
  const port = values['target-port'];
  if (port !== undefined) {
    const n = Number(port);
    if (!Number.isInteger(n) || n < 1 || n > 65535) throw new UsageError(`--target-port takes a TCP port 1-65535, got "${port}"`);
    target.port = n;
  }
  const uid = values['target-uid'];
  if (uid !== undefined) {
    const n = Number(uid);
    if (uid === '' || !Number.isInteger(n) || n < 0) throw new UsageError(`--target-uid takes a numeric user id, got "${uid}"`);
    target.uid = n;
  }
  return target;
}

// ---- where things come from and go ------------------------------------------

/** A token read from the state dir is refused with exit 77 when only root may read it. */
class TokenFilePermissionError extends PermissionError {
  constructor(file: string) {
    super('root', 'reading the admin token');
    this.message = `cannot read ${file} (root only): run as root, or pass --token / set SHERLOCK_TOKEN`;
  }
}

const isLocal = (base: string) => {
  const host = new URL(base).hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || host.startsWith('127.') || host === hostname().toLowerCase();
};

/** --token, SHERLOCK_TOKEN, or (for an API on this host) the admin token `sherlock up` stored. */
export function apiToken(values: Pick<Values, 'token'>, base: string, env: NodeJS.ProcessEnv = process.env): string {
  const given = values.token ?? (env.SHERLOCK_TOKEN || undefined);
  if (given !== undefined) {
    if (!given.trim()) throw new UsageError('--token is empty');
    return given.trim();
  }
  const file = join(env.SHERLOCK_STATE_DIR || DEFAULT_STATE_DIR, 'admin-token');
  if (isLocal(base) && existsSync(file)) {
    try {
      const token = readFileSync(file, 'utf8').trim();
      if (token) return token;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EACCES') throw new TokenFilePermissionError(file);
      throw err;
    }
  }
  throw new UsageError(`no API token: pass --token T or set SHERLOCK_TOKEN${isLocal(base) ? ` (no admin token in ${file} either)` : ''}`);
}

/** The bundle's path: --out FILE (.tar.gz/.tgz) as is, else sherlock-<id>.tar.gz in --out DIR or here. Made now, so a bad path fails before the run. */
function bundleTarget(values: Values): (id: string) => string {
  const out = resolve(values.out ?? '.');
  const isFile = /\.(tar\.gz|tgz)$/.test(out) && !(existsSync(out) && statSync(out).isDirectory());
  const dir = isFile ? dirname(out) : out;
  try {
    mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw new Error(`cannot create the --out directory ${dir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return (id) => (isFile ? out : join(dir, `sherlock-${id}.tar.gz`));
}

// ---- --status, --cancel, and the links --------------------------------------

async function statusCommand(client: ApiClient, id: string, base: string): Promise<number> {
  const run = await client.json<RunView>('GET', `/v1/runs/${id}`);
  const plan = run.plan;
  const what = plan.runbook ? `runbook ${plan.runbook}` : `steps ${plan.steps.map((s) => s.capture).join(', ')}`;
  const lines = [
    `run ${run.id}  ${run.status}`,
    `  ${what}, ${formatDuration(plan.durationMs)} on ${describeTarget(plan.target)}${plan.reason ? ` (${plan.reason})` : ''}`,
    `  asked by ${run.requestedBy} at ${run.createdAt}${run.startedAt ? `, started ${run.startedAt}` : ''}${run.finishedAt ? `, ended ${run.finishedAt} (${formatDuration(Date.parse(run.finishedAt) - Date.parse(run.createdAt))})` : ''}`,
    `  nodes (${Object.keys(run.nodes).length}):`,
    ...nodeLines(run),
  ];
  if (Object.values(run.nodes).some((n) => n.captures?.length)) lines.push('', captureTable(run));
  if (FINAL_STATUSES.has(run.status)) {
    lines.push('', `findings: ${base}/v1/runs/${run.id}/findings`, `report:   ${base}/v1/runs/${run.id}/report`);
  } else {
    lines.push('', `cancel: sherlock run --cancel ${run.id}${apiFlag(base)}`);
  }
  process.stdout.write(lines.join('\n') + '\n');
  return 0;
}

async function cancelCommand(client: ApiClient, id: string, base: string): Promise<number> {
  const reply = await client.json<{ status: string }>('DELETE', `/v1/runs/${id}`);
  process.stdout.write(`cancel requested for run ${id} (status now ${reply.status}); its nodes detach and keep what they captured\n`);
  process.stdout.write(`  status: sherlock run --status ${id}${apiFlag(base)}\n`);
  return 0;
}

const apiFlag = (base: string) => (base === DEFAULT_API_URL ? '' : ` --api ${base}`);

function printSubmitted(run: Submitted, base: string): void {
  const url = (path: string) => base + path;
  process.stdout.write(
    [
      `run ${run.id} ${run.status} on ${run.nodes.length} node${run.nodes.length === 1 ? '' : 's'}: ${run.nodes.join(', ')}`,
      `  status: sherlock run --status ${run.id}${apiFlag(base)}   (${url(run.links.self ?? `/v1/runs/${run.id}`)})`,
      `  events: ${url(run.links.events ?? `/v1/runs/${run.id}/events`)}`,
      `  report: ${url(`/v1/runs/${run.id}/report`)}   (once it has ended)`,
      `  cancel: sherlock run --cancel ${run.id}${apiFlag(base)}`,
    ].join('\n') + '\n',
  );
}

function cancelHint(id: string, base: string): string {
  return [
    `the run goes on; to cancel it: sherlock run --cancel ${id}${apiFlag(base)}`,
    `  or: curl -X DELETE -H "Authorization: Bearer $SHERLOCK_TOKEN" ${base}/v1/runs/${id}`,
    `  its status: sherlock run --status ${id}${apiFlag(base)}`,
  ].join('\n');
}

// ---- following a run --------------------------------------------------------

async function followRun(client: ApiClient, submitted: Submitted, base: string, out: (id: string) => string): Promise<number> {
  const { id } = submitted;
  const interrupt = new AbortController();
  let signalName: NodeJS.Signals | undefined;
  const onSignal = (name: NodeJS.Signals) => {
    signalName = name;
    interrupt.abort();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const tty = Boolean(process.stderr.isTTY);
  const view = new RunProgress(submitted.nodes, { tty, write: (s) => process.stderr.write(s), columns: () => process.stderr.columns || 80, rows: () => process.stderr.rows || 24 });
  process.stderr.write(`run ${id} submitted to ${submitted.nodes.length} node${submitted.nodes.length === 1 ? '' : 's'}; Ctrl-C stops following, not the run\n`);
  let run: RunView | undefined;
  try {
    run = await follow(client, id, view, interrupt.signal);
    view.close(run);
    process.stdout.write(outcome(run) + '\n');
    const ok = await printFindings(client, run);
    const downloaded = await downloadBundle(client, run, out(id), base, interrupt.signal);
    return run.status === 'completed' && ok && downloaded ? 0 : 1;
  } catch (err) {
    if (!interrupt.signal.aborted) throw err;
    view.close(run);
    const code = signalName === 'SIGTERM' ? 143 : 130;
    if (run) {
      process.stderr.write(`\nstopped; run ${id} has ended (${run.status}). Its report: curl -fo sherlock-${id}.tar.gz -H "Authorization: Bearer $SHERLOCK_TOKEN" ${base}/v1/runs/${id}/report\n`);
    } else {
      process.stderr.write(`\nstopped following run ${id}; ${cancelHint(id, base)}\n`);
    }
    return code;
  } finally {
    view.close(run);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });

/**
 * Follows the run's SSE stream to its end and returns the final run. A poll
 * beside it shows queue positions and notices a run that ended while the
 * stream was away; a dropped stream is reopened (the server replays it, the
 * client skips what it saw).
 */
async function follow(client: ApiClient, id: string, view: RunProgress, interrupt: AbortSignal): Promise<RunView> {
  const stream = new AbortController();
  const stopStream = () => stream.abort();
  interrupt.addEventListener('abort', stopStream, { once: true });
  let finished = false;
  let polling = true;
  const poll = (async () => {
    while (polling && !interrupt.aborted) {
      await sleep(view.anyQueued() ? 2_000 : 10_000, stream.signal);
      if (!polling || interrupt.aborted) return;
      const run = await client.json<RunView>('GET', `/v1/runs/${id}`).catch(() => undefined);
      if (run) view.update(run);
      if (run && FINAL_STATUSES.has(run.status)) {
        await sleep(2_000, stream.signal); // the stream normally ends by itself now
        finished = true;
        stream.abort();
        return;
      }
    }
  })();
  let last: string | undefined;
  let failures = 0;
  try {
    while (!finished) {
      let error: unknown;
      try {
        await client.events(
          `/v1/runs/${id}/events`,
          (e) => {
            last = e.id || last;
            failures = 0;
            view.event(e);
            if (e.event === 'run-finished') finished = true;
          },
          { signal: stream.signal, after: last },
        );
      } catch (err) {
        error = err;
      }
      if (interrupt.aborted) throw interrupt.reason ?? new Error('interrupted');
      if (finished) break;
      if (error instanceof ApiRequestError && error.status !== undefined && error.status < 500) throw error;
      // The API may be restarting: retry for about a minute before giving up.
      if (++failures > 12) throw error ?? new ApiRequestError(`the event stream of run ${id} keeps ending before the run does`);
      const run = await client.json<RunView>('GET', `/v1/runs/${id}`).catch(() => undefined);
      if (run) view.update(run);
      if (run && FINAL_STATUSES.has(run.status)) break;
      await sleep(Math.min(1000 * failures, 5000), interrupt);
    }
  } finally {
    polling = false;
    stream.abort();
    interrupt.removeEventListener('abort', stopStream);
    await poll;
  }
  if (interrupt.aborted) throw new Error('interrupted');
  // The record, not the stream, has the per-capture summaries; it is final by now.
  return client.json<RunView>('GET', `/v1/runs/${id}`);
}

// ---- progress: bars on a TTY, plain lines otherwise ----------------------------

interface NodeProgress {
  status: NodeStatus;
  position?: number;
  startedAt?: number;
  /** When its captures went live: the capture window starts then. */
  liveAt?: number;
  live: string[];
  durationMs?: number;
  finishedAt?: number;
  reason?: string;
}

export interface ProgressOutput {
  tty: boolean;
  write(text: string): void;
  columns(): number;
  rows(): number;
}

const BAR_WIDTH = 24;
const MAX_TTY_LINES = 20;

export class RunProgress {
  readonly nodes = new Map<string, NodeProgress>();
  private drawn = 0;
  private lastFrame = '';
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly nameWidth: number;
  private readonly fill: [string, string];

  constructor(
    nodes: string[],
    private readonly out: ProgressOutput,
    private readonly now: () => number = Date.now,
  ) {
    for (const node of nodes) this.nodes.set(node, { status: 'queued', live: [] });
    this.nameWidth = Math.min(32, Math.max(4, ...nodes.map((n) => n.length)));
    this.fill = /utf-?8/i.test(process.env.LC_ALL || process.env.LC_CTYPE || process.env.LANG || '') ? ['█', '░'] : ['#', '-'];
    if (out.tty) {
      this.timer = setInterval(() => this.draw(), 200);
      this.timer.unref();
    }
  }

  anyQueued(): boolean {
    return [...this.nodes.values()].some((n) => n.status === 'queued');
  }

  private node(name: string): NodeProgress {
    let state = this.nodes.get(name);
    if (!state) this.nodes.set(name, (state = { status: 'queued', live: [] }));
    return state;
  }

  event(e: SseEvent): void {
    const name = typeof e.data.node === 'string' ? e.data.node : undefined;
    const now = this.now();
    switch (e.event) {
      case 'node-started': {
        if (!name) break;
        const state = this.node(name);
        Object.assign(state, { status: 'running', startedAt: now, position: undefined });
        if (typeof e.data.durationMs === 'number') state.durationMs = e.data.durationMs;
        this.line(`${name}: started, capturing for ${state.durationMs ? formatDuration(state.durationMs) : 'the run duration'}`);
        break;
      }
      case 'capture-live': {
        if (!name) break;
        const state = this.node(name);
        state.live.push(String(e.data.capture));
        state.liveAt = now;
        this.line(`${name}: ${String(e.data.capture)} live`);
        break;
      }
      case 'node-finished': {
        if (!name) break;
        const state = this.node(name);
        state.status = (e.data.status as NodeStatus) ?? 'failed';
        state.finishedAt = now;
        if (typeof e.data.reason === 'string') state.reason = e.data.reason;
        const took = state.startedAt !== undefined ? ` after ${formatDuration(now - state.startedAt)}` : '';
        this.line(`${name}: ${state.status}${took}${state.reason ? ` (${state.reason})` : ''}`);
        break;
      }
      case 'run-finished':
        this.line(`run ${String(e.data.status)}`);
        break;
    }
    this.draw();
  }

  /** From a polled run record: queue positions, and node states the stream has not told yet. */
  update(run: RunView): void {
    for (const [name, state] of Object.entries(run.nodes)) {
      const mine = this.node(name);
      if (state.status === 'queued' && state.position !== undefined && state.position !== mine.position && mine.status === 'queued') {
        mine.position = state.position;
        this.line(`${name}: queued, ${state.position === 1 ? 'next' : `position ${state.position}`} in its node's queue`);
      }
      if (FINAL_NODE_STATUSES.has(state.status) && !FINAL_NODE_STATUSES.has(mine.status)) {
        mine.status = state.status;
        mine.finishedAt = this.now();
        if (state.error) mine.reason = state.error;
      }
    }
    this.draw();
  }

  /** Plain mode prints each change as a line; a TTY shows the bars instead. */
  private line(text: string): void {
    if (!this.out.tty && !this.closed) this.out.write(`${text}\n`);
  }

  private draw(): void {
    if (!this.out.tty || this.closed) return;
    const columns = Math.max(20, this.out.columns());
    const maxLines = Math.max(3, Math.min(MAX_TTY_LINES, this.out.rows() - 4));
    const now = this.now();
    const all = [...this.nodes.entries()];
    let shown = all;
    let rest = '';
    if (all.length > maxLines) {
      // Most useful first: running, then queued, then done; the others are counted.
      const rank = (s: NodeStatus) => (s === 'running' ? 0 : s === 'queued' ? 1 : 2);
      shown = [...all].sort((a, b) => rank(a[1].status) - rank(b[1].status)).slice(0, maxLines - 1);
      const counts = new Map<string, number>();
      for (const [, s] of all.slice(0).filter((e) => !shown.includes(e))) counts.set(s.status, (counts.get(s.status) ?? 0) + 1);
      rest = `… ${all.length - shown.length} more: ${[...counts].map(([s, n]) => `${n} ${s}`).join(', ')}`;
    }
    const lines = shown.map(([name, state]) => progressLine(name, state, now, this.nameWidth, this.fill));
    if (rest) lines.push(rest);
    const frame = lines.map((line) => `\x1b[2K${line.slice(0, columns - 1)}\n`).join('');
    if (frame === this.lastFrame) return;
    this.out.write(`${this.drawn ? `\x1b[${this.drawn}F` : ''}${frame}\x1b[J`);
    this.drawn = lines.length;
    this.lastFrame = frame;
  }

  /** Stops redrawing; a TTY keeps the last bars on screen. Safe to call twice. */
  close(run?: RunView): void {
    if (this.closed) return;
    if (run) this.update(run);
    this.draw();
    this.closed = true;
    clearInterval(this.timer);
  }
}

/** One node's bar: "web-1  [█████░░░░░]  1.2s of 2s, 0.8s left · execsnoop live". */
export function progressLine(name: string, state: NodeProgress, now: number, nameWidth: number, [full, empty]: [string, string] = ['#', '-']): string {
  const bar = (fraction: number) => {
    const filled = Math.round(Math.min(1, Math.max(0, fraction)) * BAR_WIDTH);
    return `[${full.repeat(filled)}${empty.repeat(BAR_WIDTH - filled)}]`;
  };
  let fraction = 0;
  let text: string;
  if (state.status === 'queued') {
    text = state.position === undefined ? 'queued' : `queued, ${state.position === 1 ? 'next' : `position ${state.position}`}`;
  } else if (state.status === 'running') {
    const start = state.liveAt ?? state.startedAt ?? now;
    const elapsed = now - start;
    if (!state.durationMs) {
      text = `running ${formatDuration(elapsed)}`;
    } else if (elapsed < state.durationMs) {
      fraction = elapsed / state.durationMs;
      text = `${clock(elapsed)} of ${formatDuration(state.durationMs)}, ${clock(state.durationMs - elapsed)} left`;
      text += state.live.length ? ` · ${state.live.join(', ')} live` : ' · attaching';
    } else {
      fraction = 1;
      text = 'storing results';
    }
  } else {
    fraction = state.status === 'completed' ? 1 : 0;
    const took = state.startedAt !== undefined && state.finishedAt !== undefined ? ` in ${formatDuration(state.finishedAt - state.startedAt)}` : '';
    text = `${state.status}${took}${state.reason ? `: ${state.reason}` : ''}`;
  }
  return `${name.padEnd(nameWidth)}  ${bar(fraction)}  ${text}`;
}

/** Seconds with one decimal below a minute, so a ticking clock keeps its width. */
const clock = (ms: number) => (ms < 60_000 ? `${(Math.max(0, ms) / 1000).toFixed(1)}s` : formatDuration(ms));

// ---- the outcome ------------------------------------------------------------

function nodeLines(run: RunView): string[] {
  const names = Object.keys(run.nodes);
  const width = Math.min(32, Math.max(4, ...names.map((n) => n.length)));
  return Object.entries(run.nodes).map(([name, state]) => {
    const took = state.startedAt && state.finishedAt ? ` in ${formatDuration(Date.parse(state.finishedAt) - Date.parse(state.startedAt))}` : '';
    const position = state.status === 'queued' && state.position !== undefined ? ` (position ${state.position})` : '';
    const dropped = (state.captures ?? []).reduce((sum, c) => sum + c.dropped, 0);
    const failed = (state.captures ?? []).filter((c) => c.error);
    const notes = [
      ...(dropped ? [`${dropped} events DROPPED`] : []),
      ...(state.error ? [state.error] : failed.map((c) => `${c.capture} failed: ${c.error}`)),
    ];
    return `    ${name.padEnd(width)}  ${state.status}${took}${position}${notes.length ? `  (${notes.join('; ')})` : ''}`;
  });
}

function outcome(run: RunView): string {
  const took = run.finishedAt ? ` in ${formatDuration(Date.parse(run.finishedAt) - Date.parse(run.startedAt ?? run.createdAt))}` : '';
  const counts = new Map<string, number>();
  for (const s of Object.values(run.nodes)) counts.set(s.status, (counts.get(s.status) ?? 0) + 1);
  return [`run ${run.id} ${run.status}${took}: ${[...counts].map(([s, n]) => `${n} ${s}`).join(', ')}`, ...nodeLines(run)].join('\n');
}

type CaptureRow = CaptureSummary & { node: string };

const captureColumns: Column<CaptureRow>[] = [
  { header: 'NODE', value: (r) => r.node },
  { header: 'CAPTURE', value: (r) => r.capture },
  { header: 'COUNT', value: (r) => String(r.count), numeric: true },
  { header: 'DROPPED', value: (r) => String(r.dropped), numeric: true },
  { header: 'BPF-CPU', value: (r) => `${(r.bpfCpuNs / 1e6).toFixed(2)}ms`, numeric: true },
  { header: 'TIME', value: (r) => formatDuration(r.durationMs), numeric: true },
  { header: 'RESULT', value: (r) => (r.error ? `failed: ${r.error}` : `${r.artifact ?? ''}${r.cancelled ? ' (stopped early)' : ''}`) },
];

function captureTable(run: RunView): string {
  const rows = Object.entries(run.nodes).flatMap(([node, s]) => (s.captures ?? []).map((c) => ({ ...c, node })));
  return renderTable(captureColumns, rows);
}

interface FindingView {
  severity?: string;
  title?: string;
  node?: string;
  capture?: string;
}

/** The findings, or (on an API without the findings route) the per-node capture summaries. False if the API refused. */
async function printFindings(client: ApiClient, run: RunView): Promise<boolean> {
  let body: unknown;
  try {
    body = await client.jsonIfRouted<unknown>(`/v1/runs/${run.id}/findings`);
  } catch (err) {
    if (!(err instanceof ApiRequestError)) throw err;
    if (err.code === 'findings_not_found') {
      // A run that ended before analysis existed, or whose findings expired: not an error of this run.
      process.stdout.write(`\nfindings: ${err.message}; what each node captured:\n${captureTable(run)}\n`);
      return true;
    }
    process.stderr.write(`sherlock: findings: ${err.message}\n`);
    process.stdout.write(`\ncaptures:\n${captureTable(run)}\n`);
    return false;
  }
  const findings = Array.isArray(body) ? body : (body as { findings?: unknown } | undefined)?.findings;
  if (!Array.isArray(findings)) {
    process.stdout.write(`\nfindings: not available from this API yet; what each node captured:\n${captureTable(run)}\n`);
    return true;
  }
  if (!findings.length) {
    process.stdout.write('\nfindings: none (nothing crossed a threshold)\n');
    return true;
  }
  const list = findings as FindingView[];
  const width = Math.max(4, ...list.map((f) => (f.node ?? '').length));
  const lines = list.map((f) => `  ${(f.severity ?? 'info').toUpperCase().padEnd(8)}  ${(f.node ?? '').padEnd(width)}  ${oneLine(f.title ?? '')}${f.capture && f.capture !== '*' ? `  [${f.capture}]` : ''}`);
  process.stdout.write(`\nfindings (${list.length}):\n${lines.join('\n')}\n`);
  return true;
}

const oneLine = (text: string) => text.replace(/\s*\n\s*/g, ' ');

/** GET /v1/runs/:id/report into the bundle path; a note, not an error, when the API has no such route yet. */
async function downloadBundle(client: ApiClient, run: RunView, file: string, base: string, signal: AbortSignal): Promise<boolean> {
  try {
    const bytes = await client.download(`/v1/runs/${run.id}/report`, file, signal);
    if (bytes === undefined) {
      const example = Object.entries(run.nodes).flatMap(([node, s]) => (s.captures ?? []).filter((c) => c.artifact).map((c) => `${base}/v1/runs/${run.id}/nodes/${node}/artifacts/${c.artifact}`))[0];
      process.stdout.write(`\nreport: skipped, this API has no report bundle yet (GET /v1/runs/${run.id}/report)${example ? `; raw results are per node, e.g. ${example}` : ''}\n`);
      return true;
    }
    process.stdout.write(`\nreport: ${file} (${formatBytes(bytes)})\n`);
    return true;
  } catch (err) {
    if (signal.aborted || !(err instanceof ApiRequestError)) throw err;
    process.stderr.write(`sherlock: report: ${err.message}\n`);
    return false;
  }
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
