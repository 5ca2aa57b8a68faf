// opensnoop's checks: Opens feed the runbook rules; alone they only count as checked.
import { eventsOf, num, str, type CaptureAnalysis, type Obj } from '../../analysis/common.js';
import { plural } from '../../format/index.js';
import type { OpenHit } from '../../analysis/rule-events.js';

function analyzeOpensnoop(data: Obj): CaptureAnalysis {
  let total = 0;
  let failed = 0;
  for (const e of eventsOf(data)) {
    total++;
    if (num(e.retval) < 0) failed++;
  }
  return { findings: [], checked: `file opens (${plural(total, 'open')}, ${failed} failed)` };
}

export function* openRecords(data: Obj): Generator<OpenHit> {
  for (const e of eventsOf(data)) {
    const flags = str(e.flagNames);
    yield {
      kind: 'open',
      time: str(e.time),
      pid: num(e.pid),
      comm: str(e.comm),
      path: str(e.path),
      flags,
      write: WRITE_FLAGS.test(flags),
      ...(num(e.retval) < 0 ? { error: str(e.error) || String(num(e.retval)) } : {}),
    };
  }
}

const WRITE_FLAGS = /\b(O_WRONLY|O_RDWR|O_CREAT|O_TRUNC|O_APPEND|O_TMPFILE)\b/;

export const opensnoopAnalysis = { checks: 'file opens', analyze: analyzeOpensnoop };
