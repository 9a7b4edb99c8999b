/**
 * Simulated time for the cluster simulation: one clock (ticks x tickMs) and timers owned by a process
 * incarnation, so a crash cancels everything the dead process had scheduled. QuorumController takes its Clock
 * and Timer from here, which makes its session expiry, operation timeouts and long polls follow the seed.
 */
import { assert, type Clock, type Timer, type TimerHandle } from '@tributary/common';

interface Task {
  readonly atMs: number;
  /** Tie-break: tasks due at the same time run in the order they were scheduled. */
  readonly seq: number;
  readonly owner: number;
  readonly fn: () => void;
  cancelled: boolean;
}

/** Timers alive at once; a process that schedules beyond it is a leak (every QuorumController timer is bounded). */
export const MAX_TIMERS = 200_000;

export class SimScheduler implements Clock {
  readonly tickMs: number;
  #nowMs = 0;
  #seq = 0;
  #tasks: Task[] = [];
  #live = 0;

  constructor(tickMs: number) {
    assert(Number.isInteger(tickMs) && tickMs > 0, 'tickMs must be a positive integer');
    this.tickMs = tickMs;
  }

  nowMs(): number {
    return this.#nowMs;
  }

  monotonicMs(): number {
    return this.#nowMs;
  }

  /** A Timer whose tasks die with `owner` (see cancelOwner). */
  timerFor(owner: number): Timer {
    return {
      after: (delayMs: number, fn: () => void): TimerHandle => {
        assert(this.#live < MAX_TIMERS, () => `more than ${MAX_TIMERS} simulated timers pending (owner ${owner}): a timer leak`);
        const task: Task = { atMs: this.#nowMs + Math.max(0, delayMs), seq: this.#seq++, owner, fn, cancelled: false };
        this.#tasks.push(task);
        this.#live++;
        return {
          cancel: () => {
            if (task.cancelled) return;
            task.cancelled = true;
            this.#live--;
          },
        };
      },
    };
  }

  /** The process died: its timers never fire. */
  cancelOwner(owner: number): void {
    for (const t of this.#tasks) {
      if (t.owner === owner && !t.cancelled) {
        t.cancelled = true;
        this.#live--;
      }
    }
  }

  /**
   * Moves the clock one tick and returns the tasks now due, earliest first, removed from the queue; the caller
   * runs them one at a time (draining microtasks between them). Tasks they schedule for now run next tick.
   */
  tick(): (() => void)[] {
    this.#nowMs += this.tickMs;
    const due: Task[] = [];
    const rest: Task[] = [];
    for (const t of this.#tasks) {
      if (t.cancelled) continue;
      if (t.atMs <= this.#nowMs) due.push(t);
      else rest.push(t);
    }
    this.#tasks = rest;
    due.sort((a, b) => a.atMs - b.atMs || a.seq - b.seq);
    return due.map((t) => () => {
      if (t.cancelled) return;
      t.cancelled = true;
      this.#live--;
      t.fn();
    });
  }
}
