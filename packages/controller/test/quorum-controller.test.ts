/**
 * QuorumController against a scripted driver and a manual timer: activation, answers only on commit, the order of
 * answers, leadership loss, renouncing, bounds, timeouts, and FetchMetadata (long poll, tail, snapshots).
 */
import type { Timer, TimerHandle } from '@tributary/common';
import { decodeRecordBatch, decodeSnapshot, imagesEqual, MetadataImage, type CreatableTopic } from '@tributary/metadata';
import type { QuorumDriver } from '@tributary/quorum';
import { encodeLeaderChange, type Entry, type RoleInfo } from '@tributary/raft';
import { describe, expect, it } from 'vitest';
import { ControllerError, ErrorCode } from '../src/errors.ts';
import { QuorumController } from '../src/quorum-controller.ts';

class ManualTimer implements Timer {
  nowMs = 0;
  #tasks: { at: number; fn: () => void; cancelled: boolean }[] = [];
  after(delayMs: number, fn: () => void): TimerHandle {
    const task = { at: this.nowMs + delayMs, fn, cancelled: false };
    this.#tasks.push(task);
    return { cancel: () => (task.cancelled = true) };
  }
  advance(ms: number): void {
    const end = this.nowMs + ms;
    // Bounded: every round runs (and removes) the earliest task due.
    for (;;) {
      const due = this.#tasks.filter((t) => !t.cancelled && t.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.#tasks.splice(this.#tasks.indexOf(due), 1);
      this.nowMs = due.at;
      due.fn();
    }
    this.nowMs = end;
  }
}

interface Proposal {
  data: Uint8Array;
  resolve: (r: { offset: number; epoch: number }) => void;
  reject: (e: Error) => void;
}

/** What QuorumController uses of QuorumDriver, scripted. */
class FakeDriver {
  readonly node = {
    nodeId: 1,
    isLeader: false,
    epoch: 0,
    highWatermark: 0,
    currentTick: 0,
    role: { kind: 'unattached', epoch: 0, leaderId: null, votedFor: null } as RoleInfo,
    describeQuorum: () => null,
  };
  readonly proposals: Proposal[] = [];
  resigned = 0;
  nextOffset = 0;
  readonly controller: QuorumController;

  constructor(controller: QuorumController) {
    this.controller = controller;
    controller.bind(this as unknown as QuorumDriver);
  }

  propose(data: Uint8Array): Promise<{ offset: number; epoch: number }> {
    return new Promise((resolve, reject) => this.proposals.push({ data, resolve, reject }));
  }

  resign(): boolean {
    this.resigned++;
    this.follow(2);
    return true;
  }

  #apply(entries: Entry[]): void {
    this.node.highWatermark = entries.at(-1)!.offset + 1;
    this.controller.apply(entries);
  }

  /** Becomes leader of a new epoch; `commit` also commits its leader-change entry (activation). */
  lead(commit = true): void {
    this.node.epoch++;
    this.node.isLeader = true;
    this.node.role = { kind: 'leader', epoch: this.node.epoch, leaderId: 1, votedFor: 1 };
    this.controller.roleChanged(this.node.role);
    if (commit) this.commitLeaderChange();
  }

  commitLeaderChange(leaderId = 1): void {
    this.#apply([{ offset: this.nextOffset++, epoch: this.node.epoch, kind: 'leader-change', data: encodeLeaderChange({ leaderId, epoch: this.node.epoch, voters: [1, 2, 3] }) }]);
  }

  follow(leaderId: number): void {
    this.node.epoch++;
    this.node.isLeader = false;
    this.node.role = { kind: 'follower', epoch: this.node.epoch, leaderId, votedFor: null };
    this.controller.roleChanged(this.node.role);
  }

  /** Commits the first `n` proposals: applied, then resolved (the driver's order). */
  async commit(n = this.proposals.length): Promise<void> {
    const batch = this.proposals.splice(0, n);
    if (batch.length === 0) return;
    const first = this.nextOffset;
    this.#apply(batch.map((p, i) => ({ offset: first + i, epoch: this.node.epoch, kind: 'data' as const, data: p.data })));
    this.nextOffset += batch.length;
    batch.forEach((p, i) => p.resolve({ offset: first + i, epoch: this.node.epoch }));
    await flush();
  }
}

/** A small deterministic generator (mulberry32). */
function seededRng(seed: number): { next: () => number; int: (bound: number) => number } {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (bound) => Math.floor(next() * bound) };
}

async function flush(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

function setup(opts: Partial<ConstructorParameters<typeof QuorumController>[0]> = {}): { controller: QuorumController; driver: FakeDriver; timer: ManualTimer } {
  const timer = new ManualTimer();
  const controller = new QuorumController({
    nodeId: 1,
    voters: new Map([
      [1, 'h1:1'],
      [2, 'h2:2'],
      [3, 'h3:3'],
    ]),
    clock: { nowMs: () => timer.nowMs, monotonicMs: () => timer.nowMs },
    timer,
    rng: seededRng(7),
    verifyImages: true,
    settings: { brokerSessionTimeoutMs: 9000 },
    ...opts,
  });
  return { controller, driver: new FakeDriver(controller), timer };
}

const topic = (name: string, numPartitions = 1, replicationFactor = 1): CreatableTopic => ({ name, numPartitions, replicationFactor, assignments: [], configs: [] });
const listener = [{ name: 'PLAINTEXT', host: 'h', port: 9092 }];
const incarnation = (id: number): string => `AAAAAAAAAAAAAAAAAAAA${'ABCDEFGHIJ'[id]}A`;

async function registerAndUnfence(controller: QuorumController, driver: FakeDriver, id: number): Promise<number> {
  const p = controller.registerBroker({ brokerId: id, incarnationId: incarnation(id), listeners: listener, rack: null, features: [] });
  await driver.commit();
  const { brokerEpoch, errorCode } = await p;
  expect(errorCode).toBe(0);
  const hb = controller.brokerHeartbeat({ brokerId: id, brokerEpoch, currentMetadataOffset: driver.nextOffset - 1, wantFence: false, wantShutDown: false });
  await driver.commit();
  expect(await hb).toMatchObject({ isCaughtUp: true, isFenced: false });
  return brokerEpoch;
}

describe('QuorumController', () => {
  it('is active only once its own leader-change entry of the current epoch is applied', async () => {
    const { controller, driver } = setup();
    await expect(controller.createTopics({ topics: [], validateOnly: false })).rejects.toMatchObject({ reason: 'not-controller', activeControllerId: null });
    driver.follow(2);
    const err = (await controller.createTopics({ topics: [], validateOnly: false }).catch((e: unknown) => e)) as ControllerError;
    expect(err).toMatchObject({ reason: 'not-controller', errorCode: ErrorCode.NOT_CONTROLLER, activeControllerId: 2, activeControllerEndpoint: 'h2:2' });
    // Another node's leader-change, then ours of an old epoch (replayed after a restart): still not active.
    driver.commitLeaderChange(2);
    expect(controller.isActive).toBe(false);
    driver.lead(false);
    // Leading but not yet active: operations wait in the queue for the activation.
    const early = controller.createTopics({ topics: [topic('early')], validateOnly: false });
    await flush();
    expect(driver.proposals).toHaveLength(0);
    let answered = false;
    void early.then(() => (answered = true));
    await flush();
    expect(answered).toBe(false);
    driver.commitLeaderChange();
    expect(controller.isActive).toBe(true);
    // No broker is registered: refused, nothing proposed.
    expect((await early).topics[0]!.errorCode).toBe(ErrorCode.INVALID_REPLICATION_FACTOR);
    expect(driver.proposals).toHaveLength(0);
  });

  it('runs operations on the working image, proposes one entry each, answers in order once committed', async () => {
    const { controller, driver } = setup();
    driver.lead();
    await registerAndUnfence(controller, driver, 1);
    const answers: string[] = [];
    const a = controller.createTopics({ topics: [topic('a')], validateOnly: false }).then((r) => answers.push(`a:${r.topics[0]!.errorCode}`));
    // 'a' is not committed yet, but the second request sees it in the working image.
    const dup = controller.createTopics({ topics: [topic('a')], validateOnly: false }).then((r) => answers.push(`dup:${r.topics[0]!.errorCode}`));
    const b = controller.createTopics({ topics: [topic('b', 3)], validateOnly: false }).then((r) => answers.push(`b:${r.topics[0]!.errorCode}`));
    await flush();
    // Two entries (the refused duplicate writes nothing) and no answer before the commit.
    expect(driver.proposals).toHaveLength(2);
    expect(driver.proposals.map((p) => decodeRecordBatch(p.data).map((r) => r.type).join(','))).toEqual(['topic,partition', 'topic,partition,partition,partition']);
    expect(answers).toEqual([]);
    expect(controller.committedImage.topic('a')).toBeUndefined();
    await driver.commit(1);
    // The duplicate's answer (no records) waited for 'a', the proposal before it.
    expect(answers).toEqual(['a:0', `dup:${ErrorCode.TOPIC_ALREADY_EXISTS}`]);
    await driver.commit(1);
    await Promise.all([a, dup, b]);
    expect(answers).toEqual(['a:0', `dup:${ErrorCode.TOPIC_ALREADY_EXISTS}`, 'b:0']);
    expect(controller.committedImage.topic('b')!.partitions).toHaveLength(3);
  });

  it('fails queued, in-flight and waiting operations with NOT_CONTROLLER when leadership is lost, and starts over from the log', async () => {
    const { controller, driver } = setup();
    driver.lead();
    await registerAndUnfence(controller, driver, 1);
    const inFlight = controller.createTopics({ topics: [topic('x')], validateOnly: false }).catch((e: unknown) => e);
    const waiting = controller.createTopics({ topics: [topic('x')], validateOnly: false }).catch((e: unknown) => e);
    await flush();
    expect(driver.proposals).toHaveLength(1);
    driver.follow(3);
    for (const r of [await inFlight, await waiting]) expect(r).toMatchObject({ reason: 'not-controller', activeControllerId: 3, activeControllerEndpoint: 'h3:3' });
    expect(controller.isActive).toBe(false);
    // The entry commits anyway under the new leader (it was replicated); every controller applies it.
    await driver.commit();
    expect(controller.committedImage.topic('x')).toBeDefined();
    // Back as leader: the working image starts from the committed one.
    driver.lead();
    const again = await (async () => {
      const p = controller.createTopics({ topics: [topic('x')], validateOnly: false });
      await flush();
      return p;
    })();
    expect(again.topics[0]!.errorCode).toBe(ErrorCode.TOPIC_ALREADY_EXISTS);
  });

  it('renounces (resigns) when a proposal fails, since its records are in the working image', async () => {
    const { controller, driver } = setup();
    driver.lead();
    await registerAndUnfence(controller, driver, 1);
    const p = controller.createTopics({ topics: [topic('lost')], validateOnly: false }).catch((e: unknown) => e);
    const q = controller.createTopics({ topics: [topic('next')], validateOnly: false }).catch((e: unknown) => e);
    await flush();
    driver.proposals.shift()!.reject(new Error('entry 7 was truncated in a leader change'));
    await flush();
    expect(driver.resigned).toBe(1);
    expect(controller.isActive).toBe(false);
    expect(await p).toMatchObject({ reason: 'not-controller' });
    expect(await q).toMatchObject({ reason: 'not-controller' });
    expect(controller.stats.renounces).toBe(1);
  });

  it('bounds the queue, times operations out, and refuses an operation too large for one entry', async () => {
    const { controller, driver, timer } = setup({ limits: { maxQueuedOperations: 3, maxInFlightOperations: 1, maxEntryBytes: 200 } });
    driver.lead();
    await registerAndUnfence(controller, driver, 1);
    const results = [1, 2, 3, 4, 5].map((i) => controller.createTopics({ topics: [topic(`q${i}`)], validateOnly: false }, { timeoutMs: 1000 }).catch((e: unknown) => e));
    await flush();
    // One in flight, three queued, the fifth refused.
    expect(driver.proposals).toHaveLength(1);
    expect(await results[4]).toMatchObject({ reason: 'overloaded', errorCode: ErrorCode.REQUEST_TIMED_OUT });
    timer.advance(1000);
    for (const r of await Promise.all(results.slice(0, 4))) expect(r).toMatchObject({ reason: 'timeout', errorCode: ErrorCode.REQUEST_TIMED_OUT });
    // The timed-out in-flight entry still commits; the queued ones, timed out before running, never ran.
    await driver.commit();
    await flush();
    expect(driver.proposals).toHaveLength(0);
    expect([...controller.committedImage.topicsByName.keys()]).toEqual(['q1']);
    const big = await controller.createTopics({ topics: [topic('big', 20)], validateOnly: false }).catch((e: unknown) => e);
    expect(big).toMatchObject({ reason: 'too-large', errorCode: ErrorCode.INVALID_REQUEST });
    expect(controller.isActive).toBe(true);
  });

  it('fences brokers whose sessions expire on its timer, and heartbeats keep sessions alive', async () => {
    const { controller, driver, timer } = setup();
    driver.lead();
    const e1 = await registerAndUnfence(controller, driver, 1);
    await registerAndUnfence(controller, driver, 2);
    // Broker 1 keeps heartbeating, broker 2 goes silent.
    for (let t = 0; t < 12; t++) {
      timer.advance(1000);
      const hb = controller.brokerHeartbeat({ brokerId: 1, brokerEpoch: e1, currentMetadataOffset: driver.nextOffset - 1, wantFence: false, wantShutDown: false });
      await flush();
      await driver.commit();
      await hb;
    }
    expect(controller.committedImage.broker(1)!.fenced).toBe(false);
    expect(controller.committedImage.broker(2)!.fenced).toBe(true);
  });

  describe('auto.leader.rebalance', () => {
    /** Brokers 1-3 up; t-0 prefers broker 1 but broker 2 leads it (broker 1 was fenced a while), back in the ISR or not. */
    async function imbalanced(settings: object, backInIsr: boolean): Promise<{ controller: QuorumController; driver: FakeDriver; passTime: (ms: number) => Promise<void> }> {
      const { controller, driver, timer } = setup({ settings: { brokerSessionTimeoutMs: 9000, leaderImbalanceCheckIntervalMs: 5000, ...settings } });
      driver.lead();
      const epochs = new Map<number, number>();
      for (const id of [1, 2, 3]) epochs.set(id, await registerAndUnfence(controller, driver, id));
      const heartbeat = async (id: number, wantFence = false): Promise<void> => {
        const hb = controller.brokerHeartbeat({ brokerId: id, brokerEpoch: epochs.get(id)!, currentMetadataOffset: driver.nextOffset - 1, wantFence, wantShutDown: false });
        await flush();
        await driver.commit();
        await hb;
      };
      // Time passes with every broker heartbeating, every proposal committed (the rebalance's too).
      const passTime = async (ms: number): Promise<void> => {
        for (let t = 0; t < ms; t += 1000) {
          timer.advance(1000);
          await flush();
          await driver.commit();
          for (const id of [1, 2, 3]) await heartbeat(id);
        }
      };
      const assignments = [
        { partitionIndex: 0, brokerIds: [1, 2] },
        { partitionIndex: 1, brokerIds: [2, 1] },
      ];
      const created = controller.createTopics({ topics: [{ name: 't', numPartitions: -1, replicationFactor: -1, assignments, configs: [] }], validateOnly: false });
      await driver.commit();
      expect((await created).topics[0]!.errorCode).toBe(0);
      await heartbeat(1, true); // broker 1 fenced: t-0 moves to broker 2, broker 1 leaves both ISRs
      await heartbeat(1, false);
      const p0 = controller.committedImage.topic('t')!.partitions[0]!;
      expect(p0).toMatchObject({ leader: 2, isr: [2] });
      expect(controller.committedImage.broker(1)!.fenced).toBe(false);
      if (backInIsr) {
        const altered = controller.alterPartition({
          brokerId: 2,
          brokerEpoch: epochs.get(2)!,
          topics: [{ topicId: p0.topicId, partitions: [{ partitionIndex: 0, leaderEpoch: p0.leaderEpoch, partitionEpoch: p0.partitionEpoch, newIsrWithEpochs: [{ brokerId: 2, brokerEpoch: epochs.get(2)! }, { brokerId: 1, brokerEpoch: epochs.get(1)! }] }] }],
        });
        await driver.commit();
        expect((await altered).topics[0]!.partitions[0]!.errorCode).toBe(0);
      }
      return { controller, driver, passTime };
    }

    it('moves leadership back to the preferred replica once it is in the ISR, at the next check', async () => {
      const { controller, passTime } = await imbalanced({}, true);
      await passTime(3000); // the first check is one interval (5 s) after activation
      expect(controller.committedImage.topic('t')!.partitions[0]!.leader).toBe(2);
      await passTime(3000);
      expect(controller.committedImage.topic('t')!.partitions[0]).toMatchObject({ leader: 1, isr: [2, 1] });
      expect(controller.committedImage.topic('t')!.partitions[1]!.leader).toBe(2);
    });

    it('leaves the partition alone while the preferred replica is out of the ISR, when disabled, and under the percentage', async () => {
      const outOfIsr = await imbalanced({}, false);
      await outOfIsr.passTime(12_000);
      expect(outOfIsr.controller.committedImage.topic('t')!.partitions[0]!.leader).toBe(2);
      const disabled = await imbalanced({ autoLeaderRebalanceEnable: false }, true);
      await disabled.passTime(12_000);
      expect(disabled.controller.committedImage.topic('t')!.partitions[0]!.leader).toBe(2);
      // Broker 1 prefers one partition and leads none of it: 100%, never under a percentage below 100.
      const tolerant = await imbalanced({ leaderImbalancePerBrokerPercentage: 100 }, true);
      await tolerant.passTime(12_000);
      expect(tolerant.controller.committedImage.topic('t')!.partitions[0]!.leader).toBe(2);
    });
  });

  it('serves committed entries to FetchMetadata, long-polls, and sends a snapshot below its tail', async () => {
    const { controller, driver, timer } = setup({ limits: { tail: { maxEntries: 2, maxBytes: 1 << 20 } } });
    driver.lead();
    await registerAndUnfence(controller, driver, 1);
    const end = controller.appliedOffset;
    // Caught up: the fetch waits for the next commit.
    const parked = controller.fetchMetadata({ fromOffset: end, maxBytes: 1 << 20, maxWaitMs: 5000, snapshot: null, brokerId: 1 });
    const created = controller.createTopics({ topics: [topic('t')], validateOnly: false });
    await flush();
    let settled = false;
    void parked.then(() => (settled = true));
    await flush();
    expect(settled).toBe(false);
    await driver.commit();
    await created;
    const r = await parked;
    expect(r.entries.map((e) => e.offset)).toEqual([end]);
    expect(r.nextOffset).toBe(end + 1);
    // Nothing new: answered empty when the wait ends.
    const idle = controller.fetchMetadata({ fromOffset: end + 1, maxBytes: 1 << 20, maxWaitMs: 300, snapshot: null, brokerId: 1 });
    timer.advance(300);
    expect(await idle).toEqual({ entries: [], nextOffset: end + 1, snapshot: null });
    // The tail keeps 2 entries: offset 0 is gone, so a new follower gets a snapshot, here in 40-byte chunks.
    let position = { nextOffset: 0, position: 0 };
    const parts: Uint8Array[] = [];
    let first = await controller.fetchMetadata({ fromOffset: 0, maxBytes: 40, maxWaitMs: 0, snapshot: null, brokerId: 2 });
    // Bounded by the snapshot's size.
    for (let i = 0; i < 100 && first.snapshot !== null; i++) {
      const s = first.snapshot;
      parts.push(s.data);
      position = { nextOffset: s.nextOffset, position: s.position + s.data.byteLength };
      if (position.position === s.totalBytes) break;
      first = await controller.fetchMetadata({ fromOffset: 0, maxBytes: 40, maxWaitMs: 0, snapshot: position, brokerId: 2 });
    }
    expect(parts.length).toBeGreaterThan(1);
    expect(position.nextOffset).toBe(controller.appliedOffset);
    expect(imagesEqual(decodeSnapshot(Buffer.concat(parts)), controller.committedImage)).toBe(true);
    await expect(controller.fetchMetadata({ fromOffset: -1, maxBytes: 1, maxWaitMs: 0, snapshot: null, brokerId: 1 })).rejects.toMatchObject({ reason: 'malformed' });
  });

  it('rebuilds the same image from a snapshot of itself', async () => {
    const { controller, driver } = setup();
    driver.lead();
    await registerAndUnfence(controller, driver, 1);
    const p = controller.createTopics({ topics: [topic('s', 4)], validateOnly: false });
    await driver.commit();
    await p;
    const { controller: other } = setup();
    other.restore({ id: { endOffset: controller.appliedOffset, epoch: driver.node.epoch }, data: controller.snapshot() });
    expect(imagesEqual(other.committedImage, controller.committedImage)).toBe(true);
    expect(other.appliedOffset).toBe(controller.appliedOffset);
    other.restore(null);
    expect(other.committedImage).toBe(MetadataImage.EMPTY);
  });
});
