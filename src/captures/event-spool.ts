// An events capture's spool: its decoded events as NDJSON in a file of the
// run's spool directory, written in chunks as they arrive, so what a capture
// holds in memory is bounded whatever its event count. Read back in one
// streaming pass per reader (analysis, storing), never as one array.
import { closeSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { createRedactor, redactCaptureData, type Redactor, type SecretPattern } from '../redact/index.js';

/** How a run's spool directory is named (src/worker/run-spool.ts): sherlock-spool-<worker pid>-<run id>-<random>. */
export const SPOOL_DIR_PREFIX = 'sherlock-spool-';

/** Where a capture spools and how much it may write there (its share of load.workerEventSpoolMiB). */
export interface SpoolSettings {
  dir: string;
  budgetBytes: number;
  /** The operator's secret patterns: events are redacted before they reach the disk. */
  redaction?: readonly SecretPattern[];
}

/** Serialized events buffered before one write (and before a read, the block size). */
export const SPOOL_WRITE_BYTES = 1024 * 1024;
/** Fields set on events already written (an exec's exit) kept for the readers; past it they are lost and counted. */
export const MAX_SPOOL_PATCHES = 65_536;
/** Distinct strings whose redacted text is remembered across events (comms, flags, common paths). */
const REDACTED_STRINGS_KEPT = 4096;

let spoolFiles = 0;

/** Appends events to its file; `close` hands the file to readers as SpooledEvents. */
export class EventSpoolWriter<E> {
  readonly path: string;
  private fd: number;
  /** Lines are written into it as they come (no string outlives its event), and it is written out when full. */
  private readonly buffer = Buffer.allocUnsafe(SPOOL_WRITE_BYTES);
  private bufferedBytes = 0;
  private written = 0;
  private count = 0;
  private redactions = 0;
  private readonly patches = new Map<number, Partial<E>>();
  private patchesLost = 0;
  private readonly redactor: Redactor;
  private readonly redactedStrings = new Map<string, string>();

  constructor(settings: SpoolSettings, name: string) {
    this.path = join(settings.dir, `${name}-${process.pid}-${++spoolFiles}.ndjson`);
    this.fd = openSync(this.path, 'wx', 0o600);
    this.redactor = createRedactor(settings.redaction ?? []);
  }

  /** Bytes written and buffered: what the budget is held against. */
  get bytes(): number {
    return this.written + this.bufferedBytes;
  }

  get events(): number {
    return this.count;
  }

  /** Bytes held in memory now (the write buffer's filled part): at most SPOOL_WRITE_BYTES. */
  get heldBytes(): number {
    return this.bufferedBytes;
  }

  /** The event's line number (for `patch`), after redacting it: secrets never reach the disk. */
  append(event: E): number {
    if (this.redactedStrings.size >= REDACTED_STRINGS_KEPT) this.redactedStrings.clear();
    const redacted = redactCaptureData(event, [], this.redactor, this.redactedStrings);
    this.redactions += redacted.redactions;
    const line = JSON.stringify(redacted.data) + '\n';
    // A line may take up to 3 bytes per UTF-16 unit; one that cannot fit even an empty buffer is written alone.
    if (this.bufferedBytes + line.length * 3 > this.buffer.length) {
      this.flush();
      if (line.length * 3 > this.buffer.length) {
        this.writeAll(Buffer.from(line));
        return this.count++;
      }
    }
    this.bufferedBytes += this.buffer.write(line, this.bufferedBytes);
    return this.count++;
  }

  /** Fields learnt after the event was written (redacted like it), applied when it is read. */
  patch(line: number, fields: Partial<E>): void {
    if (this.patches.size >= MAX_SPOOL_PATCHES && !this.patches.has(line)) return void this.patchesLost++;
    const redacted = redactCaptureData({ ...fields }, [], this.redactor);
    this.redactions += redacted.redactions;
    this.patches.set(line, { ...this.patches.get(line), ...redacted.data });
  }

  flush(): void {
    if (!this.bufferedBytes) return;
    this.writeAll(this.buffer.subarray(0, this.bufferedBytes));
    this.bufferedBytes = 0;
  }

  private writeAll(bytes: Buffer): void {
    for (let at = 0; at < bytes.length; ) at += writeSync(this.fd, bytes, at);
    this.written += bytes.length;
  }

  /** Everything written; the file is now read-only for its readers. */
  close(): SpooledEvents<E> {
    this.flush();
    closeSync(this.fd);
    this.fd = -1;
    return new SpooledEvents<E>(this.path, this.count, this.written, this.patches, { redactions: this.redactions, patchesLost: this.patchesLost });
  }

  /** On a failed capture: the file goes at once (the run's directory goes later anyway). */
  discard(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
    rmSync(this.path, { force: true });
  }
}

/**
 * A capture's spooled events: iterate them (one streaming pass over the file,
 * a block in memory at a time) or take the NDJSON bytes in chunks for storing.
 * Its fields are private (#): the result's redaction walk and JSON never see them.
 */
export class SpooledEvents<E> implements Iterable<E> {
  readonly #path: string;
  readonly #patches: ReadonlyMap<number, Partial<E>>;
  /** Events in the file. */
  readonly length: number;
  /** NDJSON bytes in the file. */
  readonly bytes: number;
  /** Secrets replaced while spooling; fields learnt too late to be kept (past MAX_SPOOL_PATCHES). */
  readonly counts: { redactions: number; patchesLost: number };

  constructor(path: string, length: number, bytes: number, patches: ReadonlyMap<number, Partial<E>>, counts: { redactions: number; patchesLost: number }) {
    this.#path = path;
    this.length = length;
    this.bytes = bytes;
    this.#patches = patches;
    this.counts = counts;
  }

  *[Symbol.iterator](): Iterator<E> {
    let line = 0;
    for (const text of this.lines()) {
      const event = JSON.parse(text) as E;
      const patch = this.#patches.get(line++);
      if (patch) Object.assign(event as object, patch);
      yield event;
    }
  }

  /** The NDJSON, whole lines per chunk (at most about SPOOL_WRITE_BYTES each), patches applied. */
  *ndjsonChunks(): Generator<Buffer> {
    if (!this.#patches.size) {
      yield* this.blocks((block) => block);
      return;
    }
    let line = 0;
    yield* this.blocks((block) => {
      const out: string[] = [];
      for (const text of block.toString('utf8').split('\n')) {
        if (!text) continue;
        const patch = this.#patches.get(line++);
        out.push(patch ? JSON.stringify(Object.assign(JSON.parse(text) as object, patch)) : text);
      }
      return Buffer.from(out.join('\n') + '\n');
    });
  }

  /** The file's lines as strings, one block in memory at a time. */
  private *lines(): Generator<string> {
    for (const block of this.blocks((b) => b)) {
      const text = block.toString('utf8');
      let from = 0;
      for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', from)) {
        if (nl > from) yield text.slice(from, nl);
        from = nl + 1;
      }
    }
  }

  /** The file in blocks that end at a line's end (a line longer than a block is one block). */
  private *blocks(map: (block: Buffer) => Buffer): Generator<Buffer> {
    const fd = openSync(this.#path, 'r');
    try {
      let carry = Buffer.alloc(0);
      const block = Buffer.allocUnsafe(SPOOL_WRITE_BYTES);
      for (;;) {
        const n = readSync(fd, block, 0, block.length, null);
        if (n === 0) break;
        const data = carry.length ? Buffer.concat([carry, block.subarray(0, n)]) : block.subarray(0, n);
        const end = data.lastIndexOf(10) + 1;
        carry = Buffer.from(data.subarray(end));
        if (end > 0) yield map(Buffer.from(data.subarray(0, end)));
      }
      if (carry.length) yield map(Buffer.concat([carry, Buffer.from('\n')]));
    } finally {
      closeSync(fd);
    }
  }
}

/** Whether a capture's data holds its events in a spool (a worker's run) rather than in `events`. */
export const spooledEventsOf = (data: unknown): SpooledEvents<unknown> | undefined => {
  const spool = (data as { eventSpool?: unknown } | null)?.eventSpool;
  return spool instanceof SpooledEvents ? spool : undefined;
};

/**
 * A capture result as the JSON it is stored as (<capture>.json, what the API
 * and reports read): its events from the spool in chunks, in the `events`
 * array where an in-memory result has them (put last), never one string.
 */
export function resultJson(result: Record<string, unknown>): string | Iterable<Buffer> {
  const spool = spooledEventsOf(result);
  if (!spool) return JSON.stringify(result);
  return resultJsonChunks(result, spool);
}

function* resultJsonChunks(result: Record<string, unknown>, spool: SpooledEvents<unknown>): Generator<Buffer> {
  const { events: _inMemory, eventSpool: _spool, ...rest } = result;
  const head = JSON.stringify(rest);
  yield Buffer.from(`${head.slice(0, -1)}${head.length > 2 ? ',' : ''}"events":[`);
  let first = true;
  for (const lines of spool.ndjsonChunks()) {
    // Whole lines: each newline becomes the comma between two events.
    const body = Buffer.from(lines.subarray(0, lines.length - 1));
    for (let i = body.indexOf(10); i >= 0; i = body.indexOf(10, i + 1)) body[i] = 44;
    if (!body.length) continue;
    if (!first) yield Buffer.from(',');
    first = false;
    yield body;
  }
  yield Buffer.from(']}');
}
