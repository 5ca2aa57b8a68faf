// The live BPF cost guard: the run time of a capture's programs (counted by
// them, sampled: run-time-sampler.ts), checked every second, as a share of one CPU over that second. A capture
// over its budget is detached by run-capture at once; the others go on.
import type { CaptureStop } from '../model/run.js';
import { elapsedMs, monoNow } from '../util/clock.js';
import type { RunTimeMeter } from './run-time-sampler.js';

export class CpuBudgetMeter {
  private lastNs = 0n;
  private lastAt = monoNow();
  private readonly liveAt = monoNow();

  constructor(
    private readonly runTime: RunTimeMeter,
    readonly budgetPercent: number,
  ) {
    this.lastNs = this.runTimeNs();
  }

  /** The stop to record if the last interval cost more than the budget; undefined while within it. */
  sample(): CaptureStop | undefined {
    const ns = this.runTimeNs();
    const wallMs = elapsedMs(this.lastAt);
    const spentNs = Number(ns - this.lastNs);
    this.lastNs = ns;
    this.lastAt = monoNow();
    if (wallMs <= 0) return undefined;
    const cpuPercent = (spentNs / (wallMs * 1e6)) * 100;
    if (cpuPercent <= this.budgetPercent) return undefined;
    const afterMs = Math.round(elapsedMs(this.liveAt));
    const rounded = Math.round(cpuPercent * 100) / 100;
    return {
      reason: 'cpu-budget',
      cpuPercent: rounded,
      budgetPercent: this.budgetPercent,
      afterMs,
      message: `detached after ${(afterMs / 1000).toFixed(1)} s: its BPF programs cost ${rounded}% of a CPU, over the ${this.budgetPercent}% budget`,
    };
  }

  private runTimeNs(): bigint {
    return BigInt(Math.round(this.runTime.estimate().ns));
  }
}
