// The report bundle, sherlock-<runId>.tar.gz, streamed: tar-stream entries
// piped through gzip (level 1 by default) to whoever reads the stream, with
// backpressure all the way back to Redis. Nothing is built whole in memory:
//
//   sherlock-<id>/findings.json, baseline.json, summary.md
//                                  first: from the run record, findings and the
//                                  baseline comparison (when there is one)
//   sherlock-<id>/nodes/<node>/<capture>.json + raw files
//                                  gunzipped from their Redis chunks as they go
//                                  (a streaming capture's events once, in its
//                                  NDJSON; its JSON names it: events-once.ts);
//                                  each capture JSON is then read once more as
//                                  a stream to draw its part of report.html
//                                  (streamed-result.ts), inside the
//                                  process-wide result gate
//   sherlock-<id>/manifest.json    with every capture's meta, once all are read
//   sherlock-<id>/report.html      drawn during the node pass into a compressed
//                                  spool (a tar header needs its size first),
//                                  then replayed from it; past the spool's
//                                  budget it is drawn a second time instead
//
// Every entry name is built from sanitized segments (names.ts) under the one
// top directory. A reader that goes away stops the Redis reads; an artifact
// that expires half-way fails the stream rather than ending it cleanly.
import { once } from 'node:events';
import { createGzip, deflateRaw, inflateRaw, type Gzip } from 'node:zlib';
import { promisify } from 'node:util';
import { StringDecoder } from 'node:string_decoder';
import type { RedisClient } from '../redis/connection.js';
import tar from 'tar-stream';
import type { RunRecord } from '../model/run.js';
import { createLogger } from '../util/logger.js';
import { reportHtmlChunks, type HtmlRenderOptions } from './html/document.js';
import { buildManifest, planNodeFiles, type PlannedFile } from './manifest.js';
import { prepareReport, type ReportContext, type ReportNode } from './model.js';
import { EventsStripper, type EventsLeftOut } from './events-once.js';
import { staysInside } from './names.js';
import { redisArtifactSource, streamArtifact, type ArtifactSource, type BaselineLoader, type FindingsLoader } from './source.js';
import { renderSummary } from './summary.js';
import type { ByteBudget } from '../util/byte-budget.js';
import { DEFAULT_REPORT_SPOOL_MIB } from '../model/limits.js';

const log = createLogger({ component: 'report' });
const deflateRawAsync = promisify(deflateRaw);
const inflateRawAsync = promisify(inflateRaw);

export const BUNDLE_FILES = {
  manifest: 'manifest.json',
  findings: 'findings.json',
  baseline: 'baseline.json',
  summary: 'summary.md',
  html: 'report.html',
} as const;
/** Compressed report.html kept in memory between measuring and writing it (load.reportSpoolMiB). */
export const DEFAULT_HTML_SPOOL_BYTES = DEFAULT_REPORT_SPOOL_MIB * 1024 * 1024;

export interface ReportBundleOptions {
  run: RunRecord;
  /** Where artifacts come from: RedisClient (the default source) or a source of your own. */
  redis?: RedisClient;
  source?: ArtifactSource;
  loadFindings?: FindingsLoader;
  loadBaseline?: BaselineLoader;
  /** gzip level of the bundle (default 1: the bundle's big parts are already dense). */
  gzipLevel?: number;
  htmlSpoolBytes?: number;
  html?: HtmlRenderOptions;
  /** Bounds parsed results across every report this process draws (ReportContext.resultGate). */
  resultGate?: ByteBudget;
  /** JSON text of one capture result kept parsed while drawing (ReportContext.keepBytes). */
  keepBytes?: number;
  now?: Date;
}

export interface BundleStats {
  entries: number;
  /** Uncompressed bytes of every file in the bundle. */
  contentBytes: number;
  htmlBytes: number;
  /** report.html was drawn twice (it did not fit the spool). */
  htmlRedrawn: boolean;
  /** Artifacts listed by the run that Redis no longer has. */
  missing: string[];
  /** The most JSON text kept parsed for one capture result, and the largest single text held reading one. */
  keptBytes: number;
  largestText: number;
  /** Compressed report.html held while it was measured. */
  spoolBytes: number;
}

export interface ReportBundle {
  filename: string;
  /** The .tar.gz bytes. */
  stream: Gzip;
  /** Settles when the last byte went into the stream (or it failed / the reader left). */
  done: Promise<BundleStats>;
}

/** Holds report.html compressed while its size is measured; gives up (keeping only the count) past its budget. */
class HtmlSpool {
  bytes = 0;
  private parts: Buffer[] = [];
  private stored = 0;
  private pending: string[] = [];
  private pendingBytes = 0;
  overflowed = false;
  /** The most compressed bytes held. */
  peakStored = 0;

  constructor(private readonly budget: number) {}

  async add(text: string): Promise<void> {
    const n = Buffer.byteLength(text);
    this.bytes += n;
    if (this.overflowed) return;
    this.pending.push(text);
    this.pendingBytes += n;
    if (this.pendingBytes >= 256 * 1024) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.overflowed || !this.pending.length) return;
    const raw = Buffer.from(this.pending.join(''));
    this.pending = [];
    this.pendingBytes = 0;
    const packed = await deflateRawAsync(raw, { level: 1 });
    this.stored += packed.length;
    if (this.stored > this.budget) {
      this.peakStored = Math.max(this.peakStored, this.stored - packed.length);
      this.overflowed = true;
      this.parts = [];
      return;
    }
    this.parts.push(packed);
    this.peakStored = Math.max(this.peakStored, this.stored);
  }

  async *replay(): AsyncGenerator<Buffer> {
    const parts = this.parts;
    this.parts = [];
    for (const part of parts) yield await inflateRawAsync(part);
  }
}

type Header = Partial<tar.Header> & Pick<tar.Header, 'name'>;
type Sink = ReturnType<tar.Pack['entry']>;

/** Writes entries into the pack, waiting whenever the reader is behind. */
class EntryWriter {
  entries = 0;
  contentBytes = 0;
  private closed = false;

  constructor(
    private readonly pack: tar.Pack,
    private readonly root: string,
    private readonly mtime: Date,
    readonly signal: AbortSignal,
  ) {
    signal.addEventListener('abort', () => (this.closed = true), { once: true });
  }

  private header(path: string, extra: Partial<Header>): Header {
    const name = path ? `${this.root}/${path}` : this.root;
    if (!staysInside(name.replace(/\/$/, ''), this.root)) throw new Error(`refusing bundle entry name ${JSON.stringify(name)}`);
    return { name, mtime: this.mtime, mode: 0o644, uname: 'sherlock', gname: 'sherlock', ...extra };
  }

  private check(): void {
    if (this.closed) throw new Error('the bundle stream was closed by its reader');
  }

  async directory(path: string): Promise<void> {
    this.check();
    await this.entry(this.header(path, { type: 'directory', mode: 0o755 })).done;
  }

  async buffer(path: string, content: string | Buffer): Promise<void> {
    this.check();
    const body = typeof content === 'string' ? Buffer.from(content) : content;
    await this.stream(path, body.length, async (write) => {
      // Big buffers go in slices so backpressure still applies.
      for (let i = 0; i < body.length; i += 256 * 1024) await write(body.subarray(i, i + 256 * 1024));
    });
  }

  /** An entry of known size whose content `produce` writes chunk by chunk. */
  async stream(path: string, size: number, produce: (write: (chunk: Buffer) => Promise<void>) => Promise<void>): Promise<void> {
    this.check();
    const { sink, done } = this.entry(this.header(path, { size, type: 'file' }));
    let written = 0;
    const write = async (chunk: Buffer) => {
      this.check();
      written += chunk.length;
      if (written > size) throw new Error(`${path} grew past its ${size} bytes while being written`);
      if (!sink.write(chunk)) await this.drained(sink);
    };
    try {
      await produce(write);
      if (written !== size) throw new Error(`${path} has ${written} bytes, not the ${size} its header says`);
      sink.end(undefined);
      await done;
      this.entries++;
      this.contentBytes += size;
    } catch (err) {
      sink.destroy(err as Error);
      await done.catch(() => {});
      throw err;
    }
  }

  private drained(sink: Sink): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const onDrain = () => {
        cleanup();
        resolve();
      };
      const onClose = () => {
        cleanup();
        reject(new Error('the bundle stream was closed by its reader'));
      };
      const cleanup = () => {
        sink.off('drain', onDrain);
        sink.off('close', onClose);
        this.signal.removeEventListener('abort', onClose);
      };
      sink.on('drain', onDrain);
      sink.on('close', onClose);
      this.signal.addEventListener('abort', onClose, { once: true });
    });
  }

  /** pack.entry with its completion callback as a promise: called once the entry is in the pack (or failed). */
  private entry(header: Header): { sink: Sink; done: Promise<void> } {
    let sink!: Sink;
    const done = new Promise<void>((resolve, reject) => {
      sink = this.pack.entry(header, (err) => (err ? reject(err) : resolve()));
    });
    sink.on('error', () => {}); // the callback gets it; an 'error' nobody listens to would throw
    done.catch(() => {}); // awaited by the caller; an early failure must not go unhandled meanwhile
    return { sink, done };
  }
}

/**
 * Starts a bundle: gathers the run's nodes, kernels and findings and lists its
 * artifacts (errors here reject, before any byte is sent), then streams the
 * rest while the caller reads `stream`.
 */
export async function createReportBundle(options: ReportBundleOptions): Promise<ReportBundle> {
  const source = options.source ?? (options.redis ? redisArtifactSource(options.redis, options.run.id) : undefined);
  if (!source) throw new Error('createReportBundle needs redis or a source');
  const ctx = await prepareReport({ ...options, source });
  const files = await planNodeFiles(ctx);

  const pack = tar.pack();
  const gzip = createGzip({ level: options.gzipLevel ?? 1, chunkSize: 64 * 1024 });
  const abort = new AbortController();
  let finished = false;
  pack.on('error', (err: Error) => gzip.destroy(err));
  gzip.once('end', () => (finished = true));
  // A reader that leaves (an HTTP client hanging up) destroys the stream with an error; that is no crash.
  gzip.on('error', (err: Error) => log.debug('report bundle stream ended early', { runId: ctx.run.id, error: err.message }));
  gzip.on('close', () => {
    if (!finished) {
      abort.abort();
      pack.destroy(new Error('the bundle stream was closed by its reader'));
    }
  });
  pack.pipe(gzip);

  const mtime = new Date(options.run.finishedAt ?? options.run.createdAt);
  const writer = new EntryWriter(pack, ctx.root, Number.isFinite(mtime.getTime()) ? mtime : ctx.generatedAt, abort.signal);
  const done = writeBundle(ctx, files, writer, options).then(
    async (stats) => {
      pack.finalize();
      if (!finished) await once(gzip, 'end'); // the reader drains the rest
      return stats;
    },
    (err: Error) => {
      if (abort.signal.aborted) throw new Error('the bundle stream was closed by its reader', { cause: err });
      log.warn('report bundle failed', { runId: ctx.run.id, error: err.message });
      gzip.destroy(err);
      throw err;
    },
  );
  done.catch(() => {}); // callers may ignore it; failures reach the reader as a stream error
  return { filename: `${ctx.root}.tar.gz`, stream: gzip, done };
}

async function writeBundle(ctx: ReportContext, files: PlannedFile[], writer: EntryWriter, options: ReportBundleOptions): Promise<BundleStats> {
  const htmlOptions: HtmlRenderOptions = { linkFiles: true, ...options.html };
  await writer.directory('');
  // What needs no capture data goes first, so the reader gets bytes at once.
  const findings = { runId: ctx.run.id, origin: ctx.run.plan.origin ?? null, analyzed: ctx.findings !== undefined, findings: ctx.findings ?? [] };
  await writer.buffer(BUNDLE_FILES.findings, `${JSON.stringify(findings, null, 2)}\n`);
  if (ctx.baseline) await writer.buffer(BUNDLE_FILES.baseline, `${JSON.stringify(ctx.baseline, null, 2)}\n`);
  await writer.buffer(BUNDLE_FILES.summary, renderSummary(ctx));

  // One pass over the nodes: report.html is drawn into the spool while each
  // capture's JSON it loads is streamed into the bundle on the way (read from
  // Redis once, parsed once), followed by the capture's raw files.
  const missing: string[] = [];
  const written = new Set<PlannedFile>();
  const dirsMade = new Set<string>();
  const writeFile = async (file: PlannedFile) => {
    written.add(file);
    if (!file.meta) {
      missing.push(file.path);
      return;
    }
    for (const dir of ['nodes', `nodes/${file.node.dir}`]) {
      if (dirsMade.has(dir)) continue;
      dirsMade.add(dir);
      await writer.directory(dir);
    }
    const meta = file.meta;
    const eventsFile = eventsFileOf(file, files);
    if (eventsFile) {
      // The events are in the NDJSON beside it: this JSON keeps the rest and names that file.
      const left = await leaveEventsOut(ctx, file, eventsFile, writer.signal);
      if (left) {
        file.meta = { ...meta, bytes: Buffer.byteLength(left.text) };
        await writer.buffer(file.path, left.text);
        return;
      }
    }
    await writer.stream(file.path, meta.bytes, (write) => streamArtifact(ctx.source, file.node.name, meta, write, writer.signal));
  };
  // The page notes a capture it could not load and goes on; a file that could
  // not be written into the bundle ends the bundle.
  let fatal: unknown;
  const mustWrite = async (file: PlannedFile) => {
    try {
      await writeFile(file);
    } catch (err) {
      fatal ??= err;
      throw err;
    }
  };
  const byNode = new Map<ReportNode, PlannedFile[]>();
  for (const f of files) byNode.set(f.node, [...(byNode.get(f.node) ?? []), f]);
  // The capture's files go into the bundle first, at the reader's pace and
  // outside the result gate; its JSON is then read again to draw the page
  // (one more Redis read, so no parsed result waits on a slow reader).
  const streaming: ReportContext = {
    ...ctx,
    async beforeResult(node, capture) {
      for (const f of byNode.get(node) ?? []) if (f.capture === capture.capture && !written.has(f)) await mustWrite(f);
    },
  };
  const spool = new HtmlSpool(options.htmlSpoolBytes ?? DEFAULT_HTML_SPOOL_BYTES);
  for await (const chunk of reportHtmlChunks(streaming, htmlOptions)) {
    if (fatal) throw fatal;
    if (writer.signal.aborted) throw new Error('the bundle stream was closed by its reader');
    await spool.add(chunk);
  }
  if (fatal) throw fatal;
  await spool.flush();
  for (const f of files) if (!written.has(f)) await writeFile(f); // listed by no capture the page drew

  const manifest = buildManifest(ctx, files, BUNDLE_FILES);
  await writer.buffer(BUNDLE_FILES.manifest, `${JSON.stringify(manifest, null, 2)}\n`);
  await writer.stream(BUNDLE_FILES.html, spool.bytes, async (write) => {
    if (!spool.overflowed) {
      for await (const chunk of spool.replay()) await write(chunk);
      return;
    }
    // Past the spool's budget: draw it again, reading the captures from Redis a second time.
    let pending: string[] = [];
    let pendingBytes = 0;
    for await (const chunk of reportHtmlChunks(ctx, htmlOptions)) {
      pending.push(chunk);
      pendingBytes += chunk.length;
      if (pendingBytes >= 64 * 1024) {
        await write(Buffer.from(pending.join('')));
        pending = [];
        pendingBytes = 0;
      }
    }
    if (pending.length) await write(Buffer.from(pending.join('')));
  });
  return {
    entries: writer.entries,
    contentBytes: writer.contentBytes,
    htmlBytes: spool.bytes,
    htmlRedrawn: spool.overflowed,
    missing,
    ...ctx.parsed,
    spoolBytes: spool.peakStored,
  };
}

/** The NDJSON that holds this capture JSON's events, when it is an events capture's result and that file is in the bundle. */
function eventsFileOf(file: PlannedFile, files: PlannedFile[]): PlannedFile | undefined {
  const summary = file.node.captures.find((c) => c.capture === file.capture);
  if (!summary || summary.kind !== 'events' || summary.error || file.name !== summary.artifact) return undefined;
  return files.find(
    (f) => f.node === file.node && f.capture === file.capture && f.meta && f.name === `${file.capture}.ndjson` && (summary.files ?? []).includes(f.name),
  );
}

/** The capture JSON without its events (read from Redis as a stream, never parsed); undefined to store it as it is. */
async function leaveEventsOut(ctx: ReportContext, file: PlannedFile, eventsFile: PlannedFile, signal: AbortSignal): Promise<EventsLeftOut | undefined> {
  const stripper = new EventsStripper();
  const decoder = new StringDecoder('utf8');
  await streamArtifact(ctx.source, file.node.name, file.meta!, (chunk) => stripper.push(decoder.write(chunk)), signal);
  stripper.push(decoder.end());
  const left = stripper.finish(eventsFile.name);
  if (!left) log.warn('capture JSON kept whole in the bundle', { runId: ctx.run.id, node: file.node.name, file: file.name, why: stripper.failed });
  return left;
}
