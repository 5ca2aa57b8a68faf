// The worker's redaction settings: `redaction.patterns` in the Sherlock config
// file (regular expressions; a named group `secret` hides only itself). Read
// once at start; a bad pattern refuses the start like any config problem.
import { compilePatterns, type SecretPattern } from '../redact/index.js';
import { redactionConfigSchema } from '../redact/operator-patterns.js';
import { readYamlFile } from './config-file.js';
import { ConfigError } from './server-config.js';
import { issueLines } from './zod-text.js';

export function loadRedactionPatterns(configFile: string | undefined): SecretPattern[] {
  if (!configFile) return [];
  const read = readYamlFile(configFile);
  if (!read.ok) throw new ConfigError(read.problem);
  const section = (read.doc as { redaction?: unknown } | null)?.redaction;
  if (section === undefined || section === null) return [];
  const parsed = redactionConfigSchema.safeParse(section);
  if (!parsed.success) throw new ConfigError(issueLines(`${configFile}: redaction`, parsed.error).join('\n'));
  return compilePatterns(parsed.data.patterns);
}
