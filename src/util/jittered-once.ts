// One call a little later, at a random moment in a window: what a fleet's nodes do after the same
// event (a fan-out's start), spread instead of all at once on the Redis they share.

export interface JitteredOnce {
  /** Calls `work` once, between `ms` and twice `ms` from now; replaces a call still pending. */
  schedule(): void;
  /** The pending call, if any, is not made. */
  cancel(): void;
}

export function jitteredOnce(work: () => unknown, ms: number, random: () => number = Math.random): JitteredOnce {
  let timer: NodeJS.Timeout | undefined;
  const cancel = () => {
    clearTimeout(timer);
    timer = undefined;
  };
  return {
    schedule() {
      cancel();
      timer = setTimeout(
        () => {
          timer = undefined;
          void work();
        },
        ms * (1 + random()),
      ).unref();
    },
    cancel,
  };
}
