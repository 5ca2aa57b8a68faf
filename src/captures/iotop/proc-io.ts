// Every process's storage I/O so far, from /proc/PID/io: read_bytes (fetched
// from storage), write_bytes (sent to storage, counted when the page is
// dirtied, so a buffered writer is named, not the kernel's flusher) and
// cancelled_write_bytes (dirty pages truncated before they were written). A
// process's figures include its reaped children's, so a shell loop running
// short jobs shows their bytes. Read in slices that yield to the event loop.
import { readFileSync } from 'node:fs';
import { keyedNumbers } from '../../cgroups/hierarchy.js';
import { allPids } from '../target-processes.js';

export interface ProcessIo {
  readBytes: number;
  writeBytes: number;
  cancelledWriteBytes: number;
}

export interface IoCensus {
  at: number;
  byPid: Map<number, ProcessIo>;
  truncated: boolean;
}

/** ~10 µs a read: this many between yields keeps each event-loop stall near 2 ms. */
const SLICE = 200;

export function processIo(pid: number): ProcessIo | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/io`, 'utf8');
  } catch {
    return undefined; // gone, or a process we may not trace
  }
  const io = keyedNumbers(text); // "read_bytes: 4096" lines: the keys keep their colon
  return { readBytes: io.get('read_bytes:') ?? 0, writeBytes: io.get('write_bytes:') ?? 0, cancelledWriteBytes: io.get('cancelled_write_bytes:') ?? 0 };
}

export async function ioCensus(maxProcesses: number): Promise<IoCensus> {
  const pids = allPids(maxProcesses + 1);
  const byPid = new Map<number, ProcessIo>();
  const at = performance.now();
  for (let i = 0; i < Math.min(pids.length, maxProcesses); i++) {
    if (i % SLICE === SLICE - 1) await new Promise((resolve) => setImmediate(resolve));
    const io = processIo(pids[i]!);
    if (io) byPid.set(pids[i]!, io);
  }
  return { at: (at + performance.now()) / 2, byPid, truncated: pids.length > maxProcesses };
}
