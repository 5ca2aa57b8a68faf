// Events as NDJSON, one record a line: what log tools and `jq -c` take.
import type { CaptureFile, CaptureResult } from './capture.js';

export function eventFiles(result: CaptureResult<{ events: unknown[] }>): CaptureFile[] {
  const lines = result.events.map((e) => JSON.stringify(e)).join('\n');
  return [{ name: `${result.capture}.ndjson`, contentType: 'application/x-ndjson', content: lines ? lines + '\n' : '' }];
}
