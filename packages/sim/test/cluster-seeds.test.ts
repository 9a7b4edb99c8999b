/**
 * The cluster simulation over a fixed seed list (seeds 1..200). A failing seed prints its configuration, the
 * failure and the trace tail, and replays with `pnpm sim:cluster --seed N --steps M --verbose`. Split in batches
 * so a failure names a small range; the other half of the list runs in cluster-seeds-2.test.ts (a second file,
 * so vitest can use both cores).
 */
import { describe } from 'vitest';
import { CLUSTER_STEPS, seedBatches } from './cluster-helpers.ts';

describe(`cluster simulation: seeds 1..100 x ${CLUSTER_STEPS} steps`, () => {
  seedBatches(1, 100);
});
