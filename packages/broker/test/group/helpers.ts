import { assert, ManualClock, seededRng, type Timer, type TimerHandle } from '@tributary/common';
import { encodeSubscription } from '@tributary/protocol';
import { GroupCoordinator, type GroupConfig } from '../../src/group/index.ts';
import type { JoinGroupRequest, JoinGroupResponse, RequestContext, SyncGroupResponse } from '../../src/group/messages.ts';
import { InMemoryGroupStore } from '../../src/group/store.ts';

interface Scheduled {
  dueMs: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

/** A deterministic timer: nothing fires until `advance`, which runs due callbacks in (time, schedule) order. */
export class FakeTimer implements Timer {
  readonly clock: ManualClock;
  #nowMs = 0;
  #seq = 0;
  #scheduled: Scheduled[] = [];

  constructor(clock = new ManualClock()) {
    this.clock = clock;
  }

  after(delayMs: number, fn: () => void): TimerHandle {
    const entry: Scheduled = { dueMs: this.#nowMs + Math.max(0, delayMs), seq: this.#seq++, fn, cancelled: false };
    this.#scheduled.push(entry);
    return { cancel: () => void (entry.cancelled = true) };
  }

  get pending(): number {
    return this.#scheduled.filter((s) => !s.cancelled).length;
  }

  /** Moves time forward by `ms`, firing every callback that falls due on the way, the clock set to its due time. */
  advance(ms: number): void {
    const targetMs = this.#nowMs + ms;
    for (let fired = 0; ; fired++) {
      assert(fired < 100_000, 'fake timer: too many callbacks in one advance');
      this.#scheduled = this.#scheduled.filter((s) => !s.cancelled);
      let next: Scheduled | undefined;
      for (const s of this.#scheduled) {
        if (s.dueMs <= targetMs && (next === undefined || s.dueMs < next.dueMs || (s.dueMs === next.dueMs && s.seq < next.seq))) next = s;
      }
      if (next === undefined) break;
      this.#scheduled.splice(this.#scheduled.indexOf(next), 1);
      this.clock.advance(next.dueMs - this.#nowMs);
      this.#nowMs = next.dueMs;
      next.fn();
    }
    this.clock.advance(targetMs - this.#nowMs);
    this.#nowMs = targetMs;
  }
}

export const ctx: RequestContext = { clientId: 'client', clientHost: '/127.0.0.1' };

export interface Harness {
  coordinator: GroupCoordinator;
  timer: FakeTimer;
  clock: ManualClock;
  store: InMemoryGroupStore;
}

export async function harness(config: Partial<GroupConfig> = {}, store = new InMemoryGroupStore(), seed = 1): Promise<Harness> {
  const timer = new FakeTimer();
  const coordinator = new GroupCoordinator({
    config: { offsetsTopicNumPartitions: 4, ...config },
    clock: timer.clock,
    timer,
    rng: seededRng(seed),
    store,
  });
  for (let p = 0; p < coordinator.config.offsetsTopicNumPartitions; p++) await coordinator.loadPartition(p, store.read(p));
  return { coordinator, timer, clock: timer.clock, store };
}

/** Lets resolved promises and pending appends run. */
export async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** A promise whose outcome can be read synchronously once settled. */
export function track<T>(promise: Promise<T>): { readonly done: boolean; readonly value: T } {
  let done = false;
  let value: T | undefined;
  promise.then((v) => {
    done = true;
    value = v;
  });
  return {
    get done() {
      return done;
    },
    get value() {
      assert(done, 'promise has not settled');
      return value as T;
    },
  };
}

export const subscription = (...topics: string[]): Buffer => encodeSubscription({ topics });

export function joinRequest(groupId: string, memberId = '', overrides: Partial<JoinGroupRequest> = {}): JoinGroupRequest {
  return {
    groupId,
    sessionTimeoutMs: 10_000,
    rebalanceTimeoutMs: 30_000,
    memberId,
    groupInstanceId: null,
    protocolType: 'consumer',
    protocols: [{ name: 'range', metadata: subscription('orders') }],
    reason: null,
    ...overrides,
  };
}

export async function syncAs(h: Harness, groupId: string, join: JoinGroupResponse, assignments: { memberId: string; assignment: Buffer }[] = []): Promise<SyncGroupResponse> {
  return h.coordinator.syncGroup(5, { groupId, generationId: join.generationId, memberId: join.memberId, groupInstanceId: null, protocolType: null, protocolName: null, assignments }, ctx);
}

export function heartbeat(h: Harness, groupId: string, memberId: string, generationId: number, groupInstanceId: string | null = null) {
  return h.coordinator.heartbeat(4, { groupId, memberId, generationId, groupInstanceId }, ctx);
}

/**
 * Brings a group to Stable with the given members joining (v3, no member id round trip) and the
 * leader assigning `assignment-<memberId>` to each. Returns the join responses in join order.
 */
export async function stableGroup(h: Harness, groupId: string, count: number, overrides: Partial<JoinGroupRequest>[] = []): Promise<JoinGroupResponse[]> {
  const joins = Array.from({ length: count }, (_, i) => {
    const instanceId = overrides[i]?.groupInstanceId ?? null;
    // Static members need v5; dynamic ones use v3 to skip the MEMBER_ID_REQUIRED round trip.
    const version = instanceId === null ? 3 : 5;
    return track(h.coordinator.joinGroup(version, joinRequest(groupId, '', { ...overrides[i], groupInstanceId: instanceId }), { ...ctx, clientId: `c${i}` }));
  });
  await flush();
  // The initial delay stretches while members keep arriving; step until every join is answered.
  for (let step = 0; step < 100 && !joins.every((j) => j.done); step++) {
    h.timer.advance(Math.max(1, h.coordinator.config.groupInitialRebalanceDelayMs));
    await flush();
  }
  const responses = joins.map((j) => j.value);
  const leader = responses.find((r) => r.members.length > 0);
  assert(leader !== undefined, 'no leader');
  const assignments = responses.map((r) => ({ memberId: r.memberId, assignment: Buffer.from(`assignment-${r.memberId}`) }));
  const syncs = responses.map((r) => track(syncAs(h, groupId, r, r === leader ? assignments : [])));
  await flush();
  for (const s of syncs) assert(s.done && s.value.errorCode === 0, 'sync failed');
  return responses;
}
