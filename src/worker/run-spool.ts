// A run's spool directory on the worker's disk: where its event captures
// write their events as they arrive (src/captures/event-spool.ts). Made per
// node job and removed when the job ends, stored or failed; a worker that
// died mid-run leaves one behind, removed when a worker starts again.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SPOOL_DIR_PREFIX as PREFIX } from '../captures/event-spool.js';
import { listDir } from '../util/read-text.js';

export interface RunSpool {
  dir: string;
  /** Off the event loop: unlinking can take a while on a busy disk. */
  remove(): Promise<void>;
}

/** A fresh directory for one run's spool files, under `root` (the OS temp dir by default). */
export function createRunSpool(runId: string, root = tmpdir()): RunSpool {
  const dir = mkdtempSync(join(root, `${PREFIX}${process.pid}-${runId.replace(/[^\w-]/g, '_').slice(0, 64)}-`));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** Spool directories of workers no longer running (their pid is gone), removed; returns how many. */
export function removeStaleSpools(root = tmpdir()): number {
  let removed = 0;
  for (const name of listDir(root)) {
    const pid = Number(new RegExp(`^${PREFIX}(\\d+)-`).exec(name)?.[1]);
    if (!pid || pid === process.pid || existsSync(`/proc/${pid}`)) continue;
    rmSync(join(root, name), { recursive: true, force: true });
    removed++;
  }
  return removed;
}
