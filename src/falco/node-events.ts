// A node's capture results → its syscall events for the rules: each capture
// with a source maps its own result; a connect tcpconnlat saw that tcplife
// also recorded (same process and destination) is kept once, tcplife's.
import type { SyscallEvent } from './events.js';
import { EVENT_SOURCES } from './sources/index.js';
import { isObj, str } from './sources/read.js';

export interface NodeEvents {
  events: SyscallEvent[];
  /** Captures that fed events. */
  captures: string[];
}

export function nodeEvents(results: readonly unknown[]): NodeEvents {
  const byCapture = new Map<string, SyscallEvent[]>();
  for (const result of results) {
    if (!isObj(result)) continue;
    const capture = str(result.capture);
    const source = EVENT_SOURCES[capture];
    if (!source) continue;
    byCapture.set(capture, source.events(result));
  }
  const tcplife = byCapture.get('tcplife');
  const connlat = byCapture.get('tcpconnlat');
  if (tcplife && connlat) {
    const seen = new Set(tcplife.filter((e) => e.type === 'connect' && e.fd?.kind === 'socket').map((e) => connectKey(e)));
    const seenDest = new Set(tcplife.filter((e) => e.fd?.kind === 'socket').map((e) => destinationOf(e)));
    byCapture.set('tcpconnlat', connlat.filter((e) => !seen.has(connectKey(e)) && !(e.pid === 0 && seenDest.has(destinationOf(e)))));
  }
  return { events: [...byCapture.values()].flat(), captures: [...byCapture.keys()] };
}

const destinationOf = (e: SyscallEvent) => (e.fd?.kind === 'socket' ? `${e.fd.remote.ip}|${e.fd.remote.port}` : '');
const connectKey = (e: SyscallEvent) => `${e.pid}|${destinationOf(e)}`;
