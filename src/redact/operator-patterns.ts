// The operator's own secret shapes, from the config file's `redaction.patterns`:
// regular expressions, compiled once; a named group `secret` hides only itself.
import { z } from 'zod';

export const redactionConfigSchema = z
  .object({
    patterns: z
      .array(z.string().min(1, 'a pattern is empty').max(1000, 'a pattern is at most 1000 characters'))
      .max(200, 'at most 200 patterns')
      .default([])
      .superRefine((list, ctx) => {
        list.forEach((source, i) => {
          const problem = compileProblem(source);
          if (problem) ctx.addIssue({ code: 'custom', path: [i], message: `not a regular expression: ${problem}` });
        });
      }),
  })
  .strict();

export type RedactionConfig = z.output<typeof redactionConfigSchema>;

function compileProblem(source: string): string | undefined {
  try {
    new RegExp(source, 'g');
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}
