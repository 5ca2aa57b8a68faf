// `sherlock run RUNBOOK` (or `--steps a,b`): submits a run through the API,
// follows it (live events, progress), then prints the findings and downloads
// the report bundle; `--detach` only submits. `--status ID` and `--cancel ID`
// act on a run. Each job is a file of src/cli/run/; this picks which. Every
// failure that is not a usage error exits 3 (exit-codes.ts).
import { ApiClient, ApiRequestError, normalizeApiUrl } from './api-client.js';
import { bundleTarget } from './run/download.js';
import { EXIT_FAILURE } from './run/exit-codes.js';
import { parseRunFlags, runRequest, runUsage } from './run/flags.js';
import { followRun } from './run/follow.js';
import { cancelCommand, printSubmitted, statusCommand } from './run/status.js';
import { apiToken } from './run/token.js';
import { DEFAULT_API_URL } from './run/view.js';
import { UsageError } from './usage-error.js';

export { runUsage };

export async function runCommand(argv: string[]): Promise<number> {
  try {
    return await run(argv);
  } catch (err) {
    if (err instanceof UsageError) throw err; // exit 2, from main
    process.stderr.write(`sherlock: ${(err as Error).message}\n`);
    if (!(err instanceof ApiRequestError) && process.env.SHERLOCK_DEBUG) process.stderr.write(`${(err as Error).stack}\n`);
    return EXIT_FAILURE;
  }
}

async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseRunFlags(argv);
  if (values.help) {
    process.stdout.write(runUsage + '\n');
    return 0;
  }
  const base = normalizeApiUrl(values.api ?? process.env.SHERLOCK_API_URL ?? DEFAULT_API_URL);
  const only = (flag: 'status' | 'cancel') => {
    const id = values[flag]!;
    const others = Object.keys(values).filter((k) => !['status', 'cancel', 'api', 'token', 'help', 'wait', 'detach', 'json'].includes(k) && k !== flag);
    if (
      positionals.length ||
      others.length ||
      values.wait ||
      values.detach ||
      values.json ||
      (flag === 'status' ? values.cancel : values.status) !== undefined
    ) {
      throw new UsageError(
        `--${flag} ID takes only --api and --token${others.length ? `, not --${others[0]}` : positionals.length ? `, not "${positionals[0]}"` : ''}`,
      );
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
  const out = values.detach ? undefined : bundleTarget(values);
  const client = new ApiClient(base, apiToken(values, base));
  const submitted = await client.call('startRun', { body: request });
  if (values.detach) {
    if (values.json) process.stdout.write(JSON.stringify({ type: 'run', ...submitted }) + '\n');
    else printSubmitted(submitted, base);
    return 0;
  }
  return followRun(client, submitted, base, out!, { json: values.json, untilStopped: request.untilStopped === true });
}
