// dmesg: what the kernel said, in the window and in the minutes before it
// (lookbackSeconds: the incident began before anyone ran Sherlock): crashes with
// the function they faulted in, OOM kills, hung tasks and lockups, disk,
// filesystem and NFS errors, full kernel tables, interfaces going down,
// hardware errors (known-messages.ts). The kernel's own records only, from
// /dev/kmsg; the ring is read when the capture starts and as it runs, so a
// burst in the window does not push the start out. No BPF object.
import { kernelClock, monoNow } from '../../util/clock.js';
import type { CaptureDefinition, Column } from '../capture.js';
import { analyzeDmesg } from './analyze.js';
import { classify, type KernelEvent, type UnknownMessage } from './classify.js';
import { crashSites, siteKey } from './crash-site.js';
import { openKmsg, type KmsgReader, type KmsgRecord } from './kmsg.js';
import { dmesgSetup } from './setup.js';

export type DmesgParams = typeof dmesgSetup.defaults;
export type { KernelEvent } from './classify.js';

/** Records read per poll (~3 µs each): the ring's backlog is read over the first polls, not in one stall. */
const READ_PER_POLL = 5000;

export interface DmesgData {
  /** Messages Sherlock knows, oldest first (at most maxEvents, the newest). */
  events: KernelEvent[];
  /** Kernel errors no entry knows, by their shape. */
  unknown: UnknownMessage[];
  /** Lines the kernel's rate limit held back, by the function that logs them (show_signal_msg: crashes). */
  suppressed: Record<string, number>;
  /** Kernel records read from the lookback's start to the window's end. */
  records: number;
  /** Records processes wrote to /dev/kmsg, not read as the kernel's. */
  fromProcesses: number;
  /** Records the ring overwrote before they were read (a storm of messages). */
  lost: number;
  lookbackSeconds: number;
  /** The oldest record the ring still held, when that is after the lookback's start: it reached back only so far. */
  oldestTime?: string;
  windowStart: string;
  /** Why the log could not be read (no root or CAP_SYSLOG with kernel.dmesg_restrict=1). */
  problem?: string;
}

export const dmesg: CaptureDefinition<DmesgParams, DmesgData> = {
  ...dmesgSetup,
  summary:
    "the kernel's log in the window and before it: crashes (with the faulting function), OOM kills, hung tasks, disk, filesystem and NFS errors, full tables, links down",
  kind: 'events',
  analysis: { checks: 'kernel log', analyze: analyzeDmesg },

  sample({ params }) {
    const windowUs = Number(monoNow() / 1000n);
    const kernelToMs = kernelClock();
    const toWallMs = (usec: number) => kernelToMs(BigInt(usec) * 1000n);
    const fromUs = windowUs - params.lookbackSeconds * 1e6;
    const windowStart = new Date().toISOString();
    let reader: KmsgReader | undefined;
    let problem: string | undefined;
    try {
      reader = openKmsg();
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      problem = `cannot read /dev/kmsg (${e.code ?? e.message}): the kernel log needs root, or CAP_SYSLOG where kernel.dmesg_restrict is 1`;
    }
    const records: KmsgRecord[] = [];
    let oldestUs: number | undefined;
    const drain = (max: number) => {
      const batch = reader?.read(max) ?? [];
      oldestUs ??= batch[0]?.usec;
      for (const r of batch) if (r.usec >= fromUs) records.push(r);
    };
    return {
      poll: () => drain(READ_PER_POLL),
      async finish() {
        drain(Infinity);
        const lost = reader?.lost ?? 0;
        reader?.close();
        const { events, unknown, suppressed, fromProcesses } = classify(records, toWallMs, fromUs, windowUs, params.maxEvents);
        await addCrashSites(events);
        return {
          events,
          unknown,
          suppressed,
          records: records.length - fromProcesses,
          fromProcesses,
          lost,
          lookbackSeconds: params.lookbackSeconds,
          ...(oldestUs !== undefined && oldestUs > fromUs ? { oldestTime: new Date(toWallMs(oldestUs)).toISOString() } : {}),
          windowStart,
          ...(problem ? { problem } : {}),
        };
      },
      close: () => reader?.close(),
    };
  },

  table: (data) => ({ columns, rows: data.events }),
  text: dmesgText,
  count: (data) => data.events.length,
};

/** Each crash's file and offset named as a function (and source line) where the file can be found. */
async function addCrashSites(events: KernelEvent[]): Promise<void> {
  const faults = events
    .filter((e) => e.kind === 'crash' && e.fields.file && e.fields.offset)
    .map((e) => ({ event: e, file: e.fields.file!, offset: parseInt(e.fields.offset!, 16), comm: e.fields.comm ?? '' }));
  if (!faults.length) return;
  const sites = await crashSites(faults);
  for (const f of faults) f.event.site = sites.get(siteKey(f));
}

const columns: Column<KernelEvent>[] = [
  { header: 'TIME', value: (e) => e.time.slice(11, 23) },
  { header: 'KIND', value: (e) => e.kind },
  { header: 'SUBJECT', value: (e) => e.subject },
  { header: 'MESSAGE', value: (e) => (e.site?.function ? `${e.text} [${e.site.function}${e.site.source ? ` ${e.site.source}` : ''}]` : e.text) },
];

export function dmesgText(data: DmesgData): string {
  const lines = [
    `${data.records} kernel log records from ${data.lookbackSeconds} s before the window to its end${data.oldestTime ? ` (the ring reached back only to ${data.oldestTime})` : ''}` +
      `${data.lost ? `, ${data.lost} overwritten before they were read` : ''}${data.problem ? `; ${data.problem}` : ''}`,
  ];
  for (const e of data.events.slice(-30))
    lines.push(
      `${e.time.slice(11, 23)} ${e.inWindow ? '' : '(before) '}[${e.kind}] ${e.text}${e.site?.function ? ` [in ${e.site.function}${e.site.source ? ` at ${e.site.source}` : ''}]` : ''}`,
    );
  for (const u of data.unknown.slice(0, 10)) lines.push(`${u.count}× ${u.inWindow ? '' : '(before) '}${u.text}`);
  return lines.join('\n');
}
