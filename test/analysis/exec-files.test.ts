// Exec and file findings from results built here: exec storms per parent,
// failed execs, short-lived failing processes, hot files, block I/O p99.
import { describe, expect, it } from 'vitest';
import { analyzeRun } from '../../src/runs/analyze-run.js';
import { fmtUs } from '../../src/format/index.js';
import { expectedQuantile, histogram, on, result, run } from './fixtures.js';

let nextPid = 1000;
function exec(fields: Record<string, unknown>) {
  const pid = nextPid++;
  return {
    time: '2026-01-01T00:00:01.000Z',
    pid,
    tid: pid,
    ppid: 50,
    uid: 0,
    comm: 'true',
    pcomm: 'bash',
    filename: '/usr/bin/true',
    argv: ['true'],
    argsTruncated: false,
    retval: 0,
    cgroupId: '1',
    ...fields,
  };
}
const execsnoop = (events: unknown[]) => result('execsnoop', { events });

describe('execsnoop', () => {
  it('an exec storm: rate per parent over the threshold, with what it runs', () => {
    const events = [
      ...Array.from({ length: 180 }, () => exec({ comm: 'curl', filename: '/usr/bin/curl', argv: ['curl', '-s', 'http://x'] })),
      ...Array.from({ length: 60 }, () => exec({})),
      ...Array.from({ length: 5 }, () => exec({ ppid: 1, pcomm: 'systemd' })),
    ];
    const [top] = analyzeRun({ run: run(), results: [on(execsnoop(events))] });
    expect(top!.severity).toBe('warning'); // 240 × ~1 ms of fork + exec in 6 s: 0.04 s/s, under 0.5
    expect(top!.title).toBe(
      'bash (pid 50) started 240 processes in 6 s (40/s, threshold 20/s), mostly curl and true: an exec storm costs CPU and fork/exec latency; next: what bash loops over (its execsnoop.ndjson rows with ppid 50).',
    );
    expect(top!.impact).toMatchObject({ unit: 's/s', value: 0.04, bears: ['cpu', 'latency'] });
    expect(top!.evidence).toMatchObject({ ppid: 50, execs: 240, perSecond: 40, programs: { curl: 180, true: 60 } });
  });

  it('failed execs, and processes that keep exiting with an error', () => {
    const events = [
      ...Array.from({ length: 4 }, () =>
        exec({ comm: 'cron', pcomm: 'cron', ppid: 9, filename: '/opt/job.sh', argv: ['/opt/job.sh'], retval: -2, error: 'ENOENT' }),
      ),
      ...Array.from({ length: 5 }, () =>
        exec({ comm: 'check', pcomm: 'bash', filename: '/usr/local/bin/check', argv: ['check', '--db'], exitCode: 1, lifetimeMs: 12.5 }),
      ),
      exec({ comm: 'ok', filename: '/usr/bin/ok', exitCode: 0, lifetimeMs: 3 }),
    ];
    const findings = analyzeRun({ run: run(), results: [on(execsnoop(events))] });
    const failed = findings.find((f) => f.id.includes('failed-exec'))!;
    expect(failed.title).toBe('4 execs of /opt/job.sh failed with ENOENT in 6 s (threshold 3), from cron (pid 9).');
    const failing = findings.find((f) => f.id.includes('failing:'))!;
    expect(failing.title).toBe('/usr/local/bin/check exited with code 1 5 times in 6 s (threshold 3), each after 12.5 ms or less, started by bash (pid 50).');
    // 4 failed execs and 5 short failing runs cost ~0.01 s a second: worth knowing, not a warning.
    expect(failed.severity).toBe('info');
    expect(failing.severity).toBe('info');
    expect(failing.impact).toMatchObject({ unit: 's/s', value: round4((5 * 12.5) / 1000 / 6) });
  });

  it('a quiet host: no problems, execs counted', () => {
    const findings = analyzeRun({ run: run(), results: [on(execsnoop([exec({}), exec({})]))] });
    expect(findings.map((f) => f.title)).toEqual(['No problems found on web-1: checked execs.']);
    expect((findings[0]!.evidence.checked as { what: string }[])[0]!.what).toBe('execs (2 execs, 0 failed)');
  });
});

describe('filetop and biolatency', () => {
  it('a hot file per process in bytes per second; sockets are left to the network captures', () => {
    const MiB = 1024 * 1024;
    const rows = [
      {
        pid: 7,
        comm: 'postgres',
        path: '/var/lib/pg/base/1',
        kind: 'file',
        reads: 5000,
        writes: 0,
        readBytes: 300 * MiB,
        writeBytes: 0,
        dev: '8:1',
        inode: '1',
      },
      { pid: 8, comm: 'nginx', path: 'socket:[123]', kind: 'socket', reads: 1, writes: 9, readBytes: 0, writeBytes: 900 * MiB, dev: '0:8', inode: '123' },
      { pid: 9, comm: 'logger', path: '/var/log/app.log', kind: 'file', reads: 0, writes: 10, readBytes: 0, writeBytes: MiB, dev: '8:1', inode: '2' },
    ];
    const findings = analyzeRun({ run: run(), results: [on(result('filetop', { rows, totalFiles: 3 }))] });
    expect(findings).toHaveLength(1);
    expect(findings[0]!.severity).toBe('critical'); // 50 MiB/s: half a nominal 100 MiB/s disk's time
    expect(findings[0]!.title).toBe(
      "postgres (pid 7) read /var/lib/pg/base/1 at 50 MiB/s (threshold 20 MiB/s): 300 MiB read in 5,000 calls, 0 B written in 0 calls over 6 s; next: why postgres reads it this fast (its code path, or a loop), and the disk's latency (disk-io).",
    );
    expect(findings[0]!.impact).toMatchObject({ unit: 's/s', value: 0.5, bears: ['disk'] });
  });

  it('block I/O p99 per disk', () => {
    const slots = { 9: 95, 17: 5 }; // 5% at 131..262 ms
    const r = result('biolatency', {
      histograms: [
        { labels: { disk: 'vda' }, histogram: histogram(slots) },
        { labels: { disk: 'vdb' }, histogram: histogram({ 9: 50 }) },
      ],
    });
    const findings = analyzeRun({ run: run(), results: [on(r)] });
    expect(findings).toHaveLength(1);
    expect(findings[0]!.title).toBe(
      `Block I/O on vda takes ${fmtUs(expectedQuantile(slots, 0.99))} at p99 (threshold 50 ms) over 100 I/Os, median ${fmtUs(expectedQuantile(slots, 0.5))}: the disk is slow or saturated.`,
    );
  });
});

const round4 = (n: number) => Math.round(n * 1e4) / 1e4;
