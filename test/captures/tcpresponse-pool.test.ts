// tcpresponse and a connection pool too small for its load: from rows (every
// connection to a peer busy the whole window while the process's own answers
// are slow leads those answers; a pool with room, answers that are not slow,
// or more in flight than connections are nothing), and on the real kernel
// over loopback: cart-api (test/eval/programs) with a pool of 2 connections
// to a database answering in 30 ms, and 16 callers (~240 ms an answer).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mergeThresholds } from '../../src/analysis/common.js';
import { linkCauses } from '../../src/analysis/causes.js';
import { tcpresponse, type TcpresponseRow } from '../../src/captures/tcpresponse/index.js';
import { projectRoot } from '../../src/util/paths.js';
import { captureAround } from '../helpers/capture-around.js';
import { bpfHandlesOf, kernelSkipReason } from '../helpers/kernel.js';

const skip = kernelSkipReason();
const WINDOW_S = 10;

const analyze = (rows: Partial<TcpresponseRow>[], windowSeconds = WINDOW_S) =>
  tcpresponse.analysis!.analyze({ rows, answers: 0, recordMs: 50, totalRows: rows.length } as never, {
    node: 'n1',
    capture: 'tcpresponse',
    file: 'nodes/n1/tcpresponse.json',
    thresholds: mergeThresholds(),
    windowSeconds,
  }).findings;

const side = (over: Partial<TcpresponseRow>): Partial<TcpresponseRow> => ({
  role: 'client',
  pid: 4242,
  comm: 'cart-api',
  peer: '10.0.0.9:5432',
  port: 5432,
  answers: 490,
  waitedMs: 19_800, // two connections busy 99% of 10 s
  connections: 2,
  waits: [],
  abandonedWaits: [],
  waitingWaits: [],
  held: 0,
  ...over,
});
/** Its own answers on port 8080: 100 of them ~250 ms. */
const served = side({
  role: 'server',
  peer: '',
  port: 8080,
  answers: 480,
  waitedMs: 40_000,
  connections: 12,
  waits: Array.from({ length: 100 }, (_, i): [number, number] => [100 * (i + 1), 250]),
});

describe('tcpresponse: a connection pool kept busy', () => {
  it('every connection to a peer busy the whole window while its own answers are slow: a finding that leads those answers', () => {
    const findings = analyze([side({}), served]);
    const pool = findings.find((f) => f.id.includes(':pool:'))!;
    expect(pool.title).toMatch(
      /^cart-api \(pid 4242\) kept its 2 connections to 10\.0\.0\.9:5432 busy 99% of the window \(2\.0 requests in flight on average, 490 answers of ~40\.4 ms\) while 100 of its own answers on port 8080 took ~250 ms: its requests queue for a free connection \(a pool of 2/,
    );
    expect(pool.evidence).toMatchObject({ connections: 2, inFlight: 1.98, answers: 490, slowAnswers: 100 });
    // What its slow answers took beyond one upstream answer each: 100 × (250 − 40.4) ms.
    expect(pool.evidence.queuedMs).toBe(Math.round(100 * (250 - 19_800 / 490)));
    const linked = linkCauses([...findings]);
    expect(linked).toHaveLength(1);
    expect(linked[0]!.id).toBe(pool.id);
    expect(linked[0]!.title).toContain('Effect: cart-api (pid 4242) answered 100 of 480 requests on port 8080 on n1 in 200 ms or more');
  });

  it('a pool with room, answers that are fast, too few answers, or more in flight than connections: nothing', () => {
    const pools = (rows: Partial<TcpresponseRow>[]) => analyze(rows).filter((f) => f.id.includes(':pool:'));
    expect(pools([side({ waitedMs: 12_000 }), served])).toEqual([]); // 60% busy
    expect(pools([side({}), side({ ...served, waits: [] })])).toEqual([]); // its own answers fast: a busy pool that keeps up
    expect(pools([side({ answers: 10 }), served])).toEqual([]); // a few long calls (a watch, a stream)
    expect(pools([side({ waitedMs: 60_000 }), served])).toEqual([]); // 6 in flight on 2 connections open at the end: opened per request
  });
});

describe.skipIf(skip)(`tcpresponse and a connection pool on the real kernel${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const programs = join(projectRoot, 'test', 'eval', 'programs');
  const children: ChildProcess[] = [];
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'sherlock-pool-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  afterEach(() => {
    for (const c of children.splice(0)) c.kill('SIGKILL');
    expect(bpfHandlesOf()).toEqual({ programIds: [], links: 0, maps: 0 });
  });
  const start = (args: string[]) => {
    const child = spawn('/usr/bin/python3', args, { stdio: 'ignore', env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' } });
    children.push(child);
    return child;
  };

  it('times every answer on the pool: its two connections busy as long as the program held them, and the pool named', async () => {
    const dbPort = 20_000 + (process.pid % 10_000);
    const apiPort = dbPort + 1;
    const counter = join(dir, 'held.count');
    start([join(programs, 'slow-db.py'), '127.0.0.1', String(dbPort), '30', '1']);
    await sleep(300);
    const api = start([join(programs, 'cart-api.py'), String(apiPort), '127.0.0.1', String(dbPort), '2', '20', '16', counter]);
    await sleep(700);
    const heldMs = () => Number(readFileSync(counter, 'utf8').trim()) || 0;
    let held = 0;
    const started = performance.now();
    const { result } = await captureAround(tcpresponse, async () => {
      const before = heldMs();
      await sleep(2000);
      held = heldMs() - before;
    });
    const windowMs = performance.now() - started;
    const row = result.rows.find((r) => r.role === 'client' && r.pid === api.pid && r.port === dbPort)!;
    expect(row).toMatchObject({ connections: 2, server: { comm: 'orders-db' } });
    expect(row.answers).toBeGreaterThan(60); // ~66 a second a connection at 30 ms
    // The answer times at the socket add up to the time the program held its connections (its own count, over about the window).
    expect(row.waitedMs).toBeGreaterThan(held * 0.8);
    expect(row.waitedMs).toBeLessThan(held * 1.25 + 100);
    const findings = tcpresponse.analysis!.analyze(result as never, {
      node: 'n1',
      capture: 'tcpresponse',
      file: 'f',
      thresholds: mergeThresholds(),
      windowSeconds: windowMs / 1000,
    }).findings;
    const pool = findings.find((f) => f.id === `tcpresponse:n1:pool:${api.pid}:127.0.0.1:${dbPort}`);
    expect(pool?.title).toContain(`kept its 2 connections to 127.0.0.1:${dbPort} (orders-db, pid`);
  }, 30_000);
});
