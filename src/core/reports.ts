// Reports of ended runs: the .tar.gz bundle and the HTML page alone, both
// streamed, both audited as downloads like artifacts.
import { Readable } from 'node:stream';
import type { RedisClient } from '../redis/connection.js';
import { createReportBundle, type BundleStats, type ReportBundle } from '../report/bundle.js';
import { reportHtmlChunks } from '../report/html/document.js';
import { prepareReport } from '../report/model.js';
import { redisArtifactSource, type FindingsLoader } from '../report/source.js';
import type { RunStore } from '../runs/store.js';
import type { AuditLog } from './audit.js';
import type { RunService } from './runs.js';
import { DownloadSlots } from './download-slots.js';
import { DEFAULT_MAX_CONCURRENT_DOWNLOADS, DEFAULT_REPORT_PARSE_MIB, DEFAULT_REPORT_SPOOL_MIB } from '../model/limits.js';
import { ByteBudget } from '../util/byte-budget.js';

/**
 * Weight of the results drawn at once for report pages, over all downloads of
 * this process: each weighs the JSON it keeps parsed (at most
 * load.reportParseMiB) plus, for stacks, its flame digest; a heavier one is
 * drawn alone.
 */
export const RESULT_BYTES_DRAWN_AT_ONCE = 16 * 1024 * 1024;

export interface ReportServiceOptions {
  redis: RedisClient;
  store: Pick<RunStore, 'getFindings' | 'getBaselineComparison'>;
  runs: Pick<RunService, 'finished'>;
  audit: AuditLog;
  /** Findings of a run; by default the run store's (stored by analysis when the run ended). */
  loadFindings?: FindingsLoader;
  /** Report downloads streamed at once; beyond, TooBusy (default DEFAULT_MAX_CONCURRENT_DOWNLOADS). */
  maxConcurrentDownloads?: number;
  /** JSON text of one capture result kept parsed while drawing (load.reportParseMiB). */
  parseBytes?: number;
  /** Compressed report.html one bundle download holds (load.reportSpoolMiB). */
  spoolBytes?: number;
}

/** What report drawing held at most so far in this process (tests, benchmarks). */
export interface ReportMemoryFigures {
  /** JSON text kept parsed for one capture result. */
  keptBytes: number;
  /** The largest single text (a member or an array element) held while reading a result. */
  largestText: number;
  /** Result gate: weights held at once, and its budget. */
  gateHeld: number;
  gateBudget: number;
  /** Compressed report.html held by one download. */
  spoolBytes: number;
}

export type ReportService = ReturnType<typeof createReportService>;

export function createReportService({
  redis,
  store,
  runs,
  audit,
  loadFindings = (id) => store.getFindings(id),
  maxConcurrentDownloads = DEFAULT_MAX_CONCURRENT_DOWNLOADS,
  parseBytes = DEFAULT_REPORT_PARSE_MIB * 1024 * 1024,
  spoolBytes = DEFAULT_REPORT_SPOOL_MIB * 1024 * 1024,
}: ReportServiceOptions) {
  const loadBaseline = (id: string) => store.getBaselineComparison(id);
  const slots = new DownloadSlots(maxConcurrentDownloads);
  // However many downloads stream, this bounds the capture results parsed at once (memory).
  const resultGate = new ByteBudget(RESULT_BYTES_DRAWN_AT_ONCE);
  const held: ReportMemoryFigures = { keptBytes: 0, largestText: 0, gateHeld: 0, gateBudget: resultGate.budget, spoolBytes: 0 };
  const note = (stats: Pick<BundleStats, 'keptBytes' | 'largestText'> & { spoolBytes?: number }) => {
    held.keptBytes = Math.max(held.keptBytes, stats.keptBytes);
    held.largestText = Math.max(held.largestText, stats.largestText);
    held.spoolBytes = Math.max(held.spoolBytes, stats.spoolBytes ?? 0);
  };
  /** Runs `start` holding a slot until the stream it returns closes (ended, failed or abandoned by its reader). */
  const holdingSlot = async <T extends { stream: Readable }>(start: () => Promise<T>): Promise<T> => {
    const release = slots.take();
    try {
      const started = await start();
      started.stream.once('close', release);
      if (started.stream.destroyed) release();
      return started;
    } catch (err) {
      release();
      throw err;
    }
  };
  return {
    slots,

    /** The most report drawing held at once so far. */
    memory(): ReportMemoryFigures {
      return { ...held, gateHeld: resultGate.peakHeld };
    },

    /** The bundle sherlock-<id>.tar.gz of an ended run (Conflict while it runs, TooBusy past the download limit). */
    bundle(id: string, actor: string): Promise<ReportBundle> {
      return holdingSlot(async () => {
        const run = await runs.finished(id);
        const bundle = await createReportBundle({ redis, run, loadFindings, loadBaseline, resultGate, keepBytes: parseBytes, htmlSpoolBytes: spoolBytes });
        bundle.done.then(note, () => {});
        await audit.record({ actor, action: 'report.download', subject: run.id, details: { file: bundle.filename } });
        return bundle;
      });
    },

    /** report.html of an ended run, streamed as bytes, its files not linked (there is no bundle beside it). */
    page(id: string, actor: string): Promise<{ stream: Readable }> {
      return holdingSlot(async () => {
        const run = await runs.finished(id);
        const ctx = await prepareReport({ run, source: redisArtifactSource(redis, run.id), loadFindings, loadBaseline, resultGate, keepBytes: parseBytes });
        await audit.record({ actor, action: 'report.download', subject: run.id, details: { file: 'report.html' } });
        const chunks = reportHtmlChunks(ctx, { linkFiles: false });
        const stream = Readable.from(
          (async function* () {
            for await (const chunk of chunks) yield Buffer.from(chunk);
          })(),
        );
        stream.on('error', () => {}); // a reader that hangs up destroys it
        stream.once('close', () => note(ctx.parsed));
        return { stream };
      });
    },
  };
}
