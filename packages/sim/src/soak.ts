/**
 * Run many seeds: `pnpm sim:soak [--seeds 10000] [--start 1] [--steps 3000] [--voters V --observers O]`.
 * Prints progress, the failing seeds (each reproducible with `pnpm sim --seed N --steps M`), counts and time.
 */
import { intArg, parseArgs } from './args.ts';
import { runSimulation } from './simulation.ts';

const args = parseArgs(process.argv.slice(2));
const seeds = intArg(args, 'seeds', 10_000)!;
const start = intArg(args, 'start', 1)!;
const steps = intArg(args, 'steps', 3000)!;
const voters = intArg(args, 'voters', undefined);
const observers = intArg(args, 'observers', undefined);

const began = performance.now();
const failures: { seed: number; failure: string }[] = [];
let ticks = 0;
let committed = 0;
let elections = 0;
let crashes = 0;
let installs = 0;
let livenessMax = 0;
for (let seed = start; seed < start + seeds; seed++) {
  const result = runSimulation({ seed, steps, voters, observers, traceLines: 1 });
  ticks += result.stats.ticks;
  committed += result.stats.committed;
  elections += result.stats.elections;
  crashes += result.stats.crashes;
  installs += result.stats.snapshotInstalls;
  livenessMax = Math.max(livenessMax, result.stats.livenessTicks);
  if (!result.ok) {
    failures.push({ seed, failure: result.failure! });
    console.log(`seed ${seed} FAILED: ${result.failure}\n  reproduce: pnpm sim --seed ${seed} --steps ${steps}${voters ? ` --voters ${voters}` : ''}${observers !== undefined ? ` --observers ${observers}` : ''}`);
  }
  const done = seed - start + 1;
  if (done % 500 === 0) console.log(`${done}/${seeds} seeds, ${failures.length} failed, ${((performance.now() - began) / 1000).toFixed(1)}s`);
}
const seconds = (performance.now() - began) / 1000;
console.log(
  `soak: ${seeds} seeds (${start}..${start + seeds - 1}) x ${steps} steps: ${seeds - failures.length} ok, ${failures.length} failed in ${seconds.toFixed(1)}s ` +
    `(${(seconds / seeds * 1000).toFixed(1)} ms/seed); totals: ${ticks} ticks, ${committed} committed entries, ${elections} elections, ${crashes} crashes, ` +
    `${installs} snapshot installs; slowest liveness recovery ${livenessMax} ticks`,
);
if (failures.length > 0) process.exitCode = 1;
