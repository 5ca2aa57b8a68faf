// The `sherlock` command: dispatches subcommands and turns errors into one
// clear message and an exit code (2 usage, 77 missing privilege, 78 bad config, 1 otherwise).
// Each subcommand is imported when it runs, so `--help` loads no BPF, Redis or HTTP code.
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
  worker --node NAME [--label k=v] [--falco-rules PATHS] [--warm all|none|NAMES]
                           a worker for this host (root; REDIS_URL); PATHS (or SHERLOCK_FALCO_RULES):
                           operator Falco rule files and directories, colon-separated (also for up);
                           --warm (or SHERLOCK_WARM): captures kept loaded between runs (default all)
  doctor                   check that this host can run captures, with a live one
  inspect FILE.bpf.o       what a BPF object contains (programs, maps, settings); no privileges needed
`;

const COMMANDS = new Set(['run', 'runbooks', 'capture', 'rules', 'up', 'api', 'worker', 'doctor', 'inspect']);

export async function runCli(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  // "sherlock worker" in ps, top and the process's comm (findings name it so), and its command line no longer
  // shows the arguments: a --token or a --redis URL with a password is not left readable by every user.
  if (command && COMMANDS.has(command)) process.title = `sherlock ${command}`;
  try {
    switch (command) {
      case 'run':
        return await (await import('./run-command.js')).runCommand(rest);
      case 'runbooks':
        return await (await import('./runbooks-command.js')).runbooksCommand(rest);
      case 'capture':
        return await (await import('./capture-command.js')).captureCommand(rest);
      case 'rules':
        return await (await import('./rules-command.js')).rulesCommand(rest);
      case 'inspect':
        return await inspectCommand(rest);
      case 'doctor':
        return await (await import('./doctor-command.js')).doctorCommand();
      case 'up':
        return await (await import('./server-commands.js')).upCommand(rest);
      case 'api':
        return await (await import('./server-commands.js')).apiCommand(rest);
      case 'worker':
        // Until its first run: start-up code runs too few times to be worth optimizing, idle code too (issue 17).
        (await import('../util/optimizing-compiler.js')).holdOptimizingCompiler();
        return await (await import('./server-commands.js')).workerCommand(rest);
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(usage);
        return command ? 0 : EXIT_USAGE;
      default:
        throw new UsageError(`unknown command "${command}"; commands: ${[...COMMANDS].join(', ')}`);
    }
  } catch (err) {
    return await reportError(err);
  }
}

async function inspectCommand(args: string[]): Promise<number> {
  if (args.length !== 1) throw new UsageError('inspect takes one BPF object file: sherlock inspect build/bpf/execsnoop/execsnoop.bpf.o');
  const { BpfObject } = await import('../libbpf/index.js');
  const object = BpfObject.open(args[0]!);
  try {
    process.stdout.write(JSON.stringify(object.spec, null, 2) + '\n');
  } finally {
    object.close();
  }
  return 0;
}

async function reportError(err: unknown): Promise<number> {
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`sherlock: ${message}\n`);
  if (err instanceof UsageError) return EXIT_USAGE;
  // Only on errors: the classes that tell the exit code (these modules load libbpf).
  const [{ CaptureParamsError }, { TargetError }, { ConfigError }, { NotSupportedError, ObjectFileError, PermissionError }] = await Promise.all([
    import('../captures/run-capture.js'),
    import('../captures/target.js'),
    import('../config/server-config.js'),
    import('../libbpf/index.js'),
  ]);
  if (err instanceof UsageError || err instanceof CaptureParamsError || err instanceof TargetError) return EXIT_USAGE;
  if (err instanceof PermissionError) return EXIT_NOPERM;
  if (err instanceof ConfigError) return EXIT_CONFIG;
  if (!(err instanceof NotSupportedError || err instanceof ObjectFileError) && process.env.SHERLOCK_DEBUG) {
    process.stderr.write(`${(err as Error).stack}\n`);
  }
  return 1;
}
