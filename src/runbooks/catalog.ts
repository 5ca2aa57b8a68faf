// The runbooks a process knows: every valid file of one directory, and the
// load errors of the others. reload() rereads the directory and swaps the set
// in one step, so a request sees the old set or the new one, never a mix.
import { join } from 'node:path';
import { projectRoot } from '../util/paths.js';
import { loadRunbookFile, runbookFiles, type RunbookLoadError } from './loader.js';
import type { Runbook } from './schema.js';

/** SHERLOCK_RUNBOOKS_DIR, else the project's runbooks/. */
export function defaultRunbooksDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.SHERLOCK_RUNBOOKS_DIR || join(projectRoot, 'runbooks');
}

/** What the planner needs of a catalog. */
export interface RunbookSource {
  get(name: string): Runbook | undefined;
  names(): string[];
}

export interface ReloadResult {
  runbooks: string[];
  errors: RunbookLoadError[];
}

export class RunbookCatalog implements RunbookSource {
  private runbooks = new Map<string, Runbook>();
  private loadErrors: RunbookLoadError[] = [];
  private loaded: Date | undefined;

  constructor(readonly dir: string = defaultRunbooksDir()) {}

  /** A catalog of `dir`, loaded. */
  static load(dir?: string): RunbookCatalog {
    const catalog = new RunbookCatalog(dir);
    catalog.reload();
    return catalog;
  }

  reload(): ReloadResult {
    const runbooks = new Map<string, Runbook>();
    const errors: RunbookLoadError[] = [];
    let files: string[] = [];
    try {
      files = runbookFiles(this.dir);
    } catch (err) {
      const message = `cannot read the runbooks directory: ${(err as Error).message}`;
      errors.push({ file: this.dir, field: '', message, issues: [{ field: '', message }] });
    }
    for (const file of files) {
      const loaded = loadRunbookFile(file);
      if ('error' in loaded) {
        errors.push(loaded.error);
        continue;
      }
      const other = runbooks.get(loaded.runbook.name);
      if (other) {
        const message = `runbook "${loaded.runbook.name}" is already defined by ${other.file}`;
        errors.push({ file, field: 'name', message, issues: [{ field: 'name', message }] });
        continue;
      }
      runbooks.set(loaded.runbook.name, loaded.runbook);
    }
    this.runbooks = runbooks;
    this.loadErrors = errors;
    this.loaded = new Date();
    return { runbooks: this.names(), errors };
  }

  get(name: string): Runbook | undefined {
    return this.runbooks.get(name);
  }

  names(): string[] {
    return [...this.runbooks.keys()].sort();
  }

  /** Valid runbooks, by name. */
  list(): Runbook[] {
    return this.names().map((n) => this.runbooks.get(n)!);
  }

  get errors(): readonly RunbookLoadError[] {
    return this.loadErrors;
  }

  get loadedAt(): Date | undefined {
    return this.loaded;
  }
}
