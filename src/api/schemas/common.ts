// Shapes every route shares: the JSON error and the ISO timestamps. The
// response schemas describe what the API sends (io: output); they generate the
// OpenAPI document and type the client (src/client/), and
// test/api/responses.test.ts checks real replies against that document.
import { z } from 'zod';

/** Response schemas by component name: openapi.ts turns them into components.schemas. */
export const responseSchemas = z.registry<{ id: string; description?: string }>();

/** Registers `schema` as components/schemas/<id> (referenced by $ref wherever it is used). */
export function named<S extends z.ZodType>(id: string, description: string, schema: S): S {
  responseSchemas.add(schema, { id, description });
  return schema;
}

export const isoTime = z.string().describe('ISO 8601 time');
export const jsonObject = z.record(z.string(), z.unknown());

export const ApiErrorBody = named(
  'Error',
  'what was wrong (code, one sentence) and, where it helps, what is allowed (details)',
  z.object({
    error: z.object({
      code: z.string().describe('stable machine-readable code, e.g. invalid_request, run_not_found'),
      message: z.string().describe('one sentence for a person: what was wrong and what to do'),
      details: z.unknown().optional(),
    }),
  }),
);
export type ApiErrorBody = z.output<typeof ApiErrorBody>;
