// Runs the replication simulation: node bin/simulate.ts [--seeds 1-500 | --seed N] [--mode fsync|lazy] [--bug NAME]
import { parseArgs } from 'node:util';
import { InvariantViolation, simulate, type PlantedBug } from '../test/sim.ts';

const { values } = parseArgs({
  options: {
    seed: { type: 'string' },
    seeds: { type: 'string', default: '1-200' },
    mode: { type: 'string', default: 'fsync' },
    bug: { type: 'string' },
    duration: { type: 'string', default: '5000' },
  },
});
const mode = values.mode;
if (mode !== 'fsync' && mode !== 'lazy') throw new Error(`--mode must be fsync or lazy, got ${mode}`);
const [from, to] = values.seed !== undefined ? [Number(values.seed), Number(values.seed)] : values.seeds.split('-').map(Number) as [number, number];
if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to) || to < from) throw new Error(`bad seed range ${values.seeds}`);

let failures = 0;
const started = performance.now();
for (let seed = from; seed <= to; seed++) {
  try {
    const s = simulate({ seed, durability: mode, durationMs: Number(values.duration), ...(values.bug ? { bug: values.bug as PlantedBug } : {}) });
    if (from === to) console.log(JSON.stringify(s));
  } catch (e) {
    if (!(e instanceof InvariantViolation)) throw e;
    failures++;
    console.log(e.message);
    if (failures >= 3) break;
  }
}
console.log(`${mode}: seeds ${from}-${to}, ${failures} failing, ${Math.round(performance.now() - started)} ms`);
process.exitCode = failures > 0 ? 1 : 0;
