// The `sherlock capture` command as a user runs it: a real child process,
// real flags, real exit codes and output.
import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/util/paths.js';
import { bpfHandlesOf, kernelSkipReason, sherlockBin } from '../helpers/kernel.js';

const built = existsSync(join(projectRoot, 'dist', 'src', 'cli', 'main.js'));
const skip = built ? kernelSkipReason() : 'dist/ is not built (make build)';

function sherlock(args: string[], options: { uid?: number } = {}) {
  const result = spawnSync('node', [sherlockBin, ...args], { encoding: 'utf8', timeout: 20_000, ...options });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe.skipIf(!built)('sherlock capture: usage errors', () => {
  it.each([
    [['capture', 'execsnoop', '--bogus'], /Unknown option '--bogus' for capture execsnoop; allowed: --duration, --pid/],
    [['capture', 'execsnoop', '--duration', 'soon'], /--duration takes a duration like 500ms, 5s, 2m \(at most 1h\), got "soon"/],
    [['capture', 'execsnoop', '--duration', '2h'], /at most 1h/],
    [['capture', 'execsnoop', '--pid', 'abc'], /--pid takes positive process ids, got "abc"/],
    [['capture', 'execsnoop', '--comm', 'a-very-long-command-name'], /--comm takes a command name of 1 to 15 characters/],
    [['capture', 'execsnoop', '--max-events', 'lots'], /--max-events takes a number, got "lots"/],
    [['capture', 'nosuch'], /unknown capture "nosuch"; available: execsnoop/],
    [['frobnicate'], /unknown command "frobnicate"; commands: run, runbooks, capture, rules, up, api, worker, doctor, inspect$/m],
  ])('%j → exit 2 with one line saying what is allowed', (args, message) => {
    const { code, stderr, stdout } = sherlock(args);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(message);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('a schema violation of a capture setting is a usage error naming the setting', () => {
    if (kernelSkipReason()) return; // reaches the privilege check first when not root
    const { code, stderr } = sherlock(['capture', 'execsnoop', '--duration', '1s', '--max-events', '0']);
    expect(code).toBe(2);
    expect(stderr).toMatch(/execsnoop: .*maxEvents/);
  });

  it('lists the captures with --help', () => {
    const { code, stdout } = sherlock(['capture', '--help']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/execsnoop\s+process execs/);
  });

  it('explains the missing capability when not root, exit 77', () => {
    if (process.getuid?.() !== 0) return; // needs root to drop to nobody
    const { code, stderr } = sherlock(['capture', 'execsnoop', '--duration', '1s'], { uid: 65534 });
    expect(stderr).toMatch(/sherlock capture execsnoop needs CAP_BPF and CAP_PERFMON \(or root\)/);
    expect(code).toBe(77);
  });
});

describe.skipIf(skip)(`sherlock capture on the real kernel${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it('--json prints one document with events, dropped, durationMs and bpfCpuNs', async () => {
    const marker = `sherlock-${randomUUID()}`;
    const child = spawn('node', [sherlockBin, 'capture', 'execsnoop', '--duration', '3s', '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    await waitFor(() => bpfHandlesOf(child.pid).links > 0, 10_000);
    spawnSync('/bin/echo', [marker]);
    const code = await new Promise((resolve) => child.once('exit', resolve));
    expect(code).toBe(0);
    const doc = JSON.parse(stdout);
    expect(doc).toMatchObject({ capture: 'execsnoop', kind: 'events', dropped: 0, cancelled: false });
    expect(doc.durationMs).toBeGreaterThanOrEqual(2900);
    expect(doc.bpfCpuNs).toBeGreaterThan(0);
    expect(doc.events.filter((e: { argv: string[] }) => e.argv.includes(marker))).toHaveLength(1);
  });

  it('prints a table, and SIGTERM ends the capture early with what it saw', async () => {
    const marker = `sherlock-${randomUUID()}`;
    const child = spawn('node', [sherlockBin, 'capture', 'execsnoop', '--duration', '60s'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    // The first line says when the probes are live: from then on every exec is seen.
    await waitFor(() => stderr.includes('\n'), 10_000);
    expect(stderr.split('\n')[0]).toBe('execsnoop: live for 1m; Ctrl-C ends it');
    expect(bpfHandlesOf(child.pid).links).toBeGreaterThan(0);
    spawnSync('/bin/echo', [marker]);
    await new Promise((r) => setTimeout(r, 100));
    child.kill('SIGTERM');
    const code = await new Promise((resolve) => child.once('exit', resolve));
    expect(code).toBe(0);
    expect(stdout.split('\n')[0]).toMatch(/^TIME\s+COMM\s+PID\s+PPID\s+UID\s+RET\s+EXIT\s+LIFETIME\s+ARGS$/);
    expect(stdout).toMatch(new RegExp(`echo\\s+\\d+\\s+\\d+\\s+0\\s+0\\s+0\\s+[\\d.]+ms\\s+/bin/echo ${marker}`));
    expect(stderr).toMatch(/\(stopped early\), 0 dropped/);
  });
});

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs}ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe.skipIf(skip)('sherlock capture --out', () => {
  it("writes the JSON result and the capture's raw files", () => {
    const dir = mkdtempSync(join(tmpdir(), 'sherlock-out-'));
    try {
      const { code, stderr } = sherlock(['capture', 'profile', '--duration', '1s', '--out', dir]);
      expect(code).toBe(0);
      expect(readdirSync(dir).sort()).toEqual(['profile.folded.txt', 'profile.json', 'profile.pb.gz', 'profile.speedscope.json', 'profile.svg']);
      const result = JSON.parse(readFileSync(join(dir, 'profile.json'), 'utf8'));
      const foldedTotal = readFileSync(join(dir, 'profile.folded.txt'), 'utf8')
        .trim()
        .split('\n')
        .reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
      expect(foldedTotal).toBe(result.stacks.reduce((sum: number, s: { value: number }) => sum + s.value, 0));
      expect(readFileSync(join(dir, 'profile.svg'), 'utf8')).toMatch(/^<\?xml|^<svg/);
      expect(stderr).toContain(`wrote ${join(dir, 'profile.svg')}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(skip)('sherlock doctor', () => {
  it('passes every check on this host, including a live capture', () => {
    const { code, stdout } = sherlock(['doctor']);
    expect(stdout).toMatch(/^ok\s+live execsnoop\s+saw the test exec/m);
    expect(stdout).not.toMatch(/^FAIL/m);
    expect(code).toBe(0);
  });
});
