// The `sherlock` command: dispatches subcommands and turns errors into one
// clear message and an exit code (2 usage, 77 missing privilege, 78 bad config, 1 otherwise).
import { CaptureParamsError } from '../captures/run-capture.js';
import { TargetError } from '../captures/target.js';
import { ConfigError } from '../config/server-config.js';
import { BpfObject, NotSupportedError, ObjectFileError, PermissionError } from '../libbpf/index.js';
import { captureCommand } from './capture-command.js';
import { doctorCommand } from './doctor-command.js';
import { rulesCommand } from './rules-command.js';
import { runbooksCommand } from './runbooks-command.js';
import { runCommand } from './run-command.js';
import { apiCommand, upCommand, workerCommand } from './server-commands.js';
import { UsageError } from './usage-error.js';

const EXIT_USAGE = 2;
const EXIT_NOPERM = 77; // sysexits EX_NOPERM
const EXIT_CONFIG = 78; // sysexits EX_CONFIG

const usage = `usage: sherlock <command>

commands:
  run RUNBOOK [--wait] [options]
                           run a runbook (or --steps a,b) on the live nodes through the API (sherlock run --help)
  runbooks [NAME]          the runbooks: name, title, description; or one's params and steps (reads runbooks/, no API)
  capture NAME [options]   run one capture on this host (sherlock capture --help)
  rules check FILE...      load Falco rule files: each rule loaded, or disabled with why; exit 1 on errors
  up [--port 7070] [--state-dir DIR] [--config FILE]
                           all in one: embedded Redis, the API and a worker for this host
  api [--port N] [--redis URL] [--config FILE]
                           the REST API alone (no root needed; REDIS_URL); FILE (or SHERLOCK_CONFIG)
                           holds the trigger settings: Slack, Alertmanager, PagerDuty, hook rules
  worker --node NAME [--label k=v] [--falco-rules PATHS]
                           a worker for this host (root; REDIS_URL); PATHS (or SHERLOCK_FALCO_RULES):
                           operator Falco rule files and directories, colon-separated (also for up)
  doctor                   check that this host can run captures, with a live one
  inspect FILE.bpf.o       what a BPF object contains (programs, maps, settings); no privileges needed
`;

export async function runCli(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'run':
        return await runCommand(rest);
      case 'runbooks':
        return await runbooksCommand(rest);
      case 'capture':
        return await captureCommand(rest);
      case 'rules':
        return await rulesCommand(rest);
      case 'inspect':
        return inspectCommand(rest);
      case 'doctor':
        return await doctorCommand();
      case 'up':
        return await upCommand(rest);
      case 'api':
        return await apiCommand(rest);
      case 'worker':
        return await workerCommand(rest);
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(usage);
        return command ? 0 : EXIT_USAGE;
      default:
        throw new UsageError(`unknown command "${command}"; commands: up, api, worker, capture, doctor, inspect, runbooks, rules`);
    }
  } catch (err) {
    return reportError(err);
  }
}

function inspectCommand(args: string[]): number {
  if (args.length !== 1) throw new UsageError('inspect takes one BPF object file: sherlock inspect build/bpf/execsnoop/execsnoop.bpf.o');
  const object = BpfObject.open(args[0]!);
  try {
    process.stdout.write(JSON.stringify(object.spec, null, 2) + '\n');
  } finally {
    object.close();
  }
  return 0;
}

function reportError(err: unknown): number {
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`sherlock: ${message}\n`);
  if (err instanceof UsageError || err instanceof CaptureParamsError || err instanceof TargetError) return EXIT_USAGE;
  if (err instanceof PermissionError) return EXIT_NOPERM;
  if (err instanceof ConfigError) return EXIT_CONFIG;
  if (!(err instanceof NotSupportedError || err instanceof ObjectFileError) && process.env.SHERLOCK_DEBUG) {
    process.stderr.write(`${(err as Error).stack}\n`);
  }
  return 1;
}
