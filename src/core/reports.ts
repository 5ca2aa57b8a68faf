// Reports of ended runs: the .tar.gz bundle and the HTML page alone, both
// streamed, both audited as downloads like artifacts.
import type { RedisClient } from '../redis/connection.js';
import { createReportBundle, type ReportBundle } from '../report/bundle.js';
import { reportHtmlChunks } from '../report/html/document.js';
import { prepareReport } from '../report/model.js';
import { redisArtifactSource, type FindingsLoader } from '../report/source.js';
import type { RunStore } from '../runs/store.js';
import type { AuditLog } from './audit.js';
import type { RunService } from './runs.js';

export interface ReportServiceOptions {
  redis: RedisClient;
  store: Pick<RunStore, 'getFindings' | 'getBaselineComparison'>;
  runs: Pick<RunService, 'finished'>;
  audit: AuditLog;
  /** Findings of a run; by default the run store's (stored by analysis when the run ended). */
  loadFindings?: FindingsLoader;
}

export type ReportService = ReturnType<typeof createReportService>;

export function createReportService({ redis, store, runs, audit, loadFindings = (id) => store.getFindings(id) }: ReportServiceOptions) {
  const loadBaseline = (id: string) => store.getBaselineComparison(id);
  return {
    /** The bundle sherlock-<id>.tar.gz of an ended run (Conflict while it runs). */
    async bundle(id: string, actor: string): Promise<ReportBundle> {
      const run = await runs.finished(id);
      const bundle = await createReportBundle({ redis, run, loadFindings, loadBaseline });
      await audit.record({ actor, action: 'report.download', subject: run.id, details: { file: bundle.filename } });
      return bundle;
    },

    /** report.html of an ended run, as text chunks, its files not linked (there is no bundle beside it). */
    async page(id: string, actor: string): Promise<AsyncIterable<string>> {
      const run = await runs.finished(id);
      const ctx = await prepareReport({ run, source: redisArtifactSource(redis, run.id), loadFindings, loadBaseline });
      await audit.record({ actor, action: 'report.download', subject: run.id, details: { file: 'report.html' } });
      return reportHtmlChunks(ctx, { linkFiles: false });
    },
  };
}
