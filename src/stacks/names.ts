// Frame names as the stack outputs print them. Process roots are "comm" or
// "comm-pid"; names never contain line breaks (symbols from corrupt or hostile
// binaries may).
import type { StackSample } from './types.js';

/** Line breaks and other control characters become spaces. */
export function cleanName(name: string): string {
  // eslint-disable-next-line no-control-regex
  return /[\u0000-\u001f\u007f]/.test(name) ? name.replace(/[\u0000-\u001f\u007f]/g, ' ') : name;
}

/** The root frame a sample is drawn under: its process. */
export function processName(sample: StackSample, includePid: boolean): string {
  const comm = cleanName(sample.comm || '?');
  return includePid ? `${comm}-${sample.pid}` : comm;
}

/** Sum of the values of all samples. */
export function totalValue(samples: readonly StackSample[]): number {
  let total = 0;
  for (const s of samples) total += s.value;
  return total;
}
