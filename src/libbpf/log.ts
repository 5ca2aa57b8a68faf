// libbpf prints through a callback with a va_list; we format it with libc's
// vsnprintf and hand the line to the project logger instead of raw stderr.
import { createLogger } from '../util/logger.js';
import { koffi, lib } from './native.js';

const log = createLogger({ component: 'libbpf' });
const LIBBPF_WARN = 0;
const LINE_MAX = 4096;
const RECENT_MAX = 64;

let callback: unknown;
const recent: string[] = [];
let warningsSeen = 0;

/** Route libbpf's messages to the logger; idempotent. */
export function routeLibbpfLog(): void {
  if (callback) return;
  const native = lib();
  const buffer = Buffer.alloc(LINE_MAX);
  callback = koffi.register((level: number, fmt: string, args: unknown) => {
    const n = native.vsnprintf(buffer, LINE_MAX, fmt, args);
    const text = buffer.toString('utf8', 0, Math.min(Math.max(n, 0), LINE_MAX - 1)).trimEnd();
    if (level === LIBBPF_WARN) {
      recent.push(text);
      warningsSeen++;
      if (recent.length > RECENT_MAX) recent.shift();
      log.warn(text);
    } else {
      log.debug(text);
    }
    return 0;
  }, koffi.pointer(native.printFn));
  native.libbpf_set_print(callback);
}

/** A position in libbpf's warning stream, for libbpfWarningsSince. */
export function warningsMark(): number {
  return warningsSeen;
}

/** Warnings libbpf printed since `mark` (verifier logs, attach failures). */
export function libbpfWarningsSince(mark: number): string[] {
  const count = Math.min(warningsSeen - mark, recent.length);
  return count > 0 ? recent.slice(-count) : [];
}
