import { defineConfig } from 'vitest/config';

// Black-box tests spawn real daemons and real clients: generous timeouts, one file at a time
// (two cores, and every file starts its own node).
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    fileParallelism: false,
    testTimeout: 240_000,
    hookTimeout: 120_000,
    teardownTimeout: 30_000,
    reporters: ['default'],
  },
});
