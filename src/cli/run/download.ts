// The report bundle: where it goes (checked before the run starts) and
// fetching it once the run has ended.
import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ApiRequestError, type ApiClient } from '../api-client.js';
import type { RunFlags } from './flags.js';
import type { RunView } from './view.js';
import { makeDirectory } from '../../util/make-dir.js';

/** The bundle's path: --out FILE (.tar.gz/.tgz) as is, else sherlock-<id>.tar.gz in --out DIR or here. Made now, so a bad path fails before the run. */
export function bundleTarget(values: Pick<RunFlags, 'out'>): (id: string) => string {
  const out = resolve(values.out ?? '.');
  const isFile = /\.(tar\.gz|tgz)$/.test(out) && !(existsSync(out) && statSync(out).isDirectory());
  const dir = isFile ? dirname(out) : out;
  try {
    makeDirectory(dir);
  } catch (err) {
    throw new Error(`--out: ${(err as Error).message}`);
  }
  return (id) => (isFile ? out : join(dir, `sherlock-${id}.tar.gz`));
}

/**
 * GET /v1/runs/:id/report into the bundle path; a note, not an error, when the
 * API has no such route yet. `say` writes the line that tells where it went.
 * Returns the file, undefined for no bundle from this API, false on a failure.
 */
export async function downloadBundle(
  client: ApiClient,
  run: RunView,
  file: string,
  base: string,
  signal: AbortSignal,
  say: (text: string) => void = (text) => void process.stdout.write(text),
): Promise<string | undefined | false> {
  try {
    const bytes = await client.download(`/v1/runs/${run.id}/report`, file, signal);
    if (bytes === undefined) {
      const example = Object.entries(run.nodes).flatMap(([node, s]) =>
        (s.captures ?? []).filter((c) => c.artifact).map((c) => `${base}/v1/runs/${run.id}/nodes/${node}/artifacts/${c.artifact}`),
      )[0];
      say(
        `\nreport: skipped, this API has no report bundle yet (GET /v1/runs/${run.id}/report)${example ? `; raw results are per node, e.g. ${example}` : ''}\n`,
      );
      return undefined;
    }
    say(`\nreport: ${file} (${formatBytes(bytes)})\n`);
    return file;
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
