// The API's operations as a client sees them, typed from the same table and
// zod schemas that generate the OpenAPI document (src/api/operations.ts): the
// path of an operation with its parameters filled in, the body it takes and
// the reply it gives. A route or a field renamed on the server breaks the
// client's build, not a user's run.
import type { z } from 'zod';
import { OPERATIONS, type OperationId } from '../api/operations.js';

type Op<I extends OperationId> = (typeof OPERATIONS)[I];

/** Operations whose success reply is JSON described by a schema. */
export type JsonOperationId = { [I in OperationId]: Op<I>['ok']['schema'] extends z.ZodType ? I : never }[OperationId];

/** The success reply of operation `I`, as the server sends it. */
export type ReplyOf<I extends JsonOperationId> = Op<I>['ok']['schema'] extends z.ZodType ? z.output<Op<I>['ok']['schema']> : never;

/** The request body of operation `I`, as the server accepts it (defaults may be left out). */
export type BodyOf<I extends OperationId> = Op<I> extends { body: { schema: infer S extends z.ZodType } } ? z.input<S> : never;

type ParamNames<P extends string> = P extends `${string}{${infer N}}${infer Rest}` ? N | ParamNames<Rest> : never;
/** The path parameters of operation `I` (`{ id }` for /v1/runs/{id}). */
export type PathOf<I extends OperationId> = { [K in ParamNames<Op<I>['path']>]: string };

export type QueryOf<I extends OperationId> = Op<I> extends { query: infer Q extends z.ZodObject } ? { [K in keyof z.input<Q>]?: string | number } : never;

export interface CallArgs<I extends OperationId> {
  path?: PathOf<I>;
  query?: QueryOf<I>;
  body?: BodyOf<I>;
}

/** METHOD and the path of operation `id` with its parameters filled in (encoded) and its query. */
export function operationRequest<I extends OperationId>(id: I, args: CallArgs<I> = {}): { method: string; path: string } {
  const op = OPERATIONS[id];
  const params = (args.path ?? {}) as Record<string, string>;
  const path = op.path.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = params[name];
    if (value === undefined) throw new Error(`${id} needs the path parameter ${name}`);
    return encodeURIComponent(value);
  });
  const query = Object.entries((args.query ?? {}) as Record<string, string | number | undefined>).filter(([, v]) => v !== undefined);
  const search = query.length ? `?${new URLSearchParams(query.map(([k, v]): [string, string] => [k, String(v)]))}` : '';
  return { method: op.method.toUpperCase(), path: path + search };
}
