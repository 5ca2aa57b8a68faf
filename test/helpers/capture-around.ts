// Runs a capture around what a test does: `during` starts once the capture is
// live (probes attached), and the capture stops `settleMs` after it settles
// (time for the last events to drain). The BPF program ids seen while live
// let a test check they are all gone afterwards.
import type { CaptureDefinition } from '../../src/captures/capture.js';
import { runCapture, type CaptureRequest } from '../../src/captures/run-capture.js';
import { bpfHandlesOf } from './kernel.js';

export interface CaptureAroundOptions extends Partial<CaptureRequest> {
  /** How long after `during` settles the capture is stopped (default 50 ms). */
  settleMs?: number;
}

export async function captureAround<P, D, T = void>(def: CaptureDefinition<P, D>, during: () => Promise<T>, options: CaptureAroundOptions = {}) {
  const { settleMs = 50, ...request } = options;
  const controller = new AbortController();
  let programIds: number[] = [];
  let value: T | undefined;
  let failure: unknown;
  const result = await runCapture(def, {
    durationMs: 30_000, // a bound only: `during` ends the capture
    signal: controller.signal,
    ...request,
    onLive: () => {
      programIds = bpfHandlesOf().programIds;
      during()
        .then((v) => (value = v))
        .catch((err) => (failure = err))
        .finally(() => setTimeout(() => controller.abort(), settleMs));
    },
  });
  if (failure) throw failure;
  return { result, programIds, value: value as T };
}
