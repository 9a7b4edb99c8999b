/**
 * Reproduce one simulation run: `pnpm sim --seed N --steps M [--voters V --observers O] [--verbose] [--tail L]`.
 * Prints the run's configuration and stats; on failure, the trace tail and a non-zero exit code.
 */
import { intArg, parseArgs } from './args.ts';
import { runSimulation } from './simulation.ts';

const args = parseArgs(process.argv.slice(2));
const seed = intArg(args, 'seed', 1)!;
const steps = intArg(args, 'steps', 3000)!;
const verbose = args.has('verbose');
const result = runSimulation({
  seed,
  steps,
  voters: intArg(args, 'voters', undefined),
  observers: intArg(args, 'observers', undefined),
  traceLines: intArg(args, 'tail', 120),
  onTrace: verbose ? (line) => console.log(line) : undefined,
});
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
  process.exitCode = 1;
}
