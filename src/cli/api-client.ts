// The CLI's side of the REST API: JSON calls whose errors become one line with
// the API's own message, the run's SSE stream, and a byte-exact download.
import { createWriteStream, renameSync, rmSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { pipeline } from 'node:stream/promises';
import { operationRequest, type CallArgs, type JsonOperationId, type ReplyOf } from '../client/operations.js';
import { UsageError } from './usage-error.js';

const CALL_TIMEOUT_MS = 30_000;
/** A download that sends nothing for this long has stalled. */
const DOWNLOAD_IDLE_MS = 60_000;

/** The API said no (4xx/5xx) or could not be reached; the message is the API's, one line. */
export class ApiRequestError extends Error {
  override name = 'ApiRequestError';
  constructor(
    message: string,
    readonly status?: number,
    readonly code?: string,
  ) {
    super(message);
  }
}

export interface SseEvent {
  id: string;
  event: string;
  data: Record<string, unknown>;
}

/** A base URL people type (host:port, trailing slash) as http(s)://host:port. */
export function normalizeApiUrl(text: string): string {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `http://${text}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new UsageError(`--api takes the API's URL like http://127.0.0.1:7070, got "${text}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`--api takes an http:// or https:// URL, got "${text}"`);
  return url.href.replace(/\/+$/, '');
}

export class ApiClient {
  constructor(
    readonly baseUrl: string,
    private readonly token: string,
  ) {}

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return { authorization: `Bearer ${this.token}`, accept: 'application/json', ...extra };
  }

  /** A JSON call; a non-2xx reply throws ApiRequestError with the API's message. */
  async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.send(method, path, body);
    if (!res.ok) throw await replyError(res, method, path);
    return (await res.json()) as T;
  }

  /** Operation `id` of the API (src/api/operations.ts): its path, body and reply typed from the schemas that generate the OpenAPI document. */
  call<I extends JsonOperationId>(id: I, args: CallArgs<I> = {}): Promise<ReplyOf<I>> {
    const { method, path } = operationRequest(id, args);
    return this.json<ReplyOf<I>>(method, path, args.body);
  }

  /** Like json(), but undefined when this API has no such route yet (an older server). */
  async jsonIfRouted<T>(path: string): Promise<T | undefined> {
    const res = await this.send('GET', path);
    if (res.ok) return (await res.json()) as T;
    const err = await replyError(res, 'GET', path);
    if (isMissingRoute(err)) return undefined;
    throw err;
  }

  private async send(method: string, path: string, body?: unknown): Promise<Response> {
    const headers = this.headers(body === undefined ? {} : { 'content-type': 'application/json' });
    try {
      return await fetch(this.baseUrl + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
      });
    } catch (err) {
      throw this.unreachable(err);
    }
  }

  /**
   * Reads a run's SSE stream until the server ends it (the run finished) or
   * `signal` aborts. The server replays the stream from its start on every
   * connection, so events at or before `after` are skipped.
   */
  async events(path: string, onEvent: (e: SseEvent) => void, { signal, after }: { signal: AbortSignal; after?: string }): Promise<void> {
    let res: Response;
    try {
      res = await fetch(this.baseUrl + path, { headers: this.headers({ accept: 'text/event-stream' }), signal });
    } catch (err) {
      if (signal.aborted) throw err;
      throw this.unreachable(err);
    }
    if (!res.ok || !res.body) throw await replyError(res, 'GET', path);
    const decoder = new TextDecoder();
    let buffered = '';
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buffered += decoder.decode(chunk, { stream: true }).replace(/\r\n?/g, '\n');
      for (let end; (end = buffered.indexOf('\n\n')) >= 0; ) {
        const event = parseSseBlock(buffered.slice(0, end));
        buffered = buffered.slice(end + 2);
        if (event && (after === undefined || compareStreamIds(event.id, after) > 0)) onEvent(event);
      }
    }
  }

  /**
   * Streams a download to `file` as the server sent it (no transfer decoding:
   * a .tar.gz stays gzip), through `file.part`. Returns the bytes written, or
   * undefined when this API has no such route yet.
   */
  async download(path: string, file: string, signal: AbortSignal): Promise<number | undefined> {
    const url = new URL(this.baseUrl + path);
    let stalled = false;
    const stall = () => new ApiRequestError(`the API stopped sending ${path} (nothing for ${DOWNLOAD_IDLE_MS / 1000}s); try again later`);
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, { headers: this.headers({ accept: '*/*' }), signal }, resolve);
      req.setTimeout(DOWNLOAD_IDLE_MS, () => {
        stalled = true;
        req.destroy();
      });
      req.once('error', (err) => reject(signal.aborted ? err : stalled ? stall() : this.unreachable(err)));
      req.end();
    });
    const status = res.statusCode ?? 0;
    if (status < 200 || status >= 300) {
      let text = '';
      for await (const chunk of res) text += String(chunk);
      const err = errorFromBody(status, res.statusMessage ?? '', String(res.headers['content-type'] ?? ''), text, 'GET', path);
      if (isMissingRoute(err)) return undefined;
      throw err;
    }
    const part = `${file}.part`;
    let bytes = 0;
    res.on('data', (chunk: Buffer) => (bytes += chunk.length));
    try {
      await pipeline(res, createWriteStream(part, { mode: 0o600 }), { signal });
      renameSync(part, file);
    } catch (err) {
      rmSync(part, { force: true });
      if (signal.aborted || err instanceof ApiRequestError) throw err;
      if (stalled) throw stall();
      throw new ApiRequestError(`${path} broke off after ${bytes} bytes into ${file}: ${(err as Error).message}`);
    }
    return bytes;
  }

  private unreachable(err: unknown): Error {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const code = (err as { code?: string }).code;
    const why = cause?.code ?? code ?? cause?.message ?? (err as Error).message;
    if ((err as Error).name === 'TimeoutError') return new ApiRequestError(`the API at ${this.baseUrl} did not answer within ${CALL_TIMEOUT_MS / 1000}s`);
    return new ApiRequestError(`cannot reach the API at ${this.baseUrl} (${why}); is \`sherlock up\` running there? (--api or SHERLOCK_API_URL)`);
  }
}

/** A 404 from the router itself (no such route), not a 404 about a run or artifact. */
export function isMissingRoute(err: unknown): boolean {
  return err instanceof ApiRequestError && err.status === 404 && (err.code === 'not_found' || err.code === undefined);
}

async function replyError(res: Response, method: string, path: string): Promise<ApiRequestError> {
  const text = await res.text().catch(() => '');
  return errorFromBody(res.status, res.statusText, res.headers.get('content-type') ?? '', text, method, path);
}

function errorFromBody(status: number, statusText: string, contentType: string, text: string, method: string, path: string): ApiRequestError {
  if (contentType.includes('json')) {
    try {
      const e = (JSON.parse(text) as { error?: { code?: unknown; message?: unknown } }).error;
      if (typeof e?.message === 'string') {
        const hint = status === 401 ? ' (pass --token or set SHERLOCK_TOKEN)' : '';
        return new ApiRequestError(oneLine(e.message) + hint, status, typeof e.code === 'string' ? e.code : undefined);
      }
    } catch {
      // not the API's error shape: fall through to the status line
    }
  }
  const snippet = oneLine(text).slice(0, 200);
  return new ApiRequestError(`${method} ${path} answered ${status} ${statusText}${snippet ? `: ${snippet}` : ''}`, status);
}

const oneLine = (text: string) => text.replace(/\s*\n\s*/g, '; ').trim();

function parseSseBlock(block: string): SseEvent | undefined {
  let id = '';
  let event = 'message';
  const data: string[] = [];
  for (const line of block.split('\n')) {
    if (!line || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'id') id = value;
    else if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
  }
  if (!data.length) return undefined;
  try {
    return { id, event, data: JSON.parse(data.join('\n')) as Record<string, unknown> };
  } catch {
    return undefined;
  }
}

/** Orders Redis stream ids ("ms-seq"); ids that are not such sort as equal. */
export function compareStreamIds(a: string, b: string): number {
  const [am = 0, as = 0] = a.split('-').map(Number);
  const [bm = 0, bs = 0] = b.split('-').map(Number);
  return am - bm || as - bs || 0;
}
