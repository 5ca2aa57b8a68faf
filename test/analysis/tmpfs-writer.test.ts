// A tmpfs filling up (fsfill) and who wrote to it (filetop's writers per
// filesystem), from results built here: the writer leads with the tmpfs as its
// effect, though no one file it wrote is hot; without filetop, or with writes
// only to other filesystems, the tmpfs finding leads as it did.
import { describe, expect, it } from 'vitest';
import { analyzeRun } from '../../src/runs/analyze-run.js';
import { on, result, run, WINDOW_MS } from './fixtures.js';

const MiB = 1024 * 1024;
const MOUNT = '/run/exports';
const DEVICE = '0:77';

// 240 MiB in 6 s into a 920 MiB tmpfs, 440 MiB used at the end: full in ~12 s.
const fsfill = result('fsfill', {
  rows: [
    {
      mount: MOUNT,
      kind: 'tmpfs',
      fstype: 'tmpfs',
      source: 'tmpfs',
      device: DEVICE,
      sizeBytes: 920 * MiB,
      availableBytes: 480 * MiB,
      firstBytes: 200 * MiB,
      lastBytes: 440 * MiB,
      peakBytes: 440 * MiB,
      growthBytes: 240 * MiB,
      seconds: WINDOW_MS / 1000,
      samples: 7,
      rises: 6,
      falls: 0,
    },
  ],
  filesystems: 4,
  intervalMs: 1000,
  hostAvailableBytes: 16 * 1024 * MiB,
});

/** 30 export files of 8 MiB by export-job under the tmpfs, a log by logger there too, and a disk writer elsewhere. */
const filetopRows = [
  ...Array.from({ length: 30 }, (_, i) => ({
    pid: 40,
    comm: 'export-job',
    path: `${MOUNT}/2026-12-06/export-${i}.csv`,
    kind: 'file',
    readBytes: 0,
    writeBytes: 8 * MiB,
    reads: 0,
    writes: 1,
    dev: DEVICE,
    inode: String(1000 + i),
  })),
  { pid: 41, comm: 'logger', path: `${MOUNT}/log.txt`, kind: 'file', readBytes: 0, writeBytes: 20 * MiB, reads: 0, writes: 900, dev: DEVICE, inode: '7' },
  { pid: 50, comm: 'backup', path: '/var/backups/db.tar', kind: 'file', readBytes: 0, writeBytes: 600 * MiB, reads: 0, writes: 600, dev: '254:1', inode: '9' },
];
const filetop = (rows: unknown[]) => result('filetop', { rows, totalFiles: rows.length });

describe('a tmpfs filling: who wrote to it', () => {
  it('the process that wrote most to its filesystem leads, with the tmpfs running out as its effect', () => {
    const findings = analyzeRun({ run: run(), results: [on(fsfill), on(filetop(filetopRows))] });
    const top = findings[0]!;
    expect(top.severity).toBe('critical');
    expect(top.evidence).toMatchObject({ pid: 40, comm: 'export-job', device: DEVICE, files: 30, writeBytes: 240 * MiB });
    expect(top.title).toMatch(
      /^export-job \(pid 40\) wrote 240 MiB to 30 files under \/run\/exports\/2026-12-06 over 6 s \(40 MiB\/s, 92% of the writes to that filesystem\); the rest by logger \(pid 41\) 7.7%\. Effect: tmpfs \/run\/exports on web-1 filled by 240 MiB/,
    );
    expect(top.title).toContain('at this rate it is full in ~12 s, and writes to it then fail with ENOSPC');
    const [step] = top.evidence.steps as { capture: string; evidence: { secondsLeft?: number } }[];
    expect(step).toMatchObject({ capture: 'fsfill', evidence: { secondsLeft: 12 } });
    // The disk writer elsewhere is no finding of its own: a writer is told only as a cause.
    expect(findings.some((f) => f.evidence.comm === 'backup' && f.id.includes('writer:'))).toBe(false);
  });

  it('without filetop, or with writes only to other filesystems, the tmpfs finding leads', () => {
    for (const results of [[on(fsfill)], [on(fsfill), on(filetop(filetopRows.filter((r) => r.dev !== DEVICE)))]]) {
      const [top] = analyzeRun({ run: run(), results });
      expect(top!.title).toMatch(/^tmpfs \/run\/exports on web-1 filled by 240 MiB in 6 s/);
      expect(top!.severity).toBe('critical');
    }
  });
});
