import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // koffi and BPF handles belong to a process; forks keep each file's own.
    pool: 'forks',
    // One file at a time (2 CPUs, tests that time the real kernel), in one worker whose modules are
    // imported once: each file importing Sherlock afresh cost ~100 s of a full run. Every file cleans up
    // what it made (BPF links, processes, Redis keys), which is what keeps them apart.
    maxWorkers: 1,
    isolate: false,
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Tests drive the real kernel, real TCP timers and real processes on a shared
    // 2-core machine: one more try for a test that failed, and every test that
    // needed it is listed at the end (test/helpers/flaky-reporter.ts).
    retry: 1,
    reporters: ['default', './test/helpers/flaky-reporter.ts'],
    // ioredis rejects what BullMQ left queued on a connection closed under it at shutdown, and nothing awaits it
    // (taskforcesh/bullmq#3546): once in a full run, right after a Redis restart (test/server/redis-restart.test.ts).
    // Only that rejection, raised in ioredis's own close handler, is let go; any other fails the run.
    onUnhandledError: (error) =>
      !(error.message === 'Connection is closed.' && /^\s+at close \S*ioredis\/built\/redis\/event_handler\.js/m.test(error.stack ?? '')),
  },
});
