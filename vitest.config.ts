import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // koffi and BPF handles belong to a process; forks keep each file's own.
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Tests drive the real kernel, real TCP timers and real processes on a shared
    // 2-core machine: one more try for a test that failed, and every test that
    // needed it is listed at the end (test/helpers/flaky-reporter.ts).
    retry: 1,
    reporters: ['default', './test/helpers/flaky-reporter.ts'],
  },
});
