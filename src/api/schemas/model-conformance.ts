// Compile-time checks that the values the routes send (the model's types) are
// what the reply schemas promise: a field whose type changes in src/model/
// without its schema fails `tsc`. (A field added to the model and not to its
// schema is caught at run time by test/api/responses.test.ts: replies are closed.)
import type { z } from 'zod';
import type { AuditEntry as AuditEntryModel } from '../../core/audit.js';
import type { TokenRecord as TokenModel } from '../../core/tokens.js';
import type { BaselineComparison as ComparisonModel } from '../../model/baseline.js';
import type { Finding as FindingModel } from '../../model/findings.js';
import type { RunRecord } from '../../model/run.js';
import type { NodeInfo as NodeModel } from '../../nodes/registry.js';
import type { ScheduleView } from '../../queue/schedules.js';
import type { AuditEntry, Schedule, TokenRecord } from './admin.js';
import type { NodeInfo } from './catalog.js';
import type { BaselineComparison, Finding, RunRecordSchema } from './runs.js';

type Conforms<Model, Schema extends z.ZodType> = Model extends z.output<Schema> ? true : false;
const conforms = <T extends true>(): T | undefined => undefined;

export const checked = [
  conforms<Conforms<RunRecord, typeof RunRecordSchema>>(),
  conforms<Conforms<FindingModel, typeof Finding>>(),
  conforms<Conforms<ComparisonModel, typeof BaselineComparison>>(),
  conforms<Conforms<NodeModel, typeof NodeInfo>>(),
  conforms<Conforms<TokenModel, typeof TokenRecord>>(),
  conforms<Conforms<AuditEntryModel, typeof AuditEntry>>(),
  conforms<Conforms<ScheduleView, typeof Schedule>>(),
];
