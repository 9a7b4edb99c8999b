/**
 * The nemesis schedule: which fault, on which nodes, from when to when. Pure data made from a seed, so a
 * failing run can be replayed exactly; a runner (processes or containers) turns each event into an action.
 *
 * Shape: a quiet period, then a fault window, then a quiet period, ... Faults rotate in the order given;
 * window and quiet lengths and the targets are drawn from the seed. Every window is healed before the
 * next begins, and the schedule ends with everything healed.
 *
 * Everything is validated before anything starts: `validateNemesisConfig` returns every problem at once,
 * and `nemesisSchedule` throws a NemesisConfigError listing them.
 */
import { seededRng, type Rng } from '@tributary/common';

export const FAULT_KINDS = [
  'kill', 'stop', 'pause', 'partition', 'latency', 'loss', 'reorder', 'disk-full', 'disk-readonly', 'power-loss',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** What the runner does to begin and to heal each fault. */
export const FAULT_ACTIONS: Readonly<Record<FaultKind, { readonly start: string; readonly stop: string }>> = {
  kill: { start: 'kill -9', stop: 'restart' },
  stop: { start: 'graceful stop', stop: 'restart' },
  pause: { start: 'pause', stop: 'resume' },
  partition: { start: 'partition', stop: 'heal' },
  latency: { start: 'netem delay', stop: 'netem clear' },
  loss: { start: 'netem loss', stop: 'netem clear' },
  reorder: { start: 'netem reorder', stop: 'netem clear' },
  'disk-full': { start: 'fill disk', stop: 'free disk' },
  'disk-readonly': { start: 'remount read-only', stop: 'remount read-write' },
  // Lose what was written but not fsynced: kill, drop the page cache's unsynced writes, restart.
  'power-loss': { start: 'power off (drop unsynced writes)', stop: 'power on' },
};

/** The client (workload) side of a client↔nodes partition. */
export const CLIENT = 'client';

/** `combined`: every controller is also a broker (nodes n1..nN); otherwise controllers c1.. and brokers b1... */
export interface ClusterSpec {
  readonly controllers: number;
  readonly brokers: number;
  readonly combined: boolean;
  readonly replicationFactor: number;
}

export const CONTROLLERS_MAX = 9;
/** The longest netem delay or jitter a schedule may ask for. */
export const NETEM_DELAY_MS_MAX = 10_000;
export const BROKERS_MAX = 64;

/** Which nodes a fault hits: one at random, a random minority or majority, every node, or named nodes. */
export type TargetSpec = 'one' | 'minority' | 'majority' | 'all' | 'controllers' | 'brokers' | readonly string[];

export type FaultSpec =
  | { readonly fault: 'kill' | 'stop' | 'pause' | 'disk-full' | 'disk-readonly' | 'power-loss'; readonly targets?: TargetSpec }
  | {
    readonly fault: 'partition';
    /**
     * `halves`: a random split into two sides; `isolate`: one random node alone; `client`: the client from
     * some nodes (`targets`); `explicit`: the given `sides`.
     */
    readonly mode?: 'halves' | 'isolate' | 'client' | 'explicit';
    readonly sides?: readonly [readonly string[], readonly string[]];
    readonly targets?: TargetSpec;
    /** Drop traffic from side A to side B only. */
    readonly oneWay?: boolean;
  }
  | { readonly fault: 'latency'; readonly delayMs: number; readonly jitterMs?: number; readonly targets?: TargetSpec }
  | { readonly fault: 'loss'; readonly percent: number; readonly targets?: TargetSpec }
  | { readonly fault: 'reorder'; readonly percent: number; readonly delayMs: number; readonly targets?: TargetSpec };

export interface NemesisConfig {
  readonly seed: number;
  readonly cluster: ClusterSpec;
  readonly faults: readonly FaultSpec[];
  /** Total length; the last window is healed by then. */
  readonly durationMs: number;
  readonly faultMs: readonly [number, number];
  readonly quietMs: readonly [number, number];
}

export interface NemesisEvent {
  readonly atMs: number;
  readonly phase: 'start' | 'stop';
  readonly fault: FaultKind;
  /** The runner's action, e.g. `kill -9` / `restart`. */
  readonly action: string;
  /** The nodes acted on (for partitions: both sides, side A first). */
  readonly targets: readonly string[];
  /** Partitions: the two sides (A → B dropped; both ways unless oneWay). */
  readonly sides?: readonly [readonly string[], readonly string[]];
  readonly oneWay?: boolean;
  /** Netem parameters. */
  readonly params?: Readonly<Record<string, number>>;
  /** Index of the window this event opens or closes. */
  readonly window: number;
}

export interface NemesisSchedule {
  readonly seed: number;
  readonly nodes: readonly string[];
  readonly controllers: readonly string[];
  readonly brokers: readonly string[];
  readonly durationMs: number;
  readonly events: readonly NemesisEvent[];
}

export class NemesisConfigError extends Error {
  override name = 'NemesisConfigError';
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`invalid nemesis configuration:\n  - ${problems.join('\n  - ')}`);
    this.problems = problems;
  }
}

export function clusterNodes(cluster: ClusterSpec): { nodes: string[]; controllers: string[]; brokers: string[] } {
  if (cluster.combined) {
    const nodes = Array.from({ length: cluster.controllers }, (_, i) => `n${i + 1}`);
    return { nodes, controllers: nodes, brokers: nodes };
  }
  const controllers = Array.from({ length: cluster.controllers }, (_, i) => `c${i + 1}`);
  const brokers = Array.from({ length: cluster.brokers }, (_, i) => `b${i + 1}`);
  return { nodes: [...controllers, ...brokers], controllers, brokers };
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return row[b.length]!;
}

const isInt = (v: unknown): v is number => Number.isSafeInteger(v);

export function validateClusterSpec(cluster: ClusterSpec): string[] {
  const problems: string[] = [];
  const { controllers, brokers, replicationFactor } = cluster;
  if (!isInt(controllers) || controllers < 1) problems.push(`cluster.controllers must be an integer >= 1 (a cluster needs a controller quorum), got ${String(controllers)}`);
  else if (controllers > CONTROLLERS_MAX) problems.push(`cluster.controllers is ${controllers}: at most ${CONTROLLERS_MAX} controllers (a larger quorum only slows commits)`);
  if (!isInt(brokers) || brokers < 1) problems.push(`cluster.brokers must be an integer >= 1, got ${String(brokers)}`);
  else if (brokers > BROKERS_MAX) problems.push(`cluster.brokers is ${brokers}: at most ${BROKERS_MAX}`);
  if (cluster.combined && isInt(controllers) && isInt(brokers) && controllers !== brokers) {
    problems.push(`cluster.combined: every node is both controller and broker, so controllers (${controllers}) must equal brokers (${brokers})`);
  }
  if (!isInt(replicationFactor) || replicationFactor < 1) problems.push(`cluster.replicationFactor must be an integer >= 1, got ${String(replicationFactor)}`);
  else if (isInt(brokers) && brokers >= 1 && replicationFactor > brokers) problems.push(`cluster.replicationFactor ${replicationFactor} needs at least ${replicationFactor} brokers, the cluster has ${brokers}`);
  return problems;
}

export function validateNemesisConfig(config: NemesisConfig): string[] {
  const problems: string[] = [];
  if (!isInt(config.seed)) problems.push(`seed must be an integer, got ${String(config.seed)}`);
  const clusterProblems = validateClusterSpec(config.cluster);
  problems.push(...clusterProblems);
  const known = clusterProblems.length === 0 ? new Set(clusterNodes(config.cluster).nodes) : null;
  const checkNames = (where: string, names: readonly string[], allowClient: boolean): void => {
    if (!known) return;
    for (const name of names) {
      if (known.has(name) || (allowClient && name === CLIENT)) continue;
      problems.push(`${where}: node "${name}" does not exist; the cluster has ${[...known].join(', ')}${allowClient ? ` (and "${CLIENT}")` : ''}`);
    }
  };
  const checkTargets = (where: string, targets: TargetSpec | undefined, allowClient = false): void => {
    if (targets === undefined) return;
    if (typeof targets === 'string') {
      if (!['one', 'minority', 'majority', 'all', 'controllers', 'brokers'].includes(targets)) problems.push(`${where}.targets: unknown selector "${targets}": expected one, minority, majority, all, controllers, brokers or a list of node names`);
      return;
    }
    if (!Array.isArray(targets) || targets.length === 0) {
      problems.push(`${where}.targets: a list of node names must not be empty`);
      return;
    }
    checkNames(`${where}.targets`, targets, allowClient);
  };
  const percent = (where: string, v: unknown): void => {
    if (typeof v !== 'number' || !(v > 0 && v <= 100)) problems.push(`${where}: percent must be in (0, 100], got ${String(v)}`);
  };
  // Past 10 s every client and replica times out: that is a partition, which has its own fault.
  const netemMs = (where: string, name: string, v: unknown, min = 1): void => {
    if (!isInt(v) || (v as number) < min || (v as number) > NETEM_DELAY_MS_MAX) problems.push(`${where}: ${name} must be an integer number of milliseconds in ${min}..${NETEM_DELAY_MS_MAX}, got ${String(v)}`);
  };

  if (!Array.isArray(config.faults) || config.faults.length === 0) problems.push('faults must list at least one fault');
  (config.faults ?? []).forEach((spec, i) => {
    const where = `faults[${i}]`;
    const name = (spec as { fault: unknown }).fault;
    if (typeof name !== 'string' || !(FAULT_KINDS as readonly string[]).includes(name)) {
      const guess = typeof name === 'string' ? [...FAULT_KINDS].sort((a, b) => editDistance(name, a) - editDistance(name, b))[0]! : null;
      const hint = guess !== null && editDistance(name as string, guess) <= 2 ? ` (did you mean "${guess}"?)` : '';
      problems.push(`${where}: unknown fault ${JSON.stringify(name)}${hint}; known faults: ${FAULT_KINDS.join(', ')}`);
      return;
    }
    switch (spec.fault) {
      case 'partition': {
        const mode = spec.mode ?? 'halves';
        if (!['halves', 'isolate', 'client', 'explicit'].includes(mode)) {
          problems.push(`${where}: unknown partition mode "${mode}": expected halves, isolate, client or explicit`);
          break;
        }
        if (mode === 'explicit') {
          const sides = spec.sides;
          if (!Array.isArray(sides) || sides.length !== 2 || !sides.every((s) => Array.isArray(s) && s.length > 0)) {
            problems.push(`${where}: an explicit partition needs sides: two non-empty lists of node names`);
            break;
          }
          checkNames(`${where}.sides[0]`, sides[0], true);
          checkNames(`${where}.sides[1]`, sides[1], true);
          const overlap = sides[0].filter((n) => sides[1].includes(n));
          if (overlap.length > 0) problems.push(`${where}: node(s) ${overlap.join(', ')} on both sides of the partition`);
        } else if (spec.sides !== undefined) {
          problems.push(`${where}: sides is only for mode "explicit" (mode is "${mode}")`);
        }
        if (mode === 'halves' && known && known.size < 2) problems.push(`${where}: a partition into halves needs at least 2 nodes`);
        checkTargets(where, spec.targets);
        break;
      }
      case 'latency':
        netemMs(where, 'delayMs', spec.delayMs);
        if (spec.jitterMs !== undefined) netemMs(where, 'jitterMs', spec.jitterMs, 0);
        checkTargets(where, spec.targets);
        break;
      case 'loss':
        percent(where, spec.percent);
        checkTargets(where, spec.targets);
        break;
      case 'reorder':
        percent(where, spec.percent);
        // netem reorders only packets it delays: without a delay there is nothing to reorder.
        netemMs(where, 'delayMs (reorder needs a delay)', spec.delayMs);
        checkTargets(where, spec.targets);
        break;
      default:
        checkTargets(where, spec.targets);
        break;
    }
  });

  const range = (name: string, r: readonly [number, number] | undefined): void => {
    if (!Array.isArray(r) || r.length !== 2 || !isInt(r[0]) || !isInt(r[1]) || r[0] < 1 || r[1] < r[0]) {
      problems.push(`${name} must be [min, max] integers with 1 <= min <= max, got ${JSON.stringify(r)}`);
    }
  };
  range('faultMs', config.faultMs);
  range('quietMs', config.quietMs);
  if (!isInt(config.durationMs) || config.durationMs < 1) problems.push(`durationMs must be an integer >= 1, got ${String(config.durationMs)}`);
  else if (problems.length === 0 && config.durationMs < config.quietMs[0] + config.faultMs[0] + config.quietMs[0]) {
    problems.push(`durationMs ${config.durationMs} is too short for one fault window (quiet ${config.quietMs[0]} + fault ${config.faultMs[0]} + quiet ${config.quietMs[0]})`);
  }
  return problems;
}

const between = (rng: Rng, [min, max]: readonly [number, number]): number => min + rng.int(max - min + 1);

function shuffled<T>(rng: Rng, items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

function pickTargets(rng: Rng, spec: TargetSpec | undefined, all: { nodes: string[]; controllers: string[]; brokers: string[] }): string[] {
  const nodes = all.nodes;
  const sel = spec ?? 'one';
  if (typeof sel !== 'string') return [...sel];
  switch (sel) {
    case 'one': return [nodes[rng.int(nodes.length)]!];
    case 'minority': return shuffled(rng, nodes).slice(0, Math.max(1, Math.floor((nodes.length - 1) / 2))).sort();
    case 'majority': return shuffled(rng, nodes).slice(0, Math.floor(nodes.length / 2) + 1).sort();
    case 'all': return [...nodes];
    case 'controllers': return [...all.controllers];
    case 'brokers': return [...all.brokers];
    default: throw new NemesisConfigError([`unknown selector ${String(sel)}`]);
  }
}

/** Validates, then draws the whole schedule from the seed. Same config → same schedule. */
export function nemesisSchedule(config: NemesisConfig): NemesisSchedule {
  const problems = validateNemesisConfig(config);
  if (problems.length > 0) throw new NemesisConfigError(problems);
  const rng = seededRng(config.seed);
  const all = clusterNodes(config.cluster);
  const events: NemesisEvent[] = [];
  let t = between(rng, config.quietMs);
  let window = 0;
  // Bounded: each window advances t by at least faultMs[0] + quietMs[0] >= 2.
  for (;;) {
    const spec = config.faults[window % config.faults.length]!;
    const faultMs = between(rng, config.faultMs);
    if (t + faultMs + config.quietMs[0] > config.durationMs) break;
    const base = { fault: spec.fault, window };
    let fields: Omit<NemesisEvent, 'atMs' | 'phase' | 'action' | 'fault' | 'window'>;
    if (spec.fault === 'partition') {
      const mode = spec.mode ?? 'halves';
      let sides: [string[], string[]];
      if (mode === 'explicit') sides = [[...spec.sides![0]], [...spec.sides![1]]];
      else if (mode === 'client') sides = [[CLIENT], pickTargets(rng, spec.targets ?? 'all', all)];
      else if (mode === 'isolate') {
        const alone = pickTargets(rng, spec.targets ?? 'one', all);
        sides = [alone, all.nodes.filter((n) => !alone.includes(n))];
      } else {
        const order = shuffled(rng, all.nodes);
        const cut = Math.floor(order.length / 2);
        sides = [order.slice(0, cut).sort(), order.slice(cut).sort()];
      }
      fields = { targets: [...sides[0], ...sides[1]], sides, oneWay: spec.oneWay ?? false };
    } else {
      const targets = pickTargets(rng, spec.targets, all);
      let params: Record<string, number> | undefined;
      if (spec.fault === 'latency') params = { delayMs: spec.delayMs, jitterMs: spec.jitterMs ?? 0 };
      else if (spec.fault === 'loss') params = { percent: spec.percent };
      else if (spec.fault === 'reorder') params = { percent: spec.percent, delayMs: spec.delayMs };
      fields = params ? { targets, params } : { targets };
    }
    events.push({ atMs: t, phase: 'start', action: FAULT_ACTIONS[spec.fault].start, ...base, ...fields });
    t += faultMs;
    events.push({ atMs: t, phase: 'stop', action: FAULT_ACTIONS[spec.fault].stop, ...base, ...fields });
    t += between(rng, config.quietMs);
    window++;
  }
  return { seed: config.seed, ...all, durationMs: config.durationMs, events };
}

/** The schedule as history ops, so the checker and the report shade the fault windows. */
export function scheduleToHistory(schedule: NemesisSchedule, startMs = 0): { type: 'nemesis'; fault: string; phase: 'start' | 'stop'; detail: string; timeMs: number }[] {
  return schedule.events.map((e) => ({
    type: 'nemesis' as const,
    fault: e.fault,
    phase: e.phase,
    detail: describeEvent(e),
    timeMs: startMs + e.atMs,
  }));
}

export function describeEvent(e: NemesisEvent): string {
  const what = e.sides
    ? `${e.sides[0].join(',')} ${e.oneWay ? '-/->' : '<-/->'} ${e.sides[1].join(',')}`
    : e.targets.join(',');
  const params = e.params ? ' ' + Object.entries(e.params).map(([k, v]) => `${k}=${v}`).join(' ') : '';
  return `${e.action} ${what}${params}`;
}
