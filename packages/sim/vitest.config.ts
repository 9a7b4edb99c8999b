import { defineConfig } from 'vitest/config';

// The seed-list tests are CPU-bound batches (a few seconds each alone); on a loaded 2-core machine the default 5 s
// per test is too tight. Files still run in parallel: the two cluster seed files use both cores.
export default defineConfig({ test: { testTimeout: 120_000 } });
