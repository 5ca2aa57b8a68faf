// `load` in the Sherlock config file: what one run may cost and how much the
// API takes on, each a named setting with its default (README, "Limits").
import { z } from 'zod';
import { DEFAULT_CPU_BUDGET_PERCENT } from '../model/limits.js';
import { readYamlFile } from './config-file.js';
import { strictObject } from './zod-text.js';

export interface LoadLimits {
  /** Each capture's BPF CPU budget when neither the run nor its runbook sets one (percent of one CPU). */
  cpuBudgetPercent: number;
  /** The most a run or runbook may set (percent of one CPU). */
  maxCpuBudgetPercent: number;
}

export const DEFAULT_LOAD_LIMITS: LoadLimits = { cpuBudgetPercent: DEFAULT_CPU_BUDGET_PERCENT, maxCpuBudgetPercent: 25 };

const percent = (what: string) => z.number().gt(0, `${what} must be above 0`).max(100, `${what} is at most 100 (one whole CPU)`);

export const loadLimitsSchema = strictObject({
  cpuBudgetPercent: percent('cpuBudgetPercent').default(DEFAULT_LOAD_LIMITS.cpuBudgetPercent),
  maxCpuBudgetPercent: percent('maxCpuBudgetPercent').default(DEFAULT_LOAD_LIMITS.maxCpuBudgetPercent),
}).superRefine((l, ctx) => {
  if (l.cpuBudgetPercent > l.maxCpuBudgetPercent) {
    ctx.addIssue({ code: 'custom', path: ['cpuBudgetPercent'], message: `cpuBudgetPercent ${l.cpuBudgetPercent} is above maxCpuBudgetPercent ${l.maxCpuBudgetPercent}` });
  }
});

/** The file's `load` section (checked with the rest of the file at start), else the defaults. */
export function loadLimitsFrom(file: string | undefined): LoadLimits {
  const read = file ? readYamlFile(file) : undefined;
  const section = read?.ok ? (read.doc as { load?: unknown } | null)?.load : undefined;
  const parsed = loadLimitsSchema.safeParse(section ?? {});
  return parsed.success ? parsed.data : DEFAULT_LOAD_LIMITS;
}
