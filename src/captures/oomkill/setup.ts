// oomkill's setup: which of its two programs this kernel's tracepoint takes.
// What the warm pool needs to keep its object loaded (index.ts adds the rest).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type BpfObject, hasTracepoint, NotSupportedError, tracingRoot } from '../../libbpf/index.js';
import type { CaptureSetup } from '../capture.js';
import { integer, settingsDefaults } from '../settings.js';

/** The raw tracepoint carries the task_struct since the fields that came with it (6.8). */
function tracepointHasTask(): boolean {
  try {
    return readFileSync(join(tracingRoot(), 'events', 'oom', 'mark_victim', 'format'), 'utf8').includes('anon_rss');
  } catch {
    return false;
  }
}

const settings = {
  maxEvents: integer(1, 100_000, 1000, 'kills kept; later ones are counted as dropped (event_cap)'),
};
const defaults = settingsDefaults(settings);

export const oomkillSetup = {
  name: 'oomkill',
  settings,
  bpfObject: true,
  defaults,
  configure(object: BpfObject) {
    if (!hasTracepoint('oom', 'mark_victim'))
      throw new NotSupportedError('tracepoint oom:mark_victim', 'is not available in this kernel: OOM kills cannot be seen here');
    const withTask = tracepointHasTask();
    object.setAutoload('raw_mark_victim', withTask);
    object.setAutoload('tp_mark_victim', !withTask);
  },
} satisfies CaptureSetup<typeof defaults>;
