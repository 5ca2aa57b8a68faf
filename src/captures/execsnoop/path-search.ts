// A PATH search is one exec: execvp, env, dash and Python try each PATH
// directory in turn, and every miss is a failed execve (ENOENT, EACCES,
// ENOTDIR) by the same thread with the same file name. Misses by a thread wait
// here until that thread's next exec settles them: a success with that name
// absorbs them (attempts counts every execve it stands for), anything else
// releases them as one failed exec that tried them all (a command not found).
import { basename } from 'node:path';

/** The errors a PATH search steps over to the next directory (glibc execvp, dash). */
const SEARCH_MISS = new Set(['ENOENT', 'ENOTDIR', 'EACCES', 'ESTALE', 'ENODEV', 'ETIMEDOUT']);
/** Paths kept per folded exec, as examples of where it looked. */
const TRIED_KEPT = 3;
/** Threads with misses waiting; past this the oldest is released (bounded memory). */
const MAX_WAITING = 4096;

export interface SearchableExec {
  tid: number;
  filename: string;
  retval: number;
  error?: string;
  /** execve calls this event stands for (set only when more than one). */
  attempts?: number;
  /** The first directories' paths that were tried before, when folded. */
  triedPaths?: string[];
}

interface Waiting<E> {
  event: E;
  name: string;
  attempts: number;
  tried: string[];
}

export class PathSearchFolder<E extends SearchableExec> {
  private readonly waiting = new Map<number, Waiting<E>>();

  /** One exec as it arrives; returns the events now settled, in order. */
  add(event: E): E[] {
    const out: E[] = [];
    const name = basename(event.filename);
    const held = this.waiting.get(event.tid);
    if (held && held.name !== name) out.push(this.release(event.tid)!);
    const same = held && held.name === name ? held : undefined;
    if (event.retval < 0 && SEARCH_MISS.has(event.error ?? '')) {
      if (same) {
        same.attempts++;
        if (same.tried.length < TRIED_KEPT) same.tried.push(event.filename);
        same.event = event;
      } else {
        if (this.waiting.size >= MAX_WAITING) out.push(this.release(this.waiting.keys().next().value!)!);
        this.waiting.set(event.tid, { event, name, attempts: 1, tried: [event.filename] });
      }
      return out;
    }
    if (same) {
      this.waiting.delete(event.tid);
      out.push(withAttempts(event, same.attempts + 1, same.tried));
    } else out.push(event);
    return out;
  }

  /** Everything still waiting (the window ended): each as one failed exec. */
  flush(): E[] {
    return [...this.waiting.keys()].map((tid) => this.release(tid)!);
  }

  private release(tid: number): E | undefined {
    const held = this.waiting.get(tid);
    if (!held) return undefined;
    this.waiting.delete(tid);
    return held.attempts > 1 ? withAttempts(held.event, held.attempts, held.tried) : held.event;
  }
}

function withAttempts<E extends SearchableExec>(event: E, attempts: number, tried: string[]): E {
  const others = tried.filter((p) => p !== event.filename).slice(0, TRIED_KEPT);
  return { ...event, attempts, ...(others.length ? { triedPaths: others } : {}) };
}
