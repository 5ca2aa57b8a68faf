// `limits` in the Sherlock config file: how much of a signed request's body
// (chat commands, webhooks) the API reads, and for how long, before it can
// check the signature. Defaults: 256 KiB within 10 s.
import { z } from 'zod';
import { readYamlFile } from './config-file.js';
import { strictObject } from './zod-text.js';

export interface BodyLimits {
  /** Largest body a signed route reads (bytes). */
  signedBodyBytes: number;
  /** How long a signed route waits for the whole body (ms). */
  bodyDeadlineMs: number;
}

export const DEFAULT_BODY_LIMITS: BodyLimits = { signedBodyBytes: 256 * 1024, bodyDeadlineMs: 10_000 };

export const limitsSchema = strictObject({
  signedBodyBytes: z
    .number()
    .int()
    .min(1024, 'at least 1024 bytes')
    .max(10 * 1024 * 1024, 'at most 10 MiB')
    .default(DEFAULT_BODY_LIMITS.signedBodyBytes),
  bodyDeadlineSeconds: z
    .number()
    .min(0.1, 'at least 0.1 s')
    .max(300, 'at most 300 s')
    .default(DEFAULT_BODY_LIMITS.bodyDeadlineMs / 1000),
});

/** The file's limits (already checked with the rest of the file), else the defaults. */
export function bodyLimitsFrom(file: string | undefined): BodyLimits {
  const read = file ? readYamlFile(file) : undefined;
  const section = read?.ok ? (read.doc as { limits?: unknown } | null)?.limits : undefined;
  const parsed = limitsSchema.safeParse(section ?? {});
  if (!parsed.success) return DEFAULT_BODY_LIMITS;
  return { signedBodyBytes: parsed.data.signedBodyBytes, bodyDeadlineMs: Math.round(parsed.data.bodyDeadlineSeconds * 1000) };
}
