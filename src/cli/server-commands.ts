// `sherlock up` (Redis + API + a worker for this host, in one process),
// `sherlock api` and `sherlock worker`. Ctrl-C or SIGTERM stops what started.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError, loadServerConfig, type ServerConfig } from '../config/server-config.js';
import { missingTracingCapabilities, PermissionError } from '../libbpf/index.js';
import { aclFileLines, printableRedisUrl, urlWithUser } from '../redis/acl.js';
import { Redis } from 'ioredis';
import { connectRedis } from '../redis/connection.js';
import { migrateLegacyKeys } from '../redis/legacy-keys.js';
import { loadOrCreateRedisCredentials } from '../redis/credentials.js';
import { startEmbeddedRedis, type EmbeddedRedis } from '../redis/embedded.js';
import type { ApiServer } from '../server/api-server.js';
import { enterOwnCgroup } from '../worker/own-cgroup.js';
import { UsageError } from './usage-error.js';
import { makeDirectory } from '../util/make-dir.js';

const options = {
  port: { type: 'string' },
  host: { type: 'string' },
  'state-dir': { type: 'string' },
  redis: { type: 'string' },
  'retention-days': { type: 'string' },
  node: { type: 'string' },
  label: { type: 'string', multiple: true },
  config: { type: 'string' },
  'falco-rules': { type: 'string' },
  warm: { type: 'string' },
} as const;

function config(command: string, argv: string[], allowed: (keyof typeof options)[]): ServerConfig {
  let values: Record<string, unknown>;
  try {
    values = parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values;
  } catch (err) {
    throw new UsageError(`${(err as Error).message.split('\n')[0]} for ${command}; allowed: ${allowed.map((o) => `--${o}`).join(', ')}`);
  }
  const extra = Object.keys(values).filter((k) => !allowed.includes(k as keyof typeof options));
  if (extra.length) throw new UsageError(`${command} does not take --${extra[0]}; allowed: ${allowed.map((o) => `--${o}`).join(', ')}`);
  try {
    return loadServerConfig(values);
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(err.message.replace(/\n/g, '; '));
    throw err;
  }
}

/** The operator's Falco rules, checked before anything starts: a file that is missing or does not load starts nothing. */
async function checkFalcoRules(paths: string[]): Promise<string | undefined> {
  if (!paths.length) return undefined;
  // Imported only here: a worker without operator rules never loads the Falco parser.
  const { checkOperatorRules } = await import('../falco/check-rules.js');
  const check = checkOperatorRules(paths);
  if (check.problems.length) {
    throw new ConfigError(
      `Falco rules (--falco-rules, SHERLOCK_FALCO_RULES or the config file's falco.rules) do not load:\n${check.problems.slice(0, 10).join('\n')}${check.problems.length > 10 ? `\n... and ${check.problems.length - 10} more (sherlock rules check FILE shows all)` : ''}`,
    );
  }
  return `falco rules: ${check.summary}`;
}

/** A worker's settings from its flags and config file, checked before anything starts; `falcoLine` says which rules it has. */
async function workerSettings(cfg: ServerConfig) {
  // The config file's sections (and their zod schemas) are imported only when there is a file: an idle worker's memory.
  const file = cfg.configFile;
  const falcoRules = file ? (await import('../config/falco-rules.js')).operatorFalcoRules(cfg.falcoRules, file) : cfg.falcoRules;
  const falcoLine = await checkFalcoRules(falcoRules);
  const options = {
    node: cfg.node,
    labels: cfg.labels,
    retentionSeconds: cfg.retentionSeconds,
    falcoRules,
    redaction: file ? (await import('../config/redaction.js')).loadRedactionPatterns(file) : [],
    warm: await warmChoice(cfg.warm),
    ...(file ? { eventSpoolMiB: (await import('../config/load-limits.js')).loadLimitsFrom(file).workerEventSpoolMiB } : {}),
  };
  return { falcoLine, options };
}

/** The captures the worker keeps loaded (--warm); a bad name starts nothing. */
async function warmChoice(choice: string): Promise<string[]> {
  const { warmCaptureNames } = await import('../worker/warm-captures.js');
  try {
    return await warmCaptureNames(choice);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

function requireTracing(what: string): void {
  const missing = missingTracingCapabilities();
  if (missing.length) throw new PermissionError(`${missing.join(' and ')} (or root)`, what);
}

/**
 * Resolves when SIGINT or SIGTERM arrives; the caller then stops what it started.
 * A second one quits at once (a start or stop that hangs, on Redis for instance).
 */
const untilSignal = () =>
  new Promise<NodeJS.Signals>((resolve) => {
    const first = (signal: NodeJS.Signals) => {
      process.off('SIGINT', first).off('SIGTERM', first);
      process.once('SIGINT', () => process.exit(130)).once('SIGTERM', () => process.exit(143));
      resolve(signal);
    };
    process.on('SIGINT', first).on('SIGTERM', first);
  });

/** The admin token: preset by env, else the stored one, else a new one (stored, shown once). */
function adminToken(cfg: ServerConfig): { secret: string; isNew: boolean; file: string } {
  const file = join(cfg.stateDir, 'admin-token');
  if (cfg.adminToken) return { secret: cfg.adminToken, isNew: false, file };
  if (existsSync(file)) return { secret: readFileSync(file, 'utf8').trim(), isNew: false, file };
  const secret = `shk_${randomBytes(24).toString('base64url')}`;
  writeFileSync(file, secret + '\n', { mode: 0o600 });
  return { secret, isNew: true, file };
}

export async function upCommand(argv: string[]): Promise<number> {
  const cfg = config('sherlock up', argv, ['port', 'host', 'state-dir', 'retention-days', 'node', 'label', 'config', 'falco-rules', 'warm']);
  // Loaded per command, so `sherlock worker` never loads the HTTP server or chat code (issue 17).
  const [{ RunbookCatalog, defaultRunbooksDir }, { loadTriggerSettings }, { startApiServer }, { startNodeWorker }] = await Promise.all([
    import('../runbooks/catalog.js'),
    import('../triggers/settings.js'),
    import('../server/api-server.js'),
    import('../worker/node-worker.js'),
  ]);
  // Checked before Redis, the API or the worker start: a bad config file starts nothing.
  const runbooks = RunbookCatalog.load(defaultRunbooksDir());
  const triggers = loadTriggerSettings({ configFile: cfg.configFile }, runbooks);
  const { falcoLine, options: workerOptions } = await workerSettings(cfg);
  requireTracing('sherlock up (its worker runs captures)');
  try {
    makeDirectory(cfg.stateDir, 0o700);
  } catch (err) {
    throw new UsageError(`--state-dir: ${(err as Error).message}`);
  }
  // Before Redis starts, so it and everything else Sherlock starts inherit the cgroup.
  const own = enterOwnCgroup((why) => process.stderr.write(`${why}\n`));
  // Listening from now: a Ctrl-C while Redis, the API or the worker start stops them all once started.
  const signal = untilSignal();
  let redis: EmbeddedRedis | undefined;
  let api: ApiServer | undefined;
  let worker: Awaited<ReturnType<typeof startNodeWorker>> | undefined;
  try {
    // Embedded: authenticated, an ACL user each for the API and the worker (src/redis/acl.ts).
    let apiRedisUrl = cfg.redisUrl;
    let workerRedisUrl = cfg.redisUrl;
    if (!cfg.redisUrl) {
      const { credentials } = loadOrCreateRedisCredentials(cfg.stateDir);
      redis = await startEmbeddedRedis({
        dataDir: join(cfg.stateDir, 'redis'),
        acl: (sha256) => aclFileLines(credentials, sha256),
        appendfsync: (await import('../config/load-limits.js')).loadLimitsFrom(cfg.configFile).appendfsync,
      });
      // Keys from before the {sherlock} hash tag are outside the API user's patterns: move them as admin.
      const admin = connectRedis(urlWithUser(redis.url, 'admin', credentials), 'sherlock-up-migrate');
      try {
        if (admin instanceof Redis) await migrateLegacyKeys(admin);
      } finally {
        admin.disconnect();
      }
      apiRedisUrl = urlWithUser(redis.url, 'api', credentials);
      workerRedisUrl = urlWithUser(redis.url, 'worker', credentials);
    }
    const redisUrl = apiRedisUrl!;
    api = await startApiServer({
      redisUrl,
      port: cfg.port,
      host: cfg.host,
      retentionSeconds: cfg.retentionSeconds,
      runbooks,
      triggers,
      configFile: cfg.configFile,
      stateDir: cfg.stateDir,
    });
    const token = adminToken(cfg);
    await api.tokens.ensure(token.secret, 'admin', ['admin']);
    worker = await startNodeWorker({ redisUrl: workerRedisUrl!, ...workerOptions, ...(own ? { own } : {}) });
    process.stdout.write(
      [
        `sherlock is up: ${api.url}`,
        `redis: ${redis ? `embedded, data in ${join(cfg.stateDir, 'redis')}, credentials in ${join(cfg.stateDir, 'redis-credentials.json')}` : printableRedisUrl(redisUrl)}`,
        `worker: node ${cfg.node}${own ? ` (its own processes, cgroup ${own.path}, are left out of host-wide captures)` : ''}`,
        ...(falcoLine ? [falcoLine] : []),
        token.isNew
          ? `admin token: ${token.secret}  (stored in ${token.file}; shown only now)`
          : `admin token: in ${cfg.adminToken ? 'SHERLOCK_ADMIN_TOKEN' : token.file}`,
        'Ctrl-C stops it.',
      ].join('\n') + '\n',
    );
    process.stdout.write(`${await signal}: stopping\n`);
    return 0;
  } finally {
    await worker?.stop();
    await api?.stop();
    await redis?.stop();
    own?.leave();
  }
}

export async function apiCommand(argv: string[]): Promise<number> {
  const cfg = config('sherlock api', argv, ['port', 'host', 'redis', 'retention-days', 'config', 'state-dir']);
  if (!cfg.redisUrl) throw new UsageError('sherlock api needs REDIS_URL (or --redis redis://host:port)');
  const signal = untilSignal();
  const { startApiServer } = await import('../server/api-server.js');
  const api = await startApiServer({
    redisUrl: cfg.redisUrl,
    port: cfg.port,
    host: cfg.host,
    retentionSeconds: cfg.retentionSeconds,
    configFile: cfg.configFile,
    stateDir: cfg.stateDir,
  });
  if (cfg.adminToken) await api.tokens.ensure(cfg.adminToken, 'admin', ['admin']);
  process.stdout.write(`sherlock api listening on ${api.url}\n`);
  try {
    await signal;
    return 0;
  } finally {
    await api.stop();
  }
}

export async function workerCommand(argv: string[]): Promise<number> {
  const cfg = config('sherlock worker', argv, ['node', 'label', 'redis', 'retention-days', 'falco-rules', 'config', 'warm']);
  if (!cfg.redisUrl) throw new UsageError('sherlock worker needs REDIS_URL (or --redis redis://host:port)');
  const { falcoLine, options: workerOptions } = await workerSettings(cfg);
  requireTracing('sherlock worker');
  const own = enterOwnCgroup((why) => process.stderr.write(`${why}\n`));
  // Listening from now: a SIGTERM while the worker starts (its warm pool loads) stops it cleanly once started.
  const signal = untilSignal();
  try {
    const { startNodeWorker } = await import('../worker/node-worker.js');
    const worker = await startNodeWorker({ redisUrl: cfg.redisUrl, ...workerOptions, ...(own ? { own } : {}) });
    process.stdout.write(`sherlock worker for node ${cfg.node} is waiting for runs\n${falcoLine ? `${falcoLine}\n` : ''}`);
    try {
      await signal;
      return 0;
    } finally {
      await worker.stop();
    }
  } finally {
    own?.leave();
  }
}
