// A lock polled without waiting, on the real kernel: a child holds a POSIX
// lock on a file while another tries to take it with lockf(LOCK_NB) every
// 50 ms (as SQLite's busy handler does). The failing fcntl keeps its fd
// though EAGAIN is routine, names the file and its holder (/proc/locks), and
// counts the time between tries; the title says all three.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { mergeThresholds } from '../../src/analysis/common.js';
import { syscallerrors, type SyscallerrorsData } from '../../src/captures/syscallerrors/index.js';
import { MAX_NR } from '../../src/captures/syscallerrors/decode.js';
import { argumentTable, FD_ARGUMENT, FD_EVEN_ROUTINE, LOCK_CALLS } from '../../src/captures/syscallerrors/file-calls.js';
import { captureAround } from '../helpers/capture-around.js';
import { bpfHandlesOf, kernelSkipReason } from '../helpers/kernel.js';

const skip = kernelSkipReason();
const PYTHON = '/usr/bin/python3';

/** Holds an exclusive POSIX lock on the file until killed; prints "held" once it has it. */
const HOLDER = `import fcntl, sys, time
f = open(sys.argv[1], 'w'); fcntl.lockf(f, fcntl.LOCK_EX); print('held', flush=True); time.sleep(60)`;
/** Tries lockf(LOCK_NB) every 50 ms for the given seconds. */
const POLLER = `import fcntl, sys, time
f = open(sys.argv[1], 'w'); end = time.monotonic() + float(sys.argv[2])
while time.monotonic() < end:
    try: fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB); break
    except OSError: time.sleep(0.05)`;

const analyze = (result: SyscallerrorsData, windowSeconds: number) =>
  syscallerrors.analysis!.analyze(result as never, {
    node: 'n1',
    capture: 'syscallerrors',
    file: 'nodes/n1/syscallerrors.json',
    thresholds: mergeThresholds(),
    windowSeconds,
  });

describe('lock calls keep their fd', () => {
  it('fd_args marks fcntl and flock to keep the fd for EAGAIN too, and no other call', () => {
    const table = argumentTable(FD_ARGUMENT, MAX_NR, 'x64', LOCK_CALLS);
    expect(table.get(72)).toBe(1 | FD_EVEN_ROUTINE); // fcntl
    expect(table.get(73)).toBe(1 | FD_EVEN_ROUTINE); // flock
    expect(table.get(0)).toBe(1); // read
  });
});

describe.skipIf(skip)(`a lock polled without waiting, on the real kernel${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const c of children.splice(0)) c.kill('SIGKILL');
    expect(bpfHandlesOf()).toEqual({ programIds: [], links: 0, maps: 0 });
  });

  it('names the file, its holder and the time between tries', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sherlock-locks-'));
    const file = join(dir, 'app.db');
    try {
      const holder = spawn(PYTHON, ['-c', HOLDER, file], { stdio: ['ignore', 'pipe', 'inherit'] });
      children.push(holder);
      await once(holder.stdout!, 'data');
      let poller: ChildProcess | undefined;
      const started = Date.now();
      const { result } = await captureAround(syscallerrors, async () => {
        poller = spawn(PYTHON, ['-c', POLLER, file, '1.5'], { stdio: 'ignore' });
        children.push(poller);
        await once(poller, 'exit');
      });
      const windowS = (Date.now() - started) / 1000;
      const rows = result.rows.filter((r) => r.pid === poller!.pid && r.syscall === 'fcntl');
      expect(rows).toHaveLength(1);
      const row = rows[0]!;
      expect(row.errno).toMatch(/^(EAGAIN|EACCES)$/);
      expect(row.fdTarget).toMatchObject({ kind: 'file', name: file });
      expect(row.lockHolder).toMatchObject({ pid: holder.pid, comm: 'python3', type: 'POSIX', mode: 'WRITE' });
      expect(row.lockHolder!.heldShare).toBeGreaterThan(0.5);
      // ~30 tries 50 ms apart: ~1.45 s between the first and the last.
      expect(row.count).toBeGreaterThanOrEqual(20);
      expect(row.retryMs).toBeGreaterThan(1000);
      expect(row.retryMs).toBeLessThan(1700);

      const { findings } = analyze(result, windowS);
      const lock = findings.find((f) => f.id.includes('lock-busy'));
      expect(lock?.title).toContain(`python3 (pid ${poller!.pid}) found the lock on ${file} held ${row.count} times`);
      expect(lock?.title).toContain(`python3 (pid ${holder.pid}) held it (a POSIX WRITE lock)`);
      expect(lock?.evidence).toMatchObject({ tries: row.count, retryMs: Math.round(row.retryMs!) });
      // A few tries are a probe (a pidfile checked at start): no finding, and EAGAIN stays normal.
      const few = analyze({ ...result, rows: result.rows.map((r) => (r === row ? { ...row, count: 3, retryMs: 100 } : r)) }, windowS);
      expect(few.findings.find((f) => f.id.includes('lock-busy'))).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
