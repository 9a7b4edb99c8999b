/**
 * `pnpm sim:cluster --seeds N [--start 1] [--steps S] [--brokers B]`: runs seeds start..start+N-1 and prints each
 * failure with the command that replays it, then a summary.
 * `pnpm sim:cluster --seed X [--steps S] [--brokers B] [--tail L] [--verbose] [--planted-bug keep-fenced-leader]`:
 * one seed, its configuration and stats; on failure the trace tail and exit code 1.
 */
import { intArg, parseArgs } from '../args.ts';
import { runClusterSimulation, type PlantedBug } from './simulation.ts';

const DEFAULT_CLUSTER_STEPS = 2500;

const args = parseArgs(process.argv.slice(2));
const steps = intArg(args, 'steps', DEFAULT_CLUSTER_STEPS)!;
const brokers = intArg(args, 'brokers', undefined);
const planted = args.get('planted-bug');
if (planted !== undefined && planted !== 'keep-fenced-leader') throw new Error(`--planted-bug must be keep-fenced-leader, got ${planted}`);
const plantedBug: PlantedBug = planted ?? 'none';
const extra = `${brokers !== undefined ? ` --brokers ${brokers}` : ''}${planted !== undefined ? ` --planted-bug ${planted}` : ''}`;

if (args.has('seed')) {
  const seed = intArg(args, 'seed', 1)!;
  const verbose = args.has('verbose');
  const result = await runClusterSimulation({ seed, steps, brokers, plantedBug, traceLines: intArg(args, 'tail', 120), onTrace: verbose ? (line) => console.log(line) : undefined });
  console.log(result.config);
  console.log(JSON.stringify(result.stats));
  if (result.ok) {
    console.log(`seed ${seed}: ok`);
  } else {
    if (!verbose) {
      console.log(`--- last ${result.traceTail.length} trace lines ---`);
      for (const line of result.traceTail) console.log(line);
    }
    console.log(`seed ${seed}: FAILED: ${result.failure}`);
    console.log(`replay: pnpm sim:cluster --seed ${seed} --steps ${steps}${extra} --verbose`);
    process.exitCode = 1;
  }
} else {
  const seeds = intArg(args, 'seeds', 200)!;
  const start = intArg(args, 'start', 1)!;
  const began = performance.now();
  const failures: { seed: number; failure: string }[] = [];
  const totals = { ticks: 0, committedEntries: 0, elections: 0, activations: 0, controllerCrashes: 0, brokerCrashes: 0, fences: 0, leaderlessPartitions: 0, topicsCreated: 0, alterPartitionsOk: 0, brokerSnapshotInstalls: 0, raftSnapshotInstalls: 0 };
  let livenessMax = 0;
  for (let seed = start; seed < start + seeds; seed++) {
    const result = await runClusterSimulation({ seed, steps, brokers, plantedBug, traceLines: 1 });
    for (const key of Object.keys(totals) as (keyof typeof totals)[]) totals[key] += result.stats[key];
    livenessMax = Math.max(livenessMax, result.stats.livenessTicks);
    if (!result.ok) {
      failures.push({ seed, failure: result.failure! });
      console.log(`seed ${seed} FAILED: ${result.failure}\n  replay: pnpm sim:cluster --seed ${seed} --steps ${steps}${extra}`);
    }
    const done = seed - start + 1;
    if (done % 50 === 0) console.log(`${done}/${seeds} seeds, ${failures.length} failed, ${((performance.now() - began) / 1000).toFixed(1)}s`);
  }
  const seconds = (performance.now() - began) / 1000;
  console.log(
    `sim:cluster: ${seeds} seeds (${start}..${start + seeds - 1}) x ${steps} steps: ${seeds - failures.length} ok, ${failures.length} failed in ${seconds.toFixed(1)}s ` +
      `(${((seconds / seeds) * 1000).toFixed(0)} ms/seed); totals: ${JSON.stringify(totals)}; slowest liveness ${livenessMax} ticks`,
  );
  if (failures.length > 0) {
    console.log(`first failing seed ${failures[0]!.seed}: pnpm sim:cluster --seed ${failures[0]!.seed} --steps ${steps}${extra} --verbose`);
    process.exitCode = 1;
  }
}
