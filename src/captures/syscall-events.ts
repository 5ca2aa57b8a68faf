// What the captures' syscall event makers (src/captures/<name>/syscall-events.ts)
// share: reading stored results as untrusted JSON (a field of the wrong type
// reads as empty), times, errno values and endpoints.
import { constants } from 'node:os';

export type Obj = Record<string, unknown>;
export const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
export const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
export const objs = (v: unknown): Obj[] => arr(v).filter(isObj);
export const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
export const str = (v: unknown): string => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '');
export const timeMs = (v: unknown): number => {
  const t = Date.parse(str(v));
  return Number.isFinite(t) ? t : 0;
};

/** The process fields of every syscall event, from a stored record (its thread is the process when not known). */
export const processFields = (r: Obj) => ({
  pid: num(r.pid),
  tid: num(r.tid) || num(r.pid),
  uid: num(r.uid),
  comm: str(r.comm),
  cgroupId: str(r.cgroupId) || undefined,
});

/** -errno for an errno name ("ECONNREFUSED" → -111); -1 when the name is unknown. */
export const rawErrno = (name: string): number => -((constants.errno as Record<string, number>)[name] ?? 1);

/** "1.2.3.4:80" / "[::1]:443" → address and port. */
export function endpoint(text: string): { ip: string; port: number } {
  const m = /^\[?(.*?)\]?:(\d+)$/.exec(text);
  return m ? { ip: m[1]!, port: Number(m[2]) } : { ip: text, port: 0 };
}

/** A result's events mapped as they are read (one event may make several, or none): never one array of them. */
export function* mapEvents<T, U>(events: Iterable<T>, map: (event: T) => U | U[]): Generator<U> {
  for (const event of events) {
    const out = map(event);
    if (Array.isArray(out)) yield* out;
    else yield out;
  }
}
