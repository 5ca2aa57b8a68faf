// Where `sherlock run` writes while it follows a run: results to stdout (human
// lines, or NDJSON with --json), progress to stderr. On one terminal the two
// share the screen, so a result line first lifts the progress bars off it.
import type { RunProgress } from './progress.js';

export class Printer {
  private progress: RunProgress | undefined;

  constructor(
    readonly json: boolean,
    private readonly write: (text: string) => void = (text) => void process.stdout.write(text),
    /** stdout and stderr are the same terminal (progress bars would tear through result lines). */
    private readonly sharedTerminal = Boolean(process.stdout.isTTY && process.stderr.isTTY),
  ) {}

  attach(progress: RunProgress): void {
    this.progress = progress;
  }

  /** Human result lines (not in --json mode). */
  lines(lines: string[]): void {
    if (this.json || !lines.length) return;
    this.out(lines.map((l) => `${l}\n`).join(''));
  }

  /** One NDJSON record (only in --json mode). */
  record(value: Record<string, unknown>): void {
    if (this.json) this.out(`${JSON.stringify(value)}\n`);
  }

  private out(text: string): void {
    if (this.sharedTerminal && this.progress) this.progress.around(() => this.write(text));
    else this.write(text);
  }
}
