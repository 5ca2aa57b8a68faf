// Symbolization speed: 10,000 addresses inside this very process's node
// binary (its largest executable mapping in /proc/self/maps; node carries a
// 110k-entry .symtab, 78k function addresses), symbolized cold (caches cleared: maps, ELF headers,
// symbol table read and sorted) and warm (same symbolizer again; and a new
// symbolizer over the shared ELF cache). Kernel addresses too, from kallsyms.
// Figures only: the machine is shared and noisy.
import { readFileSync } from 'node:fs';
import { clearElfCache, createSymbolizer } from '../src/symbolize/index.js';
import { KernelSymbols } from '../src/symbolize/kallsyms.js';
import { fmtCount, fmtMiB, fmtMs, fmtRate, kv, median, msSince, note, section, table, verdict } from './report.js';

const ADDRESSES = 10_000;
const COLD_RUNS = 5;
const WARM_RUNS = 9;
const TARGET_WARM_MS = 20;

/** The largest executable mapping of the node binary in /proc/self/maps. */
function nodeText(): { start: number; end: number; path: string } {
  const exe = process.execPath;
  let best: { start: number; end: number; path: string } | undefined;
  for (const line of readFileSync('/proc/self/maps', 'utf8').split('\n')) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) r-xp \S+ \S+ \d+\s+(\S.*)$/.exec(line);
    if (!m) continue;
    const start = parseInt(m[1] as string, 16);
    const end = parseInt(m[2] as string, 16);
    const path = m[3] as string;
    if (path !== exe && !path.endsWith('/node')) continue;
    if (!best || end - start > best.end - best.start) best = { start, end, path };
  }
  if (!best) throw new Error(`no executable mapping of ${exe} in /proc/self/maps`);
  return best;
}

/** Deterministic addresses spread over [start, end). */
function addresses(start: number, end: number, count: number): bigint[] {
  let x = 0x9e3779b9;
  const out: bigint[] = [];
  for (let i = 0; i < count; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    out.push(BigInt(start + Math.floor((x / 0x1_0000_0000) * (end - start))));
  }
  return out;
}

const gc = (globalThis as { gc?: () => void }).gc;
const retained = () => {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
};

function timed<T>(fn: () => T): { ms: number; value: T } {
  const t0 = process.hrtime.bigint();
  const value = fn();
  return { ms: msSince(t0), value };
}

export async function symbolizeSpeed(): Promise<void> {
  const text = nodeText();
  const ips = addresses(text.start, text.end, ADDRESSES);
  note(`${fmtCount(ADDRESSES)} addresses in ${text.path} text, ${fmtMiB(text.end - text.start)} mapped at 0x${text.start.toString(16)}`);

  // Cold: ELF cache cleared, new symbolizer (maps, headers, .symtab read + sorted, lookups).
  const cold: number[] = [];
  let named = 0;
  let heapDelta = 0;
  for (let run = 0; run < COLD_RUNS; run++) {
    clearElfCache();
    gc?.();
    const before = retained();
    const symbolizer = createSymbolizer();
    const { ms, value } = timed(() => symbolizer.symbolizeUser(process.pid, ips));
    cold.push(ms);
    named = value.filter((f) => !f.name.includes('+0x')).length;
    gc?.();
    heapDelta = retained() - before; // the symbolizer and its caches are still alive here
    symbolizer.close();
  }

  // Warm: the same symbolizer again, and new symbolizers over the shared ELF cache.
  const symbolizer = createSymbolizer();
  symbolizer.symbolizeUser(process.pid, ips);
  const warmSame: number[] = [];
  const warmNew: number[] = [];
  for (let run = 0; run < WARM_RUNS; run++) {
    warmSame.push(timed(() => symbolizer.symbolizeUser(process.pid, ips)).ms);
    const fresh = createSymbolizer();
    warmNew.push(timed(() => fresh.symbolizeUser(process.pid, ips)).ms);
    fresh.close();
  }

  // Kernel: /proc/kallsyms read + sorted, then lookups.
  const kernelLoad: number[] = [];
  let ks: KernelSymbols | undefined;
  for (let run = 0; run < 3; run++) {
    const t = timed(() => KernelSymbols.read());
    kernelLoad.push(t.ms);
    ks = t.value;
  }
  let kernelLookupMs = Number.NaN;
  if (ks && !ks.hidden) {
    const lo = ks.lookup(0xffffffff81000000n) ? 0xffffffff81000000n : 0n;
    const kips = lo ? Array.from({ length: ADDRESSES }, (_, i) => lo + BigInt((i * 7919) % 0x1000000)) : [];
    const k = createSymbolizer();
    k.symbolizeKernel(kips);
    kernelLookupMs = median(Array.from({ length: 5 }, () => timed(() => k.symbolizeKernel(kips)).ms));
  }

  section(`${COLD_RUNS} cold runs (caches cleared; "first" is also JIT-cold), ${WARM_RUNS} warm runs`);
  table(
    ['case', 'first', 'median', 'per address'],
    [
      ['user cold (caches cleared)', fmtMs(cold[0] as number), fmtMs(median(cold.slice(1))), `${((median(cold.slice(1)) * 1000) / ADDRESSES).toFixed(2)} µs`],
      ['user warm (same symbolizer)', fmtMs(warmSame[0] as number), fmtMs(median(warmSame)), `${((median(warmSame) * 1000) / ADDRESSES).toFixed(2)} µs`],
      [
        'user warm (new symbolizer, ELF cached)',
        fmtMs(warmNew[0] as number),
        fmtMs(median(warmNew)),
        `${((median(warmNew) * 1000) / ADDRESSES).toFixed(2)} µs`,
      ],
      ['kallsyms read + sort', fmtMs(kernelLoad[0] as number), fmtMs(median(kernelLoad)), '-'],
      ['kernel warm', '-', fmtMs(kernelLookupMs), `${((kernelLookupMs * 1000) / ADDRESSES).toFixed(2)} µs`],
    ],
    new Set([1, 2, 3]),
  );
  kv('addresses named by a symbol', `${fmtCount(named)} of ${fmtCount(ADDRESSES)} (the rest: PLT stubs, padding)`);
  kv('user warm throughput', fmtRate((ADDRESSES / median(warmSame)) * 1000));
  kv('memory held after a cold run (heap + buffers)', gc ? fmtMiB(Math.max(0, heapDelta)) : '- (run with --expose-gc)');
  verdict(median(warmSame) <= TARGET_WARM_MS, `warm median ${fmtMs(median(warmSame))} for ${fmtCount(ADDRESSES)} addresses (≤${TARGET_WARM_MS} ms)`);
  symbolizer.close();
  clearElfCache();
}
