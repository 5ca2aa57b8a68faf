// What the entry points really load, started as a user starts them (issue 17):
// `sherlock --help` no BPF, Redis, HTTP or zod code; `sherlock worker` no HTTP
// server, report rendering or chat code, and, idle, not the code of a run, the
// captures' definitions (only their setups) or zod. A loader
// hook lists every ES module.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/util/paths.js';
import { kernelSkipReason, sherlockBin } from '../helpers/kernel.js';
import { startTestRedis } from '../helpers/redis.js';

const built = existsSync(join(projectRoot, 'dist', 'src', 'cli', 'main.js'));
const hook = join(projectRoot, 'test', 'helpers', 'module-trace.mjs');
const dir = mkdtempSync(join(tmpdir(), 'sherlock-modules-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function loaded(file: string): string[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((url) => url.replace(/^file:\/\/.*?\/(dist|node_modules)\//, '$1/'));
}

describe.skipIf(!built)('modules an entry point loads', () => {
  it('sherlock --help loads no BPF, Redis, HTTP, zod or capture code', () => {
    const trace = join(dir, 'help.txt');
    const result = spawnSync('node', ['--import', hook, sherlockBin, '--help'], {
      encoding: 'utf8',
      timeout: 20_000,
      env: { ...process.env, SHERLOCK_MODULE_TRACE: trace },
    });
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/usage: sherlock <command>/);
    const modules = loaded(trace);
    expect(modules).toContain('dist/src/cli/main.js');
    expect(modules.filter((m) => /node_modules\/|src\/(libbpf|redis|server|api|captures|worker|queue)\/|node:(http|net)$/.test(m))).toEqual([]);
  });

  it('sherlock capture NAME loads that capture alone and no zod (its settings are checked by hand)', () => {
    const trace = join(dir, 'capture.txt');
    const result = spawnSync('node', ['--import', hook, sherlockBin, 'capture', 'execsnoop', '--help'], {
      encoding: 'utf8',
      timeout: 20_000,
      env: { ...process.env, SHERLOCK_MODULE_TRACE: trace },
    });
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/--max-events <number>/);
    const modules = loaded(trace);
    expect(modules).toContain('dist/src/captures/execsnoop/index.js');
    expect(modules).toContain('dist/src/captures/run-capture.js');
    expect(
      modules.filter((m) => m.includes('/zod/') || /src\/captures\/(registry|params-schema)\.js|src\/captures\/(?!execsnoop\/)[a-z-]+\/index\.js/.test(m)),
    ).toEqual([]);
  });

  it.skipIf(kernelSkipReason())(
    'sherlock worker loads no HTTP server, report rendering or chat code, and idle none of a run',
    async () => {
      const redis = await startTestRedis();
      const trace = join(dir, 'worker.txt');
      const child = spawn('node', ['--import', hook, sherlockBin, 'worker', '--node', `modules-${process.pid}`], {
        env: { ...process.env, REDIS_URL: redis.url, SHERLOCK_MODULE_TRACE: trace },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      try {
        let out = '';
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`worker not ready in 30 s: ${out}`)), 30_000);
          child.stdout.on('data', (d: Buffer) => {
            out += d;
            if (out.includes('is waiting for runs')) {
              clearTimeout(timer);
              resolve();
            }
          });
          child.stderr.on('data', (d: Buffer) => (out += d));
          child.on('exit', (code) => (clearTimeout(timer), reject(new Error(`worker exited ${code}: ${out}`))));
        });
        const modules = loaded(trace);
        expect(modules).toContain('dist/src/worker/node-worker.js');
        const forbidden = modules.filter((m) => /src\/(server|api|console|triggers|report)\/|node_modules\/(hono|@hono)\//.test(m));
        expect(forbidden).toEqual([]);
        // Idle, it holds only what waits for runs and keeps the warm pool: the run path comes with the first run.
        const runPath = modules.filter((m) => /src\/(worker\/run-node-job|runs|falco|runbooks)\/?|src\/analysis\/rules\.js|src\/model\/rule\.js/.test(m));
        expect(runPath).toEqual([]);
        // Nor the captures' definitions (their setups only: the warm pool's) or zod (the settings are checked by hand).
        const definitions = modules.filter((m) => /src\/captures\/[a-z-]+\/(index|analyze|baseline|collect)\.js$/.test(m));
        expect(definitions).toEqual([]);
        expect(modules.filter((m) => m.includes('/zod/'))).toEqual([]);
        expect(modules).toContain('dist/src/captures/execsnoop/setup.js');
      } finally {
        child.kill('SIGTERM');
        await new Promise((r) => (child.exitCode !== null ? r(undefined) : child.once('exit', r)));
        await redis.dispose();
      }
    },
    60_000,
  );
});
