// `sherlock run RUNBOOK` (or `--steps a,b`): submits a run through the API,
// follows it per node from the SSE stream, then prints the findings and
// downloads the report bundle. `--status ID` and `--cancel ID` act on a run.
// Each job is a file of src/cli/run/; this picks which.
import { ApiClient, normalizeApiUrl } from './api-client.js';
import { bundleTarget } from './run/download.js';
import { parseRunFlags, runRequest, runUsage } from './run/flags.js';
import { followRun } from './run/follow.js';
import { cancelCommand, printSubmitted, statusCommand } from './run/status.js';
import { apiToken } from './run/token.js';
import { DEFAULT_API_URL } from './run/view.js';
import { UsageError } from './usage-error.js';

export { runUsage };

export async function runCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseRunFlags(argv);
  if (values.help) {
    process.stdout.write(runUsage + '\n');
    return 0;
  }
  const base = normalizeApiUrl(values.api ?? process.env.SHERLOCK_API_URL ?? DEFAULT_API_URL);
  const only = (flag: 'status' | 'cancel') => {
    const id = values[flag]!;
    const others = Object.keys(values).filter((k) => !['status', 'cancel', 'api', 'token', 'help', 'wait'].includes(k) && k !== flag);
    if (positionals.length || others.length || values.wait || (flag === 'status' ? values.cancel : values.status) !== undefined) {
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
  const out = values.out !== undefined || values.wait ? bundleTarget(values) : undefined;
  const client = new ApiClient(base, apiToken(values, base));
  const run = await client.call('startRun', { body: request });
  if (!values.wait) {
    printSubmitted(run, base);
    return 0;
  }
  return followRun(client, run, base, out!);
}
