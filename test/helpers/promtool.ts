// promtool (Debian's prometheus package, scripts/install-deps.sh): the linter
// Prometheus itself applies to exposition text and rule files.
import { spawnSync } from 'node:child_process';

/** Why promtool checks cannot run here, or undefined. */
export function promtoolSkipReason(): string | undefined {
  const probe = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
  return probe.status === 0 ? undefined : 'needs promtool (Debian package prometheus: scripts/install-deps.sh)';
}

/** `promtool check metrics` over `text`: its exit status and what it printed. */
export function promtoolCheckMetrics(text: string): { status: number | null; output: string } {
  const result = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8', timeout: 30_000 });
  return { status: result.status, output: `${result.stdout}${result.stderr}`.trim() };
}

/** `promtool check rules FILE`. */
export function promtoolCheckRules(file: string): { status: number | null; output: string } {
  const result = spawnSync('promtool', ['check', 'rules', file], { encoding: 'utf8', timeout: 30_000 });
  return { status: result.status, output: `${result.stdout}${result.stderr}`.trim() };
}
