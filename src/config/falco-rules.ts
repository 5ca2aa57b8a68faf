// The operator's Falco rule files from the Sherlock config file: `falco.rules`,
// a list of files and directories (relative ones from the config file's
// directory), the same as SHERLOCK_FALCO_RULES; the flag or the environment,
// when given, wins over the file. Read by `sherlock up` and `sherlock worker`.
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { readYamlFile } from './config-file.js';
import { ConfigError } from './server-config.js';
import { issueLines } from './zod-text.js';

export const falcoConfigSchema = z
  .object({
    rules: z
      .array(z.string().trim().min(1, 'a rule path is empty'))
      .max(64, 'at most 64 rule files and directories')
      .describe('Falco rule files, and directories whose *.yaml a run request may name'),
  })
  .strict();

export function loadFalcoRulePaths(configFile: string | undefined): string[] {
  if (!configFile) return [];
  const read = readYamlFile(configFile);
  if (!read.ok) throw new ConfigError(read.problem);
  const section = (read.doc as { falco?: unknown } | null)?.falco;
  if (section === undefined || section === null) return [];
  const parsed = falcoConfigSchema.safeParse(section);
  if (!parsed.success) throw new ConfigError(issueLines(`${configFile}: falco`, parsed.error).join('\n'));
  return parsed.data.rules.map((p) => resolve(dirname(configFile), p));
}

/** Flag or environment first, else the config file's. */
export const operatorFalcoRules = (fromFlagOrEnv: string[], configFile: string | undefined): string[] =>
  fromFlagOrEnv.length ? fromFlagOrEnv : loadFalcoRulePaths(configFile);
