import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // koffi and BPF handles belong to a process; forks keep each file's own.
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
