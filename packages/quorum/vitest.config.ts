import { defineConfig } from 'vitest/config';

// The process tests start real quorums; every wait inside them is bounded well below this.
export default defineConfig({ test: { testTimeout: 120_000, hookTimeout: 30_000 } });
