/** The real ports for a quorum process: wall/monotonic clock, setTimeout timer, crypto randomness, JSON-line logger. */
import type { Clock, Logger, Rng, Timer } from '@tributary/common';
import { randomInt } from 'node:crypto';

export const systemClock: Clock = {
  nowMs: () => Date.now(),
  monotonicMs: () => performance.now(),
};

export const systemTimer: Timer = {
  after(delayMs, fn) {
    const handle = setTimeout(fn, Math.max(0, Math.min(delayMs, 2_147_483_647)));
    return { cancel: () => clearTimeout(handle) };
  },
};

export const cryptoRng: Rng = {
  // randomInt needs max - min < 2^48.
  next: () => randomInt(0, 2 ** 47) / 2 ** 47,
  int: (bound) => randomInt(0, bound),
};

const LEVELS = { debug: 10, info: 20, warn: 30, error: 40 } as const;
type Level = keyof typeof LEVELS;

/** JSON lines on stderr at `level` and above. */
export function jsonLogger(level: Level = 'info', bindings: Record<string, unknown> = {}): Logger {
  const min = LEVELS[level] ?? LEVELS.info;
  const write = (l: Level, obj: object, msg?: string): void => {
    if (LEVELS[l] < min) return;
    process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), level: l, ...bindings, ...obj, msg })}\n`);
  };
  return {
    debug: (obj, msg) => write('debug', obj, msg),
    info: (obj, msg) => write('info', obj, msg),
    warn: (obj, msg) => write('warn', obj, msg),
    error: (obj, msg) => write('error', obj, msg),
    child: (more) => jsonLogger(level, { ...bindings, ...more }),
  };
}

export function isLogLevel(s: string): s is Level {
  return s in LEVELS;
}
