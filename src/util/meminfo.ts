// The host's memory as /proc/meminfo says it: what a growing process
// (memgrowth) and a tmpfs's files (fsfill) take from.
import { readText } from './read-text.js';

/** The host's available memory (MemAvailable), bytes; undefined when /proc/meminfo has none. */
export function hostAvailableBytes(): number | undefined {
  const kib = /^MemAvailable:\s+(\d+) kB/m.exec(readText('/proc/meminfo') ?? '')?.[1];
  return kib === undefined ? undefined : Number(kib) * 1024;
}
