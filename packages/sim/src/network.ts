/**
 * A simulated network: every message gets a random delay (so messages reorder), may be dropped or
 * duplicated, and is lost if its link is blocked when it arrives. Links are directed, so partitions can be
 * symmetric (two groups) or one-way.
 */
import { assert, type Rng } from '@tributary/common';
import type { Message } from '@tributary/raft';

export interface NetworkFaults {
  dropProbability: number;
  duplicateProbability: number;
  /** Each copy arrives 1..maxDelayTicks ticks after it is sent. */
  maxDelayTicks: number;
}

/** Anything with a sender and an addressee can travel (Raft messages, the cluster simulation's RPCs). */
export interface Addressed {
  readonly from: number;
  readonly to: number;
}

interface InFlight<M> {
  message: M;
  dueTick: number;
  /** Tie-break for a stable order among messages due at the same tick. */
  seq: number;
}

/** A bound on messages in flight; beyond it new messages are dropped (a congested network). */
export const MAX_IN_FLIGHT = 100_000;

export class SimNetwork<M extends Addressed = Message> {
  readonly #rng: Rng;
  faults: NetworkFaults;
  #inFlight: InFlight<M>[] = [];
  #seq = 0;
  /** Directed links "from->to" that drop everything. */
  #blocked = new Set<string>();
  stats = { sent: 0, delivered: 0, dropped: 0, duplicated: 0, blocked: 0 };

  constructor(rng: Rng, faults: NetworkFaults) {
    assert(faults.maxDelayTicks >= 1, 'messages take at least a tick');
    this.#rng = rng;
    this.faults = faults;
  }

  get inFlight(): number {
    return this.#inFlight.length;
  }

  send(message: M, now: number): void {
    this.stats.sent++;
    if (this.#rng.next() < this.faults.dropProbability || this.#inFlight.length >= MAX_IN_FLIGHT) {
      this.stats.dropped++;
      return;
    }
    this.#enqueue(message, now);
    if (this.#rng.next() < this.faults.duplicateProbability) {
      this.stats.duplicated++;
      this.#enqueue(message, now);
    }
  }

  #enqueue(message: M, now: number): void {
    this.#inFlight.push({ message, dueTick: now + 1 + this.#rng.int(this.faults.maxDelayTicks), seq: this.#seq++ });
  }

  hasDue(now: number): boolean {
    return this.#inFlight.some((m) => m.dueTick <= now);
  }


  /** Removes and returns a random message due by `now` (random choice = reordering among due messages). */
  takeDue(now: number): M | null {
    const due: number[] = [];
    for (let i = 0; i < this.#inFlight.length; i++) if (this.#inFlight[i]!.dueTick <= now) due.push(i);
    if (due.length === 0) return null;
    const index = due[this.#rng.int(due.length)]!;
    const [taken] = this.#inFlight.splice(index, 1);
    return taken!.message;
  }

  canDeliver(message: M): boolean {
    return !this.#blocked.has(`${message.from}->${message.to}`);
  }

  /** Drop everything addressed to or from a node (it crashed: its sockets are gone). */
  dropNode(nodeId: number): void {
    this.#inFlight = this.#inFlight.filter((m) => m.message.to !== nodeId && m.message.from !== nodeId);
  }

  block(from: number, to: number): void {
    this.#blocked.add(`${from}->${to}`);
  }

  /** Split into groups that cannot talk to each other. */
  partition(groups: readonly (readonly number[])[]): void {
    for (let a = 0; a < groups.length; a++) {
      for (let b = 0; b < groups.length; b++) {
        if (a === b) continue;
        for (const x of groups[a]!) for (const y of groups[b]!) this.block(x, y);
      }
    }
  }

  heal(): void {
    this.#blocked.clear();
  }

  get isPartitioned(): boolean {
    return this.#blocked.size > 0;
  }

  describePartition(): string {
    return [...this.#blocked].sort().join(' ');
  }
}
