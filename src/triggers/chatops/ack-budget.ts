// Slack drops a slash command not answered within 3 s. Work that needs Redis
// gets at most ACK_BUDGET_MS of that; past it the ack goes out and the work's
// outcome follows on response_url.
export const ACK_BUDGET_MS = 2_000;

export type Raced<T> = { inTime: true; value: T } | { inTime: false };

/** `work`'s value if it settles within `ms` (its rejection is rethrown), else `{inTime: false}`; `work` goes on either way. */
export async function withinBudget<T>(work: Promise<T>, ms: number = ACK_BUDGET_MS): Promise<Raced<T>> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<Raced<T>>((resolve) => (timer = setTimeout(() => resolve({ inTime: false }), ms)));
  try {
    return await Promise.race([work.then((value): Raced<T> => ({ inTime: true, value })), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** `work`, or undefined as soon as `signal` aborts (the work itself goes on; nobody waits for it). */
export async function unlessAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T | undefined> {
  if (signal.aborted) return undefined;
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<undefined>((resolve) => signal.addEventListener('abort', (onAbort = () => resolve(undefined)), { once: true }));
  try {
    return await Promise.race([work, aborted]);
  } finally {
    signal.removeEventListener('abort', onAbort!);
  }
}
