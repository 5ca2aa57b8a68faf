// Progress while following a run: a bar per node on a TTY (redrawn in
// place), a line per change otherwise.
import { FINAL_NODE_STATUSES, type NodeStatus } from '../../model/run.js';
import { formatDuration } from '../../util/duration.js';
import type { SseEvent } from '../api-client.js';
import type { RunView } from './view.js';

export interface NodeProgress {
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
/** With result lines scrolling by, more nodes than this show as one summary line, not a bar each. */
const MAX_BARS_BESIDE_RESULTS = 3;

export interface RunProgressOptions {
  /** The window has no fixed end: it runs until Ctrl-C stops it (durationMs is then its limit). */
  untilStopped?: boolean;
}

export class RunProgress {
  readonly nodes = new Map<string, NodeProgress>();
  private drawn = 0;
  private lastFrame = '';
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly nameWidth: number;
  private readonly fill: [string, string];
  /** One summary line instead of a bar per node (results are scrolling past). */
  private compact = false;
  private stopping = false;

  constructor(
    nodes: string[],
    private readonly out: ProgressOutput,
    private readonly now: () => number = Date.now,
    private readonly options: RunProgressOptions = {},
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
        const limit = state.durationMs ? formatDuration(state.durationMs) : undefined;
        this.line(
          this.options.untilStopped
            ? `${name}: started, capturing until Ctrl-C${limit ? ` (at most ${limit})` : ''}`
            : `${name}: started, capturing for ${limit ?? 'the run duration'}`,
        );
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
      case 'falco-alert':
        if (name) this.line(`${name}: Falco ${String(e.data.priority)}: ${String(e.data.output)}`);
        break;
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

  /** The run was asked to stop (Ctrl-C): the bars say so until the nodes report back. */
  stopRequested(): void {
    this.stopping = true;
    this.line('stopping: every node ends its window and stores what it captured');
    this.draw();
  }

  /** Runs `write` (result lines on the same terminal) with the bars lifted off the screen, then redraws them below. */
  around(write: () => void): void {
    if (!this.out.tty || this.closed) return write();
    if (this.nodes.size > MAX_BARS_BESIDE_RESULTS) this.compact = true;
    if (this.drawn) this.out.write(`\x1b[${this.drawn}F\x1b[J`);
    this.drawn = 0;
    this.lastFrame = '';
    write();
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
    const open = this.options.untilStopped ?? false;
    const lines = this.compact ? [this.summary(now)] : shown.map(([name, state]) => progressLine(name, state, now, this.nameWidth, this.fill, open));
    if (rest && !this.compact) lines.push(rest);
    if (this.stopping && !this.compact) lines.push('stopping: every node ends its window and stores what it captured (Ctrl-C again leaves at once)');
    const frame = lines.map((line) => `\x1b[2K${line.slice(0, columns - 1)}\n`).join('');
    if (frame === this.lastFrame) return;
    this.out.write(`${this.drawn ? `\x1b[${this.drawn}F` : ''}${frame}\x1b[J`);
    this.drawn = lines.length;
    this.lastFrame = frame;
  }

  /** "3 nodes: 2 running, 1 completed · 12.3s of 30s": one line for many nodes. */
  private summary(now: number): string {
    const counts = new Map<string, number>();
    for (const s of this.nodes.values()) counts.set(s.status, (counts.get(s.status) ?? 0) + 1);
    const running = [...this.nodes.values()].filter((s) => s.status === 'running');
    const start = Math.min(...running.map((s) => s.liveAt ?? s.startedAt ?? now));
    const limit = running.find((s) => s.durationMs)?.durationMs;
    const elapsed = running.length ? now - start : undefined;
    const window =
      elapsed === undefined
        ? ''
        : this.options.untilStopped || !limit
          ? ` · ${clock(elapsed)}${this.options.untilStopped ? ` (until Ctrl-C${limit ? `, at most ${formatDuration(limit)}` : ''})` : ''}`
          : ` · ${clock(Math.min(elapsed, limit))} of ${formatDuration(limit)}`;
    const nodes = `${this.nodes.size} node${this.nodes.size === 1 ? '' : 's'}: ${[...counts].map(([s, n]) => `${n} ${s}`).join(', ')}`;
    return `${nodes}${window}${this.stopping ? ' · stopping (Ctrl-C again leaves at once)' : ''}`;
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
export function progressLine(
  name: string,
  state: NodeProgress,
  now: number,
  nameWidth: number,
  [full, empty]: [string, string] = ['#', '-'],
  untilStopped = false,
): string {
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
    if (!state.durationMs || (untilStopped && elapsed < state.durationMs)) {
      // An open window has no end to fill a bar towards.
      text = untilStopped
        ? `${clock(elapsed)}, until Ctrl-C${state.durationMs ? ` (at most ${formatDuration(state.durationMs)})` : ''}`
        : `running ${formatDuration(elapsed)}`;
      text += state.live.length ? ` · ${state.live.join(', ')} live` : ' · attaching';
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
