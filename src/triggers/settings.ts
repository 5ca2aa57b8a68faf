// The trigger settings (ChatOps, incident hooks) from the Sherlock config file
// (--config, SHERLOCK_CONFIG) and the environment, the env var winning field by
// field. Read and checked once at API start: any problem refuses the start.
import { falcoConfigSchema } from '../config/falco-rules.js';
import { z } from 'zod';
import { bodyLimitsFrom, limitsSchema, type BodyLimits } from '../config/body-limits.js';
import { redactionConfigSchema } from '../redact/operator-patterns.js';
import type { RunbookSource } from '../runbooks/catalog.js';
import {
  aliasesSchema,
  allowSchema,
  chatopsFileSchema,
  linkKeySchema,
  linkTtlSchema,
  publicUrlSchema,
  secretSchema,
  switchSchema,
  type ChatopsConfig,
} from './chatops/config.js';
import { DEFAULT_REPORT_LINK_TTL_MS, type ReportLinkSettings } from '../core/report-links.js';
import { DEFAULT_ALIASES } from './chatops/parse.js';
import { DEFAULT_NODE_LABELS, hooksConfigSchema, loadHooksConfig, type HooksConfig } from './hooks/config.js';
import { DEFAULT_DEDUP_TTL_SECONDS, type HooksSettings } from './hooks/settings.js';
import { createLogger } from '../util/logger.js';
import { nullProtoRecord } from '../util/own.js';
import { readableByOthers, readYamlFile } from '../config/config-file.js';
import { ConfigError } from '../config/server-config.js';
import { checkAliases, checkAllow, checkHookRules, type Origin } from './checks.js';
import { issueLines, strictObject } from '../config/zod-text.js';
import { loadLimitsSchema } from '../config/load-limits.js';
import { auditRetentionSchema } from '../config/audit-retention.js';

const log = createLogger({ component: 'config' });

const sections = {
  slack: chatopsFileSchema,
  alertmanager: strictObject({ token: secretSchema.optional() }),
  pagerduty: strictObject({ webhookSecret: secretSchema.optional() }),
  generic: strictObject({ secret: secretSchema.optional() }),
  hooks: hooksConfigSchema,
};

/** A section whose settings are all commented out (`alertmanager:` and nothing under it) is YAML null: absent. */
const section = <T extends z.ZodType>(schema: T) => z.preprocess((value) => value ?? undefined, schema.optional());

export const configFileSchema = strictObject({
  triggers: z.preprocess(
    (value) => value ?? undefined,
    strictObject({
      slack: section(sections.slack),
      alertmanager: section(sections.alertmanager),
      pagerduty: section(sections.pagerduty),
      generic: section(sections.generic),
      hooks: section(sections.hooks),
    }).default({}),
  ),
  /** Load limits (src/config/load-limits.ts); read by the API, checked here with the rest of the file. */
  load: section(loadLimitsSchema),
  /** Audit retention (src/config/audit-retention.ts); read by the API. */
  audit: section(auditRetentionSchema),
  /** Read by the worker (src/config/redaction.ts); checked here so a bad pattern refuses the API's start too. */
  redaction: section(redactionConfigSchema),
  /** Read by the worker (src/config/falco-rules.ts); checked here with the rest of the file. */
  falco: section(falcoConfigSchema),
  /** What signed routes (chat commands, webhooks) read before they can check a signature. */
  limits: section(limitsSchema),
});

type FileTriggers = z.output<typeof configFileSchema>['triggers'];

export interface TriggerSettings {
  chatops: ChatopsConfig;
  /** Signed report links in chat replies; absent: off (no key, or turned off). */
  reportLinks?: ReportLinkSettings;
  hooks: HooksSettings;
  bodyLimits: BodyLimits;
}

export interface TriggerSources {
  /** The Sherlock config file; absent: the environment alone. */
  configFile?: string;
  env?: NodeJS.ProcessEnv;
}

/** Each env var and the config file field it overrides. */
export const TRIGGER_ENV = {
  SHERLOCK_SLACK_SIGNING_SECRET: 'triggers.slack.signingSecret',
  SHERLOCK_MATTERMOST_TOKEN: 'triggers.slack.mattermostToken',
  SHERLOCK_PUBLIC_URL: 'triggers.slack.publicUrl',
  SHERLOCK_CHATOPS_ALIASES: 'triggers.slack.aliases',
  SHERLOCK_CHATOPS_ALLOW: 'triggers.slack.allow',
  SHERLOCK_ALERTMANAGER_TOKEN: 'triggers.alertmanager.token',
  SHERLOCK_PAGERDUTY_WEBHOOK_SECRET: 'triggers.pagerduty.webhookSecret',
  SHERLOCK_GENERIC_HOOK_SECRET: 'triggers.generic.secret',
  SHERLOCK_HOOKS_CONFIG: 'triggers.hooks',
  SHERLOCK_REPORT_LINK_KEY: 'triggers.slack.reportLinks.key',
  SHERLOCK_REPORT_LINK_TTL: 'triggers.slack.reportLinks.ttl',
  SHERLOCK_REPORT_LINKS: 'triggers.slack.reportLinks.enabled',
} as const;
type TriggerVariable = keyof typeof TRIGGER_ENV;

const JSON_EXAMPLES: Partial<Record<TriggerVariable, string>> = {
  SHERLOCK_CHATOPS_ALIASES: '{"lat": "intermittent-latency"}',
  SHERLOCK_CHATOPS_ALLOW: '{"high-cpu": {"users": ["alice"], "channels": ["ops"]}}',
};

export class TriggerConfigError extends ConfigError {
  override name = 'TriggerConfigError';
  constructor(readonly problems: string[]) {
    const count = problems.length === 1 ? 'a problem' : `${problems.length} problems`;
    super([`refusing to start: ${count} in the trigger settings:`, ...problems.map((p) => `  ${p}`)].join('\n'));
  }
}

interface Sourced<T> {
  value: T;
  origin: Origin;
}

/** Reads, checks and merges; throws TriggerConfigError listing every problem found. */
export function loadTriggerSettings(sources: TriggerSources, runbooks: RunbookSource): TriggerSettings {
  const env = sources.env ?? process.env;
  const file = sources.configFile;
  const problems: string[] = [];
  const fromFile = file ? readConfigFile(file, problems) : {};

  /** The env var's value when set (it wins), else the file's. */
  function pick<T>(variable: TriggerVariable, schema: z.ZodType<T>, fileValue: T | undefined): Sourced<T> | undefined {
    const text = env[variable]?.trim();
    if (!text) {
      if (fileValue === undefined) return undefined;
      return { value: fileValue, origin: { where: file!, path: TRIGGER_ENV[variable].split('.') } };
    }
    let input: unknown = text;
    const example = JSON_EXAMPLES[variable];
    if (example) {
      try {
        input = JSON.parse(text);
      } catch (err) {
        problems.push(`${variable}: not valid JSON (${(err as Error).message}); write it like ${example}`);
        return undefined;
      }
    }
    const parsed = schema.safeParse(input);
    if (!parsed.success) {
      problems.push(...issueLines(variable, parsed.error));
      return undefined;
    }
    return { value: parsed.data, origin: { where: variable, path: [] } };
  }

  const slack = fromFile.slack ?? {};
  const signingSecret = pick('SHERLOCK_SLACK_SIGNING_SECRET', secretSchema, slack.signingSecret);
  const mattermostToken = pick('SHERLOCK_MATTERMOST_TOKEN', secretSchema, slack.mattermostToken);
  const publicUrl = pick('SHERLOCK_PUBLIC_URL', publicUrlSchema, slack.publicUrl);
  const aliases = pick('SHERLOCK_CHATOPS_ALIASES', aliasesSchema, slack.aliases);
  const allow = pick('SHERLOCK_CHATOPS_ALLOW', allowSchema, slack.allow);
  const alertmanagerToken = pick('SHERLOCK_ALERTMANAGER_TOKEN', secretSchema, fromFile.alertmanager?.token);
  const pagerdutySecret = pick('SHERLOCK_PAGERDUTY_WEBHOOK_SECRET', secretSchema, fromFile.pagerduty?.webhookSecret);
  const genericSecret = pick('SHERLOCK_GENERIC_HOOK_SECRET', secretSchema, fromFile.generic?.secret);
  const hooks = hookRules(env, file, fromFile.hooks, problems);
  const linkKey = pick('SHERLOCK_REPORT_LINK_KEY', linkKeySchema, slack.reportLinks?.key);
  const linkTtl = pick('SHERLOCK_REPORT_LINK_TTL', linkTtlSchema as z.ZodType<number>, slack.reportLinks?.ttl);
  const linksOn = pick('SHERLOCK_REPORT_LINKS', switchSchema as z.ZodType<boolean>, slack.reportLinks?.enabled);
  if (linksOn?.value === true && !linkKey) {
    problems.push(
      'SHERLOCK_REPORT_LINKS is on but there is no key: set SHERLOCK_REPORT_LINK_KEY (or triggers.slack.reportLinks.key), e.g. openssl rand -hex 32',
    );
  }

  if (hooks) problems.push(...checkHookRules(hooks.value, hooks.origin, runbooks));
  if (aliases) problems.push(...checkAliases(aliases.value, aliases.origin, runbooks));
  if (allow) problems.push(...checkAllow(allow.value, allow.origin, runbooks));
  if (problems.length) throw new TriggerConfigError(problems);

  const lowerAliases = nullProtoRecord(Object.entries(aliases?.value ?? {}).map(([alias, runbook]) => [alias.toLowerCase(), runbook] as const));
  const settings: TriggerSettings = {
    chatops: {
      ...(signingSecret ? { signingSecret: signingSecret.value } : {}),
      ...(mattermostToken ? { mattermostToken: mattermostToken.value } : {}),
      aliases: nullProtoRecord([...Object.entries(DEFAULT_ALIASES), ...Object.entries(lowerAliases)]),
      ...(allow ? { allow: nullProtoRecord(Object.entries(allow.value)) } : {}),
      ...(publicUrl ? { publicUrl: publicUrl.value } : {}),
    },
    hooks: {
      ...(alertmanagerToken ? { alertmanagerToken: alertmanagerToken.value } : {}),
      ...(pagerdutySecret ? { pagerdutySecret: pagerdutySecret.value } : {}),
      ...(genericSecret ? { genericSecret: genericSecret.value } : {}),
      config: hooks?.value ?? { rules: [], nodeLabels: DEFAULT_NODE_LABELS },
      dedupTtlSeconds: DEFAULT_DEDUP_TTL_SECONDS,
    },
    bodyLimits: bodyLimitsFrom(file),
    ...(linkKey && linksOn?.value !== false ? { reportLinks: { key: linkKey.value, ttlMs: linkTtl?.value ?? DEFAULT_REPORT_LINK_TTL_MS } } : {}),
  };
  const whence = (s: Sourced<unknown> | undefined) => (s ? s.origin.where : 'off');
  log.info('trigger settings', {
    slack: whence(signingSecret),
    mattermost: whence(mattermostToken),
    alertmanager: whence(alertmanagerToken),
    pagerduty: whence(pagerdutySecret),
    generic: whence(genericSecret),
    hookRules: settings.hooks.config.rules.length,
    reportLinks: settings.reportLinks ? `signed, ${settings.reportLinks.ttlMs / 3_600_000} h (${whence(linkKey)})` : 'off: chat links need a bearer token',
  });
  return settings;
}

/** The file's triggers section, or {} with its problems added; warns when it holds secrets others can read. */
function readConfigFile(file: string, problems: string[]): FileTriggers {
  const read = readYamlFile(file);
  if (!read.ok) {
    problems.push(read.problem);
    return {};
  }
  const parsed = configFileSchema.safeParse(read.doc);
  if (!parsed.success) {
    problems.push(...issueLines(file, parsed.error));
    return validSections(read.doc);
  }
  const t = parsed.data.triggers;
  const holdsSecrets = [
    t.slack?.signingSecret,
    t.slack?.mattermostToken,
    t.slack?.reportLinks?.key,
    t.alertmanager?.token,
    t.pagerduty?.webhookSecret,
    t.generic?.secret,
  ].some(Boolean);
  const mode = readableByOthers(read.mode);
  if (holdsSecrets && mode) {
    log.warn(`${file} holds secrets and is readable by group or others (mode ${mode}); make it readable by the API's user only (chmod 600)`, { file, mode });
  }
  return t;
}

/** The sections that are valid on their own, so their runbook references are checked in the same round. */
function validSections(doc: unknown): FileTriggers {
  const triggers = (doc as { triggers?: unknown } | null)?.triggers;
  if (typeof triggers !== 'object' || triggers === null) return {};
  const valid: Record<string, unknown> = {};
  for (const [name, schema] of Object.entries(sections)) {
    const value = (triggers as Record<string, unknown>)[name];
    const parsed = value === undefined ? undefined : schema.safeParse(value);
    if (parsed?.success) valid[name] = parsed.data;
  }
  return valid as FileTriggers;
}

/** SHERLOCK_HOOKS_CONFIG (a rules file of its own) wins over triggers.hooks. */
function hookRules(env: NodeJS.ProcessEnv, file: string | undefined, fileRules: HooksConfig | undefined, problems: string[]): Sourced<HooksConfig> | undefined {
  const path = env.SHERLOCK_HOOKS_CONFIG?.trim();
  if (!path) return fileRules ? { value: fileRules, origin: { where: file!, path: ['triggers', 'hooks'] } } : undefined;
  const loaded = loadHooksConfig(path);
  if (!loaded.ok) {
    problems.push(...loaded.problems);
    return undefined;
  }
  return { value: loaded.config, origin: { where: path, path: [] } };
}
