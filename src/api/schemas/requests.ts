// Query strings and bodies the API validates that have no home below it
// (run requests and schedules are the planner's and the core's).
import { z } from 'zod';
import { SCOPES } from '../../core/tokens.js';
import { RUN_STATUSES } from '../../model/run.js';

export const listQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(200).default(50),
    // The `next` link's cursor: createdAt ms of the page's last run, then its id.
    before: z
      .string()
      .regex(/^\d{1,15}(:[0-9a-f-]{36})?$/, "before is the cursor from a page's next link (ms:run-id)")
      .transform((text) => {
        const [ms, id] = text.split(':');
        return { ms: Number(ms), ...(id ? { id } : {}) };
      })
      .optional(),
    status: z.enum(RUN_STATUSES).optional(),
    node: z.string().max(63).optional(),
    runbook: z.string().max(100).optional(),
  })
  .strict();

export const newToken = z
  .object({
    name: z.string().min(1).max(100),
    scopes: z.array(z.enum(SCOPES)).min(1),
  })
  .strict();

export const auditQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(1000).default(100),
    before: z
      .string()
      .regex(/^\d{1,20}-\d{1,20}$/, 'before is an audit entry id such as 1733300000000-0 (from a previous page)')
      .optional(),
  })
  .strict();

/** A signed report link's query (src/core/report-links.ts): the credential, instead of a bearer header. */
export const reportLinkQuery = z
  .object({
    exp: z
      .string()
      .regex(/^\d{1,12}$/)
      .describe('when the link stops opening (Unix seconds)'),
    sig: z.string().describe('HMAC-SHA256 over the run id and exp, base64url'),
  })
  .strict();
