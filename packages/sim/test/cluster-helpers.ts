/** Shared by the cluster simulation tests. */
import { expect, it } from 'vitest';
import { runClusterSimulation, type ClusterSimulationOptions, type ClusterSimulationResult } from '../src/index.ts';

export const CLUSTER_STEPS = 2500;
const BATCH = 20;
/** A batch of 20 seeds takes ~5 s alone on the 2-core machine; generous for a loaded one. */
export const BATCH_TIMEOUT_MS = 120_000;

export function run(options: ClusterSimulationOptions): Promise<ClusterSimulationResult> {
  return runClusterSimulation({ traceLines: 80, ...options });
}

export function expectOk(result: ClusterSimulationResult): void {
  if (!result.ok) {
    const report = [
      result.config,
      `FAILED: ${result.failure}`,
      `replay: pnpm sim:cluster --seed ${result.seed} --steps ${CLUSTER_STEPS} --verbose`,
      ...result.traceTail.slice(-60),
    ].join('\n');
    expect.fail(report);
  }
}

/** Registers one test per batch of seeds first..first+count-1. */
export function seedBatches(first: number, count: number): void {
  for (let start = first; start < first + count; start += BATCH) {
    const end = Math.min(first + count, start + BATCH) - 1;
    it(`seeds ${start}..${end}`, async () => {
      for (let seed = start; seed <= end; seed++) expectOk(await run({ seed, steps: CLUSTER_STEPS }));
    }, BATCH_TIMEOUT_MS);
  }
}
