/** Ports: time, randomness and logging enter pure code only through these. */

export interface Clock {
  /** Wall-clock milliseconds since the epoch (record timestamps, retention). */
  nowMs(): number;
  /** Monotonic milliseconds for timeouts and durations; never goes back. */
  monotonicMs(): number;
}

export interface TimerHandle {
  cancel(): void;
}

export interface Timer {
  after(delayMs: number, fn: () => void): TimerHandle;
}

export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [0, bound). */
  int(bound: number): number;
}

/** The subset of pino's logger the project uses, so tests can pass a silent or recording logger. */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  child(bindings: Record<string, unknown>): Logger;
}

export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return silentLogger;
  },
};

/** A deterministic generator (mulberry32) for simulations and tests, reproducible from its seed. */
export function seededRng(seed: number): Rng {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (bound) => Math.floor(next() * bound) };
}

/** A manual clock for tests and simulation. */
export class ManualClock implements Clock {
  #wallMs: number;
  #monoMs = 0;
  constructor(startWallMs = 1_700_000_000_000) {
    this.#wallMs = startWallMs;
  }
  nowMs(): number {
    return this.#wallMs;
  }
  monotonicMs(): number {
    return this.#monoMs;
  }
  advance(ms: number): void {
    this.#wallMs += ms;
    this.#monoMs += ms;
  }
}
