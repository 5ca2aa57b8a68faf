// Every capture Sherlock can run: one line each. The CLI, API, runbooks and
// reports find captures here and nowhere else.
import type { CaptureDefinition } from './capture.js';
import { execsnoop } from './execsnoop/index.js';

const definitions: CaptureDefinition<any, any>[] = [
  execsnoop,
];

export const captures: ReadonlyMap<string, CaptureDefinition<any, any>> = new Map(definitions.map((d) => [d.name, d]));

export function captureNames(): string[] {
  return [...captures.keys()];
}
