// The stack outputs of a profile or offcputime result, rendered on demand.
//
// Choice: a result holds only its stacks (StackSample[], which is what every
// output is made from) and never the rendered outputs. A flame graph SVG or
// a speedscope file is several times the size of the stacks, pprof is binary
// (gzip) and would not survive JSON, and most callers want one format, not
// four. The report layer calls renderStackOutput(result, format) — or
// renderStackOutputs(result) for all four — when it writes the bundle.
import { toFlameGraphSvg, toFolded, toPprof, toSpeedscope } from '../../stacks/index.js';
import type { StackProfile } from '../../stacks/types.js';
import type { CaptureFile } from '../capture.js';
import type { StackData } from './stack-capture.js';

export type StackOutputFormat = 'folded' | 'pprof' | 'svg' | 'speedscope';

export const STACK_OUTPUT_FORMATS: readonly StackOutputFormat[] = ['folded', 'pprof', 'svg', 'speedscope'];

/** File name extension and media type of each output, for bundles and HTTP. */
export const stackOutputFiles: Record<StackOutputFormat, { extension: string; contentType: string }> = {
  folded: { extension: 'folded.txt', contentType: 'text/plain; charset=utf-8' },
  pprof: { extension: 'pb.gz', contentType: 'application/octet-stream' },
  svg: { extension: 'svg', contentType: 'image/svg+xml' },
  speedscope: { extension: 'speedscope.json', contentType: 'application/json' },
};

/** What the outputs read from a result: its stacks, and its run metadata when present. */
export type StackResult = StackData & {
  capture?: string;
  target?: string;
  startedAt?: string;
  durationMs?: number;
};

/** The StackProfile the writers take (the samples are the result's stacks, not copies). */
export function stackProfileOf(data: StackData): StackProfile {
  return {
    sampleType: data.sampleType,
    ...(data.periodNs !== undefined ? { periodNs: data.periodNs } : {}),
    samples: data.stacks,
  };
}

export interface StackOutputOptions {
  /** Keep processes of the same name apart ("comm-pid" roots). Default true. */
  includePid?: boolean;
  /** Flame graph title (default from the capture, target and sample type). */
  title?: string;
}

/** One output: text formats as a string, pprof as a gzipped Buffer. */
export function renderStackOutput(data: StackResult, format: 'pprof', options?: StackOutputOptions): Buffer;
export function renderStackOutput(data: StackResult, format: Exclude<StackOutputFormat, 'pprof'>, options?: StackOutputOptions): string;
export function renderStackOutput(data: StackResult, format: StackOutputFormat, options?: StackOutputOptions): string | Buffer;
export function renderStackOutput(data: StackResult, format: StackOutputFormat, options: StackOutputOptions = {}): string | Buffer {
  const profile = stackProfileOf(data);
  const includePid = options.includePid ?? true;
  switch (format) {
    case 'folded':
      return toFolded(profile, { includePid });
    case 'pprof':
      return toPprof(profile, pprofOptions(data));
    case 'svg':
      return toFlameGraphSvg(profile, { includePid, title: options.title ?? titleOf(data) });
    case 'speedscope':
      return toSpeedscope(profile, { includePid, name: titleOf(data) });
  }
}

/** All four outputs. */
export function renderStackOutputs(data: StackResult, options: StackOutputOptions = {}): { folded: string; pprof: Buffer; svg: string; speedscope: string } {
  return {
    folded: renderStackOutput(data, 'folded', options),
    pprof: renderStackOutput(data, 'pprof', options),
    svg: renderStackOutput(data, 'svg', options),
    speedscope: renderStackOutput(data, 'speedscope', options),
  };
}

function titleOf(data: StackResult): string {
  const what = data.sampleType.type === 'off-cpu' ? 'Off-CPU time' : 'CPU samples';
  const rate = data.periodNs ? ` at ${Math.round(1e9 / data.periodNs)} Hz` : '';
  return [data.capture, `${what}${rate}`, data.target].filter(Boolean).join(' · ');
}

function pprofOptions(data: StackResult) {
  const started = data.startedAt ? Date.parse(data.startedAt) : NaN;
  return {
    ...(Number.isFinite(started) ? { timeNanos: BigInt(started) * 1_000_000n } : {}),
    ...(data.durationMs !== undefined ? { durationNanos: Math.round(data.durationMs * 1e6) } : {}),
    comments: [data.capture, data.target && `target: ${data.target}`].filter((c): c is string => Boolean(c)),
  };
}

/** The four outputs as files named after the capture: profile.svg, profile.pb.gz, ... */
export function stackFiles(result: StackResult & { capture: string }): CaptureFile[] {
  const outputs = renderStackOutputs(result);
  return STACK_OUTPUT_FORMATS.map((format) => ({
    name: `${result.capture}.${stackOutputFiles[format].extension}`,
    contentType: stackOutputFiles[format].contentType,
    content: outputs[format],
  }));
}
