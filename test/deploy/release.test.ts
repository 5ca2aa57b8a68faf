// The release tarball as an operator installs it: unpacked into an empty
// directory and run with a PATH that holds node and redis-server only (no
// clang, no bpftool, no chromium, no dev dependencies), `sherlock up` from it
// completes a real capture.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/redis/embedded.js';
import { projectRoot } from '../../src/util/paths.js';
import { kernelSkipReason } from '../helpers/kernel.js';
import { processExists, redisServerChildren } from '../helpers/redis.js';
import { Client, waitFor } from '../server/harness.js';

const skip = kernelSkipReason();

function which(cmd: string): string {
  return execFileSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).trim();
}

describe.skipIf(skip)(`the release tarball${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let work: string;
  let root: string;
  let tarball: string;
  let up: ChildProcess | undefined;
  let redisPids: number[] = [];

  beforeAll(() => {
    const out = execFileSync(join(projectRoot, 'scripts', 'make-dist.sh'), { cwd: projectRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    tarball = join(projectRoot, out.trim().split('\n').at(-1)!.split(/\s+/)[0]!);
    work = mkdtempSync(join(tmpdir(), 'sherlock-release-'));
    execFileSync('tar', ['-C', work, '-xzf', tarball]);
    root = join(work, readdirSync(work)[0]!);
  }, 240_000);

  afterAll(async () => {
    if (up && up.exitCode === null && up.signalCode === null) {
      up.kill('SIGKILL');
      await new Promise((resolve) => up!.once('exit', resolve));
    }
    for (const pid of redisPids) if (processExists(pid)) process.kill(pid, 'SIGKILL');
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('holds the compiled code, the CO-RE objects, runbooks and production dependencies only', () => {
    expect(existsSync(join(root, 'bin', 'sherlock.js'))).toBe(true);
    expect(existsSync(join(root, 'dist', 'src', 'cli', 'main.js'))).toBe(true);
    expect(existsSync(join(root, 'build', 'bpf', 'execsnoop', 'execsnoop.bpf.o'))).toBe(true);
    expect(existsSync(join(root, 'runbooks', 'intermittent-latency.yaml'))).toBe(true);
    expect(existsSync(join(root, 'deploy', 'systemd', 'sherlock-worker.service'))).toBe(true);
    expect(existsSync(join(root, 'node_modules', 'koffi'))).toBe(true);
    for (const dev of ['typescript', 'vitest', 'playwright-core', '@types/node']) expect(existsSync(join(root, 'node_modules', dev)), dev).toBe(false);
    // No sources, tests or kernel-specific leftovers.
    for (const absent of ['src', 'test', 'bpf', 'bench', join('build', 'vmlinux'), join('build', 'kernel.id')])
      expect(existsSync(join(root, absent)), absent).toBe(false);
  });

  it('runs `sherlock up` without a compiler on PATH and completes an execsnoop capture', async () => {
    const bin = join(work, 'path');
    mkdirSync(bin);
    symlinkSync(process.execPath, join(bin, 'node'));
    symlinkSync(which('redis-server'), join(bin, 'redis-server'));
    const port = await freePort();
    const stateDir = join(work, 'state');
    const env: NodeJS.ProcessEnv = {
      PATH: bin,
      HOME: work,
      SHERLOCK_LOG: 'error',
      SHERLOCK_ADMIN_TOKEN: 'shk_release-test-token',
      SHERLOCK_NODE: 'release-node',
    };
    up = spawn(join(bin, 'node'), [join(root, 'bin', 'sherlock.js'), 'up', '--port', String(port), '--state-dir', stateDir], {
      cwd: work,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    up.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
    up.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
    await waitFor(
      'sherlock up from the release',
      () => {
        if (up!.exitCode !== null) throw new Error(`sherlock up exited ${up!.exitCode}: ${err}`);
        return out.includes('Ctrl-C stops it.');
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    redisPids = redisServerChildren(up.pid!);

    const client = new Client(`http://127.0.0.1:${port}`, 'shk_release-test-token');
    await waitFor('the node to be live', async () => (await client.get('/v1/nodes')).text.includes('release-node'), { timeoutMs: 15_000 });
    const id = await client.submit({ steps: [{ capture: 'execsnoop' }], duration: '2s', targets: { nodes: ['release-node'] } });
    const marker = `release-marker-${process.pid}`;
    const ticker = setInterval(() => spawn('/bin/true', [marker]).on('error', () => {}), 200);
    let run;
    try {
      run = await client.waitRun(id, (r) => ['completed', 'partial', 'failed', 'cancelled'].includes(r.status), 'the run to end', 30_000);
    } finally {
      clearInterval(ticker);
    }
    expect(run.status, err).toBe('completed');
    const artifact = await client.get(`/v1/runs/${id}/nodes/release-node/artifacts/execsnoop.json`);
    expect(artifact.status).toBe(200);
    const events = (artifact.body as { events: { argv: string[] }[] }).events;
    expect(events.some((e) => e.argv.includes(marker))).toBe(true);

    up.kill('SIGINT');
    await new Promise((resolve) => up!.once('exit', resolve));
    await waitFor('the embedded redis-server gone', () => redisPids.every((pid) => !processExists(pid)), { timeoutMs: 5_000 });
  }, 90_000);
});
