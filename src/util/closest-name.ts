// "Did you mean ...?": the known name nearest to a word someone typed (chat
// commands, config keys, runbook names).

/** Levenshtein distance, bounded inputs (names of at most 100 characters). */
export function editDistance(a: string, b: string): number {
  a = a.slice(0, 100);
  b = b.slice(0, 100);
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}

/** The known name nearest to `word` (runbook names and aliases), if any is reasonably close. */
export function closestName(word: string, names: string[]): string | undefined {
  let best: { name: string; d: number } | undefined;
  for (const name of names) {
    const d = editDistance(word.toLowerCase(), name);
    if (!best || d < best.d) best = { name, d };
  }
  if (!best) return undefined;
  return best.d <= Math.max(2, Math.ceil(best.name.length / 2)) ? best.name : undefined;
}
