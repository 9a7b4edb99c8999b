import { defineConfig } from 'vitest/config';

// The process tests start real controller quorums (every wait inside them is bounded well below this) and measure a
// failover: files run one at a time so they do not compete for the two cores.
export default defineConfig({ test: { testTimeout: 180_000, hookTimeout: 30_000, fileParallelism: false } });
