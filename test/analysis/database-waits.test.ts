// PostgreSQL's backends wait for another transaction's locks on their latch:
// an epoll wait, as idle as their wait for the next query but for the stack.
// The lock waits lead (with the backend idle in its transaction that holds
// them, and its client), the backends' slow answers and their client's waits
// on them follow as effects; idle backends say nothing.
import { describe, expect, it } from 'vitest';
import { analyzeRun } from '../../src/runs/analyze-run.js';
import { databaseWaitOf } from '../../src/captures/offcputime/database-waits.js';
import { parseTitle } from '../../src/captures/offcputime/postgres-backends.js';
import { kernel, offcpu, on, result, run, user, WINDOW_MS } from './fixtures.js';

const pg = (name: string) => user(name, 'postgres');
const latch = [kernel('ep_poll'), kernel('do_epoll_wait'), user('epoll_wait', 'libc.so.6'), pg('WaitEventSetWait'), pg('WaitLatch')].reverse();
/** Leaf last, as stored: main → ... → the wait. */
const waitingIn = (...callers: string[]) => [...['main', 'PostmasterMain', 'PostgresMain', ...callers].map(pg), ...latch];
const ROW_WAIT = waitingIn('exec_simple_query', 'ExecUpdate', 'heap_update', 'XactLockTableWait', 'LockAcquireExtended', 'postgres+0x45d95d', 'ProcSleep');
const IDLE = waitingIn('pq_getbyte', 'postgres+0x34b407', 'secure_read');
const BACKENDS = [501, 502, 503];
const HOLDER = 510;
const JOB = 90;

const byThread = (pid: number, us: number, frames: typeof latch, blocks: number) => ({
  pid,
  comm: 'postgres',
  frames,
  value: us,
  blocks,
  threads: [[pid, us]],
});

const holder = {
  pid: HOLDER,
  user: 'app',
  database: 'ledger',
  client: '127.0.0.1:41600',
  idleInTransaction: 18,
  waiting: 0,
  clientProcess: { pid: JOB, comm: 'settle-job', state: 'S' },
};

function backends(over: { waitUs?: number; idle?: unknown[] } = {}) {
  const waits = BACKENDS.map((pid) => byThread(pid, over.waitUs ?? 1_600_000, ROW_WAIT, 2));
  const idle = [HOLDER, ...BACKENDS].map((pid) => byThread(pid, 1_000_000, IDLE, 20));
  return offcpu([...waits, ...idle], { postgresBackends: { reads: 24, intervalMs: 250, backends: over.idle ?? [holder] } });
}

const side = (over: object) => ({ answers: 40, p99Ms: 800, waits: [], abandonedWaits: [], waitingWaits: [], ...over });
const spans = (n: number, ms: number) => Array.from({ length: n }, (_, i) => [1000 + i * 1000, ms]);
function answers() {
  const rows = [
    ...BACKENDS.map((pid) => side({ pid, comm: 'postgres', role: 'server', peer: '', port: 5432, waits: spans(2, 790) })),
    side({
      pid: 70,
      comm: 'ledger-api',
      role: 'client',
      peer: '127.0.0.1:5432',
      port: 5432,
      // Each debit waits for what is left of the job's transaction: no one duration.
      waits: [300, 520, 790, 410, 650, 700].map((ms, i) => [1000 + i * 1000, ms]),
      server: { pid: 400, comm: 'postgres', listener: '127.0.0.1:5432', workers: BACKENDS },
    }),
  ];
  return result('tcpresponse', { rows, answers: 200, recordMs: 50, totalRows: rows.length });
}

describe("PostgreSQL's lock waits", () => {
  it('lead: the backends that waited, the transaction left open that held the rows and its client; their slow answers and their client’s waits follow', () => {
    const findings = analyzeRun({ run: run({ symptom: 'latency' }), results: [on(backends()), on(answers())] });
    const top = findings[0]!;
    expect(top.capture).toBe('offcputime');
    expect(top.title).toMatch(
      /^postgres \(3 processes: pids 501, 502 and 503\) waited 4\.80 s \(80% of the 6 s window, summed over them\) for row locks other transactions held, 6 waits of ~800 ms each: /,
    );
    expect(top.title).toContain(
      'held by: postgres (pid 510, app@ledger) was idle in its transaction in 18 of 24 reads of its title (its client: settle-job (pid 90) at 127.0.0.1:41600)',
    );
    expect(top.evidence).toMatchObject({ waitingFor: 'row-lock', pids: BACKENDS, waitedMs: 4800, waits: 6 });
    const steps = (top.evidence.steps as { role: string; title: string }[]).map((s) => [s.role, s.title.slice(0, 60)]);
    expect(steps).toEqual([
      ['effect', 'postgres (pid 501) answered 2 of 40 requests on port 5432 on'],
      ['effect', 'ledger-api (pid 70) waited 3.37 s for answers from 127.0.0.1'],
    ]);
    // Its waits went in the database on this host: not told as a call that waits by design.
    expect((top.evidence.steps as { title: string }[])[1]!.title).toMatch(/; the time went in postgres \(pid 400\), on this host\.$/);
    // Idle backends (waiting for their next query on the same latch) are no finding of their own.
    expect(findings.filter((f) => f.capture === 'offcputime' && f !== top && f.severity !== 'info')).toEqual([]);
  });

  it('no backend seen idle in a transaction: the holder runs statements of its own', () => {
    const [top] = analyzeRun({ run: run({ symptom: 'latency' }), results: [on(backends({ idle: [] }))] });
    expect(top!.title).toContain('no backend was seen idle in a transaction (24 reads of their titles): the holder runs statements of its own');
  });

  it('a migration stuck behind a transaction, everything queued behind it: known by the titles alone (their waits never ended in the window)', () => {
    const waiting = (pid: number, statement: string, reads: number) => ({
      pid,
      user: 'app',
      database: 'ledger',
      client: '10.0.0.8:5100',
      idleInTransaction: 0,
      waiting: reads,
      waitingAtEnd: true,
      statement,
    });
    const titles = { reads: 24, intervalMs: 250, backends: [waiting(520, 'ALTER TABLE', 24), waiting(521, 'INSERT', 20), waiting(522, 'INSERT', 20), holder] };
    const [top] = analyzeRun({ run: run({ symptom: 'latency' }), results: [on(offcpu([], { postgresBackends: titles }))] });
    expect(top!.title).toMatch(
      /^postgres \(3 processes: pids 520, 521 and 522\) waited 16 s \(267% of the 6 s window, summed over them\) for table locks other transactions held or were waiting for, 3 waits of ~5\.33 s each \(3 still waiting at the end: INSERT ×2 and ALTER TABLE\): /,
    );
    expect(top!.title).toContain('the waiting one; first in that queue: its ALTER TABLE (pid 520); held by: postgres (pid 510');
    expect(top!.title).toContain('next: cancel the ALTER TABLE (SELECT pg_cancel_backend(520)) and run it again with a short lock_timeout');
    expect(top!.evidence).toMatchObject({ waitingFor: 'table-lock', waitedMs: 16_000, pids: [520, 521, 522] });
  });

  it('a backend whose waits ended in the window and one still going on: counted once, the longer of the two', () => {
    const still = { ...holder, pid: 501, idleInTransaction: 0, waiting: 20, waitingAtEnd: true, statement: 'UPDATE' };
    const [top] = analyzeRun({ run: run({ symptom: 'latency' }), results: [on(backends({ idle: [holder, still] }))] });
    // 501: 1.6 s seen ending, 5 s waiting by its title; 502 and 503 as their stacks say.
    expect(top!.evidence).toMatchObject({ waitingFor: 'row-lock', waitedMs: 8200, waits: 6, stillWaiting: [{ pid: 501, statement: 'UPDATE' }] });
  });

  it('no backend idle in a transaction: one running a statement read after read is the likely holder; one seldom running is not', () => {
    const runner = (pid: number, running: number, comm: string) => ({
      ...holder,
      pid,
      idleInTransaction: 0,
      running,
      runningStatement: 'UPDATE',
      clientProcess: { pid: pid - 400, comm, state: 'R' },
    });
    const [top] = analyzeRun({ run: run({ symptom: 'latency' }), results: [on(backends({ idle: [runner(530, 22, 'batch-job'), runner(531, 5, 'cron')] }))] });
    expect(top!.title).toContain(
      'no backend was seen idle in a transaction; running a statement all along, the likely holder (a long UPDATE, a batch, a migration holds what it locked until its transaction ends): postgres (pid 530, app@ledger) running UPDATE in 22 of 24 reads of its title (its client: batch-job (pid 130) at 127.0.0.1:41600); next: keep transactions',
    );
    expect(top!.title).not.toContain('pid 531');
  });

  it('commits waiting for a stopped synchronous standby: the stopped receiver leads, the commit waits its effect, the updates queued behind it theirs', () => {
    const RECEIVER = 600;
    const committing = { ...holder, pid: 501, idleInTransaction: 0, syncWaiting: 24, waitingAtEnd: true, statement: 'UPDATE', clientProcess: undefined };
    const queued = (pid: number) => ({ ...holder, pid, idleInTransaction: 0, waiting: 24, waitingAtEnd: true, statement: 'UPDATE', clientProcess: undefined });
    const titles = {
      reads: 24,
      intervalMs: 250,
      backends: [committing, queued(502), queued(503)],
      standbys: [{ pid: 590, client: '127.0.0.1:55850', activity: 'streaming 0/3024D08', receiver: { pid: RECEIVER, comm: 'postgres', state: 'T' } }],
    };
    const stopped = { pid: RECEIVER, comm: 'postgres', frames: [user('main', 'postgres'), kernel('do_signal_stop')], value: 6_000_000, blocks: 1 };
    const findings = analyzeRun({ run: run({ symptom: 'latency' }), results: [on(offcpu([stopped], { postgresBackends: titles }))] });
    const top = findings[0]!;
    expect(top.title).toMatch(/^postgres \(pid 600\) spent 6\.00 s .* stopped by a signal/);
    expect(top.title).toMatch(
      /\. Effect: postgres \(pid 501\) waited 6\.00 s .* for its synchronous standby to confirm its commits, .*; its standbys: walsender \(pid 590\) streaming 0\/3024D08 to 127\.0\.0\.1:55850 \(postgres \(pid 600\) there, stopped \(SIGSTOP or job control\) at the end\)\. Effect: postgres \(2 processes: pids 502 and 503\) waited 12 s .* held by: postgres \(pid 501, app@ledger\), its UPDATE waiting for its synchronous standby/,
    );
    expect(findings.filter((f) => f.severity !== 'info')).toEqual([top]);
  });

  it('waits under 5% of the window are no finding', () => {
    const findings = analyzeRun({ run: run({ symptom: 'latency' }), results: [on(backends({ waitUs: (WINDOW_MS * 1000 * 0.04) / 3 }))] });
    expect(findings.filter((f) => f.capture === 'offcputime')).toEqual([]);
  });

  it('tells its waits by their frames: row, table, a synchronous standby, and idle', () => {
    const kinds = (...callers: string[]) => databaseWaitOf(waitingIn(...callers))?.id;
    expect(kinds('heap_update', 'XactLockTableWait', 'LockAcquireExtended', 'ProcSleep')).toBe('row-lock');
    expect(kinds('heap_lock_tuple', 'LockTuple', 'LockAcquireExtended', 'ProcSleep')).toBe('row-lock');
    expect(kinds('parserOpenTable', 'LockRelationOid', 'LockAcquireExtended', 'ProcSleep')).toBe('table-lock');
    expect(kinds('pg_advisory_lock_int8', 'LockAcquireExtended', 'ProcSleep')).toBe('advisory-lock');
    expect(kinds('CommitTransaction', 'RecordTransactionCommit', 'SyncRepWaitForLSN')).toBe('sync-standby');
    expect(kinds('pq_getbyte', 'secure_read')).toBeUndefined();
    expect(kinds('pg_sleep')).toBeUndefined();
  });
});

describe("a backend's process title", () => {
  it('reads its user, database, client and activity', () => {
    expect(parseTitle('postgres: app ledger 10.0.0.7(53776) idle in transaction\0\0')).toEqual({
      user: 'app',
      database: 'ledger',
      client: '10.0.0.7:53776',
      activity: 'idle in transaction',
    });
    expect(parseTitle('postgres: 15/main: app ledger [local] UPDATE waiting   ')?.client).toBe('[local]');
    expect(parseTitle('postgres: app ledger ::1(40022) idle in transaction (aborted)')).toMatchObject({
      client: '[::1]:40022',
      activity: 'idle in transaction (aborted)',
    });
    expect(parseTitle('postgres: walsender replicator 10.0.0.9(60190) streaming 0/40012D8')).toEqual({
      user: 'walsender',
      database: 'replicator',
      client: '10.0.0.9:60190',
      activity: 'streaming 0/40012D8',
    });
    // Helpers name no client, with a cluster_name or not.
    expect(parseTitle('postgres: primary: logical replication launcher')).toBeUndefined();
    expect(parseTitle('postgres: standby: startup recovering 000000010000000000000003')).toBeUndefined();
    expect(parseTitle('postgres: parallel worker for PID 1234')).toBeUndefined();
    expect(parseTitle('postgres: checkpointer ')).toBeUndefined();
    expect(parseTitle('/usr/lib/postgresql/15/bin/postgres -D /var/lib/postgresql/15/main')).toBeUndefined();
  });
});
