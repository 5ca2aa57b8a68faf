// A deferred dependency (bullmq's cron-parser, as the worker defers it) is not
// loaded with its parent, and works as the real one once used. In a child
// process (this one's module cache may hold it already), from dist/ as the worker runs it.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/util/paths.js';

const built = join(projectRoot, 'dist', 'src', 'util', 'deferred-require.js');

const script = `
import { createRequire } from 'node:module';
import { deferRequire } from ${JSON.stringify(built)};
const require = createRequire(${JSON.stringify(join(projectRoot, 'package.json'))});
const parent = require.resolve('bullmq/dist/cjs/classes/job-scheduler.js');
const loaded = () => Object.keys(require.cache).some((path) => path.includes('/luxon/'));
deferRequire(parent, 'cron-parser');
require('bullmq/dist/cjs/classes/worker.js');
const before = loaded();
const cron = createRequire(parent)('cron-parser');
const next = cron.CronExpressionParser.parse('0 3 * * *', { currentDate: new Date('2026-01-01T12:00:00Z'), tz: 'UTC' }).next().toISOString();
console.log(JSON.stringify({ before, next, after: loaded() }));
`;

describe.skipIf(!existsSync(built))('deferRequire (needs make build)', () => {
  it('loads the dependency when its parent first uses it, not when the parent loads', () => {
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: projectRoot, encoding: 'utf8', timeout: 30_000 });
    expect(JSON.parse(out)).toEqual({ before: false, next: '2026-01-02T03:00:00.000Z', after: true });
  });
});
