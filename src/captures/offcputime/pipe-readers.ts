// Who a process blocked writing into a full pipe waits for: the processes that
// hold the pipe's read end, and what each was doing when the capture ended. A
// writer stalls on a pipe when its reader stops keeping up: a log shipper stuck
// on its own upstream, a stopped child, a parent that never reads its child's
// output. Read from /proc after the window (the writer is often still blocked).
import { statSync } from 'node:fs';
import { blockedFds, fdLinks, processNow, type ProcessNow } from './process-now.js';
import { readText } from '../../util/read-text.js';
import { allPids } from '../target-processes.js';

export interface WrittenPipe {
  /** "pipe:[27786616]", or a named pipe's path. */
  name: string;
  /** The writer's descriptor for it. */
  fd: number;
  /** A thread of the writer was blocked writing into it when read. */
  blockedNow: boolean;
  readers: ProcessNow[];
}

/** readlink is ~5 µs: the scan for readers stops after this many descriptors (a host with very many). */
const MAX_LINKS = 50_000;
/** A writer holding many pipes (a supervisor): the readers of this many are looked for. */
const MAX_PIPES = 8;
const O_ACCMODE = 3;
const O_WRONLY = 1;

/** The descriptor's access mode from /proc/PID/fdinfo/FD (flags are octal), or undefined when gone. */
function accessMode(pid: number | string, fd: number | string): number | undefined {
  const flags = /^flags:\s*([0-7]+)/m.exec(readText(`/proc/${pid}/fdinfo/${fd}`) ?? '')?.[1];
  return flags === undefined ? undefined : parseInt(flags, 8) & O_ACCMODE;
}

/** A pipe or FIFO the descriptor points to, by the name its link shows. */
function pipeName(pid: number, fd: number, link: string): string | undefined {
  if (link.startsWith('pipe:[')) return link;
  if (!link.startsWith('/')) return undefined;
  try {
    return statSync(`/proc/${pid}/fd/${fd}`).isFIFO() ? link : undefined;
  } catch {
    return undefined;
  }
}

/** The pipes pid writes into (those it was blocked on when read first), each with its readers. */
export function writtenPipes(pid: number): WrittenPipe[] {
  const blocked = blockedFds(pid, /pipe_write/);
  const pipes = new Map<string, WrittenPipe>();
  for (const { fd, link } of fdLinks(pid)) {
    const name = pipeName(pid, fd, link);
    const mode = name && accessMode(pid, fd);
    if (!name || mode === undefined || mode === 0 || pipes.has(name)) continue;
    pipes.set(name, { name, fd, blockedNow: blocked.has(fd), readers: [] });
  }
  const wanted = [...pipes.values()].sort((a, b) => Number(b.blockedNow) - Number(a.blockedNow)).slice(0, MAX_PIPES);
  const anyBlocked = wanted.some((p) => p.blockedNow);
  const looked = anyBlocked ? wanted.filter((p) => p.blockedNow) : wanted;
  findReaders(new Map(looked.map((p) => [p.name, p])));
  return looked.filter((p) => p.readers.length);
}

/** Every process's descriptors, for the read ends of `pipes` (the writer's own included: a read end it holds and never reads). */
function findReaders(pipes: Map<string, WrittenPipe>): void {
  if (!pipes.size) return;
  let links = 0;
  for (const pid of allPids()) {
    if (links >= MAX_LINKS) break;
    const found = new Set<WrittenPipe>();
    const fds = fdLinks(pid, MAX_LINKS - links);
    links += fds.length;
    for (const { fd, link } of fds) {
      const pipe = pipes.get(link); // a named pipe's path is matched as written: no stat of every file on the host
      if (!pipe || found.has(pipe)) continue;
      const mode = accessMode(pid, fd);
      if (mode === undefined || mode === O_WRONLY) continue;
      found.add(pipe);
    }
    for (const pipe of found) {
      const reader = processNow(pid);
      if (reader) pipe.readers.push(reader);
    }
  }
}
