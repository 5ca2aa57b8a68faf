// A capture's settings become its CLI flags (maxEvents → --max-events), so a
// new capture gets flags without touching the CLI.
import type { Settings } from '../captures/settings.js';
import { UsageError } from './usage-error.js';

type FlagType = 'number' | 'boolean' | 'string';

export interface ParamFlag {
  flag: string;
  /** Older spellings still accepted, never shown in --help (ringBufferMiB was --ring-buffer-mi-b). */
  aliases: string[];
  key: string;
  type: FlagType;
  description: string;
}

const legacyKebab = (key: string) => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
// Binary units are one word as people type them: ringBufferMiB → --ring-buffer-mib.
const kebab = (key: string) => legacyKebab(key.replace(/([KMGTP]i)B(?=[A-Z]|$)/g, (_, unit: string) => `${unit}b`));

export function paramFlags(settings: Settings): ParamFlag[] {
  return Object.entries(settings).map(([key, s]) => ({
    flag: kebab(key),
    aliases: kebab(key) === legacyKebab(key) ? [] : [legacyKebab(key)],
    key,
    type: s.kind === 'integer' ? 'number' : s.kind === 'boolean' ? 'boolean' : 'string',
    description: s.description,
  }));
}

/** Raw flag values → the params object the schema then validates. */
export function paramsFromFlags(flags: ParamFlag[], values: Record<string, unknown>): Record<string, unknown> {
  const params: Record<string, unknown> = {};
  for (const f of flags) {
    const raw = [f.flag, ...f.aliases].map((name) => values[name]).find((v) => v !== undefined);
    if (raw === undefined) continue;
    if (f.type === 'number') {
      const n = Number(raw);
      if (raw === '' || !Number.isFinite(n)) throw new UsageError(`--${f.flag} takes a number, got "${String(raw)}"`);
      params[f.key] = n;
    } else {
      params[f.key] = raw;
    }
  }
  return params;
}
