/** Seeds 101..200 of the cluster simulation's fixed list (see cluster-seeds.test.ts). */
import { describe } from 'vitest';
import { CLUSTER_STEPS, seedBatches } from './cluster-helpers.ts';

describe(`cluster simulation: seeds 101..200 x ${CLUSTER_STEPS} steps`, () => {
  seedBatches(101, 100);
});
