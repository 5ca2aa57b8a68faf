// The OpenAPI document: Redocly's linter accepts it (0 errors) and it lists
// exactly the routes the hono app serves, so the two cannot drift.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { createApi, type ApiOptions } from '../../src/api/app.js';
import { documentedOperations, openApiDocument } from '../../src/api/openapi.js';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'sherlock-openapi-'));
const redocly = join(import.meta.dirname, '..', '..', 'node_modules', '.bin', 'redocly');

describe('the OpenAPI document', () => {
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('passes Redocly lint (recommended rules) with 0 errors', async () => {
    const file = join(dir, 'openapi.json');
    writeFileSync(file, JSON.stringify(openApiDocument()));
    const result = await run(redocly, ['lint', file, '--format=json'], {
      env: { ...process.env, NO_COLOR: '1', REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
      timeout: 60_000,
    }).catch((e: { stdout: string; stderr: string }) => e);
    const problems = JSON.parse(result.stdout.slice(result.stdout.indexOf('{'))) as {
      totals: { errors: number };
      problems: Array<{ severity: string; ruleId: string; message: string; location: Array<{ pointer: string }> }>;
    };
    const errors = problems.problems.filter((p) => p.severity === 'error').map((p) => `${p.ruleId} ${p.location[0]?.pointer}: ${p.message}`);
    expect(errors).toEqual([]);
    expect(problems.totals.errors).toBe(0);
  });

  it('lists every route the app serves, and no route it does not', () => {
    // Only route registration runs here: no handler is called, so no service is needed.
    const app = createApi({} as ApiOptions);
    const served = new Set(app.routes.filter((r) => r.method !== 'ALL').map((r) => `${r.method} ${r.path.replace(/:(\w+)/g, '{$1}')}`));
    expect([...served].sort()).toEqual([...new Set(documentedOperations())].sort());
  });

  it('has a unique operationId, a summary and security on every operation, and each path parameter declared', () => {
    const doc = openApiDocument() as {
      paths: Record<string, Record<string, { operationId: string; summary: string; security: unknown[]; parameters?: Array<{ in: string; name: string }> }>>;
    };
    const ids = new Set<string>();
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const op of Object.values(methods)) {
        expect(ids.has(op.operationId)).toBe(false);
        ids.add(op.operationId);
        expect(op.summary.length).toBeGreaterThan(3);
        expect(Array.isArray(op.security)).toBe(true);
        const declared = (op.parameters ?? []).filter((p) => p.in === 'path').map((p) => p.name);
        expect(declared).toEqual([...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]));
      }
    }
  });
});
