// The API-wide body limit, without reading ahead: a declared length over the
// limit is refused at once; a streamed body is counted as the route reads it
// (hono's bodyLimit buffered a chunked body whole before any route or token
// check ran, with no time limit). Routes read only after authenticating.
// A declared length within the limit leaves the body untouched: asking for
// `c.req.raw.body` makes the node adapter build a web Request and stream for
// it, while a route's c.req.json() then reads the socket directly (about a
// tenth of a submission's CPU under load).
import type { MiddlewareHandler } from 'hono';
import { ApiError } from './errors.js';

export function limitBody(maxBytes: number): MiddlewareHandler {
  return async function bodyLimit(c, next) {
    if (c.req.method === 'GET' || c.req.method === 'HEAD') return next(); // the adapter gives these no body
    const declared = Number(c.req.header('content-length') ?? Number.NaN);
    if (!c.req.header('transfer-encoding') && Number.isFinite(declared)) {
      if (declared <= maxBytes) return next();
      void c.req.raw.body?.cancel().catch(() => {});
      c.header('connection', 'close');
      throw new ApiError(413, 'payload_too_large', `request body is larger than ${maxBytes} bytes`);
    }
    const body = c.req.raw.body;
    if (!body) return next();
    let total = 0;
    const counted = body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          total += chunk.byteLength;
          if (total > maxBytes) controller.error(Object.assign(new Error(`request body is larger than ${maxBytes} bytes`), { status: 413 }));
          else controller.enqueue(chunk);
        },
      }),
    );
    c.req.raw = new Request(c.req.raw, { body: counted, duplex: 'half' } as RequestInit);
    return next();
  };
}
