import { describe, expect, it } from 'vitest';
import {
  BrokerSessions,
  brokerHeartbeat,
  ConfigResourceType,
  createTopics,
  ErrorCode,
  fenceBroker,
  fenceStaleBrokers,
  imageInvariantViolations,
  registerBroker,
  unregisterBroker,
  type BrokerRegistrationRequest,
} from '../src/index.ts';
import { incarnation, TestCluster, testContext, topic } from './harness.ts';

const request = (brokerId: number, extra: Partial<BrokerRegistrationRequest> = {}): BrokerRegistrationRequest => ({
  brokerId,
  incarnationId: incarnation(brokerId),
  listeners: [{ name: 'PLAINTEXT', host: 'localhost', port: 9092 }],
  rack: null,
  features: [],
  ...extra,
});

/** Three unfenced brokers and a topic `t` of 3 partitions replicated on all of them. */
function cluster(ctx = testContext()): TestCluster {
  const c = new TestCluster(ctx);
  c.addBrokers([1, 2, 3]);
  c.createTopic('t', 3, 3);
  return c;
}

function leaders(c: TestCluster, name = 't'): number[] {
  return c.partitions(name).map((p) => p.leader);
}

describe('registerBroker', () => {
  it('registers fenced at the next broker epoch and opens a session', () => {
    const c = new TestCluster();
    const r = registerBroker(c.image, c.sessions, request(5, { rack: 'r1' }), 1234, c.ctx);
    expect(r.response).toEqual({ errorCode: ErrorCode.NONE, errorMessage: null, brokerEpoch: 1 });
    expect(r.records).toEqual([
      { type: 'register-broker', brokerId: 5, incarnationId: incarnation(5), brokerEpoch: 1, listeners: [{ name: 'PLAINTEXT', host: 'localhost', port: 9092 }], rack: 'r1', fenced: true, inControlledShutdown: false },
    ]);
    expect(r.sessions.get(5)).toEqual({ brokerEpoch: 1, lastContactMs: 1234, registrationOffset: null });
    c.commit(r);
    expect(c.image.broker(5)).toMatchObject({ fenced: true, rack: 'r1', brokerEpoch: 1 });
    expect(c.image.nextBrokerEpoch).toBe(2);
  });

  it('refuses malformed registrations with INVALID_REQUEST', () => {
    const c = new TestCluster();
    const code = (r: BrokerRegistrationRequest) => registerBroker(c.image, c.sessions, r, 0, c.ctx).response.errorCode;
    expect(code(request(-1))).toBe(ErrorCode.INVALID_REQUEST);
    expect(code(request(1, { incarnationId: 'nope' }))).toBe(ErrorCode.INVALID_REQUEST);
    expect(code(request(1, { incarnationId: 'AAAAAAAAAAAAAAAAAAAAAA' }))).toBe(ErrorCode.INVALID_REQUEST);
    expect(code(request(1, { listeners: [] }))).toBe(ErrorCode.INVALID_REQUEST);
    expect(code(request(1, { listeners: [{ name: 'A', host: 'h', port: 1 }, { name: 'A', host: 'h', port: 2 }] }))).toBe(ErrorCode.INVALID_REQUEST);
    expect(code(request(1, { listeners: [{ name: 'A', host: 'h', port: 70000 }] }))).toBe(ErrorCode.INVALID_REQUEST);
    expect(code(request(1, { listeners: [{ name: 'A', host: '', port: 1 }] }))).toBe(ErrorCode.INVALID_REQUEST);
    expect(code(request(1, { rack: '' }))).toBe(ErrorCode.INVALID_REQUEST);
  });

  it('a broker that cannot run a finalized feature level is refused with UNSUPPORTED_VERSION', () => {
    const c = new TestCluster();
    c.commit({ records: [{ type: 'feature-level', name: 'metadata.version', featureLevel: 5 }], response: null });
    const low = registerBroker(c.image, c.sessions, request(1, { features: [{ name: 'metadata.version', minSupportedVersion: 1, maxSupportedVersion: 4 }] }), 0, c.ctx);
    expect(low.response.errorCode).toBe(ErrorCode.UNSUPPORTED_VERSION);
    expect(low.response.errorMessage).toMatch(/finalized version 5 of metadata.version/);
    expect(registerBroker(c.image, c.sessions, request(1), 0, c.ctx).response.errorCode).toBe(ErrorCode.UNSUPPORTED_VERSION);
    const ok = registerBroker(c.image, c.sessions, request(1, { features: [{ name: 'metadata.version', minSupportedVersion: 1, maxSupportedVersion: 9 }] }), 0, c.ctx);
    expect(ok.response.errorCode).toBe(ErrorCode.NONE);
  });

  it('another incarnation while the registered one has a live session: DUPLICATE_BROKER_REGISTRATION', () => {
    const c = cluster();
    const r = registerBroker(c.image, c.sessions, request(1, { incarnationId: incarnation(1, 1) }), c.nowMs + 1000, c.ctx);
    expect(r.response).toEqual({ errorCode: ErrorCode.DUPLICATE_BROKER_REGISTRATION, errorMessage: 'Another broker is registered with that broker id.', brokerEpoch: -1 });
    expect(r.records).toEqual([]);
  });

  it('a restarted broker (new incarnation) after its session expired: the old one is fenced, leaderships move, then it registers', () => {
    const c = cluster();
    const oldEpoch = c.image.broker(1)!.brokerEpoch;
    expect(leaders(c)).toContain(1);
    c.nowMs += c.ctx.brokerSessionTimeoutMs + 1;
    for (const id of [2, 3]) c.heartbeat(id);
    const r = registerBroker(c.image, c.sessions, request(1, { incarnationId: incarnation(1, 1) }), c.nowMs, c.ctx);
    expect(r.response.errorCode).toBe(ErrorCode.NONE);
    const types = r.records.map((x) => x.type);
    expect(types.at(-1)).toBe('register-broker');
    expect(types.at(-2)).toBe('fence-broker');
    expect(r.records.at(-2)).toEqual({ type: 'fence-broker', brokerId: 1, brokerEpoch: oldEpoch });
    expect(r.response.brokerEpoch).toBeGreaterThan(oldEpoch);
    c.commit(r);
    expect(leaders(c)).not.toContain(1);
    for (const p of c.partitions('t')) expect(p.isr).not.toContain(1);
    expect(imageInvariantViolations(c.image)).toEqual([]);
    // it catches up and is unfenced; it leads nothing until a preferred election
    const hb = c.heartbeat(1);
    expect(hb).toMatchObject({ isFenced: false, isCaughtUp: true });
  });

  it('the same incarnation registering again (a retry) gets a new epoch; an unfenced registration is fenced first', () => {
    const c = cluster();
    const before = c.image.broker(2)!.brokerEpoch;
    const r = registerBroker(c.image, c.sessions, request(2), c.nowMs, c.ctx);
    expect(r.response.errorCode).toBe(ErrorCode.NONE);
    expect(r.records.some((x) => x.type === 'fence-broker')).toBe(true);
    c.commit(r);
    expect(c.image.broker(2)!.brokerEpoch).toBeGreaterThan(before);
    expect(imageInvariantViolations(c.image)).toEqual([]);
  });

  it('re-registering a fenced broker needs no fencing, and clears a finished controlled shutdown', () => {
    const c = cluster();
    c.heartbeat(3, { wantShutDown: true });
    expect(c.heartbeat(3, { wantShutDown: true })).toMatchObject({ shouldShutDown: true, isFenced: true });
    expect(c.image.broker(3)).toMatchObject({ fenced: true, inControlledShutdown: true });
    const r = registerBroker(c.image, c.sessions, request(3, { incarnationId: incarnation(3, 1) }), c.nowMs, c.ctx);
    expect(r.records.map((x) => x.type)).toEqual(['register-broker']);
    c.commit(r);
    expect(c.image.broker(3)).toMatchObject({ fenced: true, inControlledShutdown: false });
    expect(c.heartbeat(3).isFenced).toBe(false);
  });
});

describe('brokerHeartbeat', () => {
  it('unknown broker and stale epoch', () => {
    const c = cluster();
    const hb = (brokerId: number, brokerEpoch: number) =>
      brokerHeartbeat(c.image, c.sessions, { brokerId, brokerEpoch, currentMetadataOffset: 0, wantFence: false, wantShutDown: false }, c.nowMs, c.ctx).response;
    expect(hb(9, 1)).toMatchObject({ errorCode: ErrorCode.BROKER_ID_NOT_REGISTERED, isFenced: true });
    expect(hb(1, 999)).toMatchObject({ errorCode: ErrorCode.STALE_BROKER_EPOCH, errorMessage: `Broker 1 is at epoch ${c.image.broker(1)!.brokerEpoch}, not 999.` });
  });

  it('a fenced broker is unfenced once its metadata reaches its registration', () => {
    const c = new TestCluster();
    c.register(1);
    const registeredAt = c.sessions.get(1)!.registrationOffset!;
    expect(c.heartbeat(1, { offset: registeredAt - 1 })).toMatchObject({ isCaughtUp: false, isFenced: true });
    expect(c.heartbeat(1, { offset: registeredAt, wantFence: true })).toMatchObject({ isCaughtUp: true, isFenced: true });
    const r = c.heartbeat(1, { offset: registeredAt });
    expect(r).toEqual({ errorCode: ErrorCode.NONE, errorMessage: null, isCaughtUp: true, isFenced: false, shouldShutDown: false });
    expect(c.log.at(-1)).toEqual({ type: 'unfence-broker', brokerId: 1, brokerEpoch: c.image.broker(1)!.brokerEpoch });
  });

  it('without a known registration offset a broker is not caught up', () => {
    const c = new TestCluster();
    const r = registerBroker(c.image, c.sessions, request(1), 0, c.ctx);
    const image = new TestCluster();
    image.commit({ records: r.records, response: null }); // applied, but nobody noted the offset in the sessions
    const hb = brokerHeartbeat(image.image, r.sessions, { brokerId: 1, brokerEpoch: r.response.brokerEpoch, currentMetadataOffset: 1e9, wantFence: false, wantShutDown: false }, 1, c.ctx);
    expect(hb.response).toMatchObject({ isCaughtUp: false, isFenced: true });
    expect(hb.records).toEqual([]);
  });

  it('wantFence fences: leadership moves to the next ISR replica in preferred order, the broker leaves every ISR', () => {
    const c = cluster();
    const before = c.partitions('t').map((p) => ({ ...p }));
    const r = c.heartbeat(1, { wantFence: true });
    expect(r.isFenced).toBe(true);
    expect(c.log.at(-1)).toMatchObject({ type: 'fence-broker', brokerId: 1 });
    c.partitions('t').forEach((p, i) => {
      const old = before[i]!;
      expect(p.isr).toEqual(old.isr.filter((x) => x !== 1));
      if (old.leader === 1) {
        expect(p.leader).toBe(old.replicas.find((x) => x !== 1));
        expect(p.leaderEpoch).toBe(old.leaderEpoch + 1);
      } else {
        expect(p.leader).toBe(old.leader);
        expect(p.leaderEpoch).toBe(old.leaderEpoch);
      }
      expect(p.partitionEpoch).toBe(old.partitionEpoch + 1);
    });
    expect(imageInvariantViolations(c.image)).toEqual([]);
  });

  it('fencing the last ISR member leaves the partition leaderless with its ISR; unfencing brings it back', () => {
    const c = new TestCluster();
    c.addBrokers([1, 2]);
    c.createTopic('one', -1, -1, { assignments: [{ partitionIndex: 0, brokerIds: [1, 2] }] });
    c.heartbeat(2, { wantFence: true });
    expect(c.partitions('one')[0]).toMatchObject({ leader: 1, isr: [1] });
    c.heartbeat(1, { wantFence: true });
    expect(c.partitions('one')[0]).toMatchObject({ leader: -1, isr: [1], leaderEpoch: 1, partitionEpoch: 2 });
    expect(imageInvariantViolations(c.image)).toEqual([]);
    c.heartbeat(2); // 2 is not in the ISR: no clean election for it
    expect(c.partitions('one')[0]!.leader).toBe(-1);
    c.heartbeat(1);
    expect(c.partitions('one')[0]).toMatchObject({ leader: 1, isr: [1], leaderEpoch: 2 });
  });

  it('unclean.leader.election.enable: an out-of-sync replica takes over and the ISR restarts from it', () => {
    const c = new TestCluster();
    c.addBrokers([1, 2]);
    c.createTopic('u', -1, -1, { assignments: [{ partitionIndex: 0, brokerIds: [1, 2] }], configs: [{ name: 'unclean.leader.election.enable', value: 'true' }] });
    c.heartbeat(2, { wantFence: true });
    c.heartbeat(2); // back, but out of the ISR
    expect(c.partitions('u')[0]).toMatchObject({ leader: 1, isr: [1] });
    c.heartbeat(1, { wantFence: true });
    expect(c.partitions('u')[0]).toMatchObject({ leader: 2, isr: [2] });
    expect(imageInvariantViolations(c.image)).toEqual([]);
  });

  it('unclean election when a replica comes back to a leaderless partition', () => {
    const ctx = testContext(1, { uncleanLeaderElectionEnable: true });
    const c = new TestCluster(ctx);
    c.addBrokers([1, 2, 3]);
    c.createTopic('u', -1, -1, { assignments: [{ partitionIndex: 0, brokerIds: [1, 2] }] });
    c.heartbeat(2, { wantFence: true });
    c.heartbeat(3, { wantFence: true }); // keeps 3 out of the way
    // with only broker 1 left in the ISR and 2 fenced, fencing 1 leaves it leaderless (no acceptable replica)
    c.heartbeat(1, { wantFence: true });
    expect(c.partitions('u')[0]).toMatchObject({ leader: -1, isr: [1] });
    c.heartbeat(2);
    expect(c.partitions('u')[0]).toMatchObject({ leader: 2, isr: [2] });
  });

  it('controlled shutdown: leaderships and ISR memberships move first, shouldShutDown comes on the next heartbeat', () => {
    const c = cluster();
    const first = c.heartbeat(2, { wantShutDown: true });
    expect(first).toMatchObject({ isFenced: false, shouldShutDown: false });
    expect(c.image.broker(2)).toMatchObject({ inControlledShutdown: true, fenced: false });
    expect(leaders(c)).not.toContain(2);
    for (const p of c.partitions('t')) expect(p.isr).not.toContain(2);
    expect(imageInvariantViolations(c.image)).toEqual([]);
    // it gets no new partitions meanwhile
    c.createTopic('later', 4, 2);
    for (const p of c.partitions('later')) expect(p.replicas).not.toContain(2);
    const second = c.heartbeat(2, { wantShutDown: true });
    expect(second).toMatchObject({ isFenced: true, shouldShutDown: true });
    expect(c.image.broker(2)).toMatchObject({ fenced: true, inControlledShutdown: true });
    // and it stays fenced when it heartbeats again
    expect(c.heartbeat(2)).toMatchObject({ isFenced: true });
  });

  it('controlled shutdown of the last ISR member: the partition goes leaderless, the shutdown completes', () => {
    const c = new TestCluster();
    c.addBrokers([1]);
    c.createTopic('solo', 2, 1);
    c.heartbeat(1, { wantShutDown: true });
    expect(c.partitions('solo').map((p) => [p.leader, p.isr])).toEqual([
      [-1, [1]],
      [-1, [1]],
    ]);
    // a controlled shutdown cannot be called off: the next heartbeat completes it anyway
    expect(c.heartbeat(1)).toMatchObject({ shouldShutDown: true, isFenced: true });
  });

  it('a fenced broker asking to shut down may do so at once', () => {
    const c = new TestCluster();
    c.register(1);
    const before = c.log.length;
    expect(c.heartbeat(1, { wantShutDown: true })).toMatchObject({ shouldShutDown: true, isFenced: true });
    expect(c.log.length).toBe(before);
  });
});

describe('session expiry', () => {
  it('fences brokers silent for longer than broker.session.timeout.ms, and only those', () => {
    const c = cluster();
    const start = c.nowMs;
    c.nowMs = start + c.ctx.brokerSessionTimeoutMs;
    c.heartbeat(3);
    let r = fenceStaleBrokers(c.image, c.sessions, start + c.ctx.brokerSessionTimeoutMs, c.ctx);
    expect(r.response.fencedBrokerIds).toEqual([]); // exactly at the timeout: still valid
    r = fenceStaleBrokers(c.image, c.sessions, start + c.ctx.brokerSessionTimeoutMs + 1, c.ctx);
    expect(r.response.fencedBrokerIds).toEqual([1, 2]);
    c.commit(r);
    expect(c.partitions('t').every((p) => p.leader === 3 && p.isr.length === 1 && p.isr[0] === 3)).toBe(true);
    expect(imageInvariantViolations(c.image)).toEqual([]);
    // fenced brokers are not fenced twice
    expect(fenceStaleBrokers(c.image, c.sessions, start + 10 * c.ctx.brokerSessionTimeoutMs, c.ctx).response.fencedBrokerIds).toEqual([3]);
  });

  it('a broker without a session (new active controller) gets one instead of being fenced', () => {
    const c = cluster();
    const r = fenceStaleBrokers(c.image, BrokerSessions.EMPTY, 1e9, c.ctx);
    expect(r.response.fencedBrokerIds).toEqual([]);
    expect(r.sessions.get(1)).toMatchObject({ lastContactMs: 1e9 });
    expect(fenceStaleBrokers(c.image, r.sessions, 1e9 + c.ctx.brokerSessionTimeoutMs + 1, c.ctx).response.fencedBrokerIds).toEqual([1, 2, 3]);
  });

  it('forNewLeader starts every session now with the given registration offsets', () => {
    const c = cluster();
    const s = BrokerSessions.forNewLeader(c.image, 77, new Map([[1, 5]]));
    expect(s.get(1)).toEqual({ brokerEpoch: c.image.broker(1)!.brokerEpoch, lastContactMs: 77, registrationOffset: 5 });
    expect(s.get(2)!.registrationOffset).toBeNull();
    expect(s.size).toBe(3);
    expect(s.withRegistrationOffset(2, 999, 3)).toBe(s); // a stale epoch is ignored
    expect(s.remove(2).get(2)).toBeUndefined();
  });
});

describe('unregisterBroker and fenceBroker', () => {
  it('unregistering takes the broker out of ISRs and leaderships; assignments stay', () => {
    const c = cluster();
    const r = unregisterBroker(c.image, { brokerId: 1 }, c.ctx);
    expect(r.response).toEqual({ errorCode: ErrorCode.NONE, errorMessage: null });
    expect(r.records.at(-1)).toMatchObject({ type: 'unregister-broker', brokerId: 1 });
    c.commit(r);
    expect(c.image.broker(1)).toBeUndefined();
    expect(leaders(c)).not.toContain(1);
    expect(c.partitions('t').every((p) => p.replicas.includes(1) && !p.isr.includes(1))).toBe(true);
    expect(imageInvariantViolations(c.image, { allowUnregisteredReplicas: new Set([1]) })).toEqual([]);
    expect(imageInvariantViolations(c.image)).toContain('t-0: replica 1 is not registered');
    // it can come back, with a higher epoch than it ever had
    const epoch = c.register(1, { generation: 1 });
    expect(epoch).toBeGreaterThan(3);
    expect(unregisterBroker(c.image, { brokerId: 9 }, c.ctx).response.errorCode).toBe(ErrorCode.BROKER_ID_NOT_REGISTERED);
  });

  it('fenceBroker gives the same records as a wantFence heartbeat, and nothing for a fenced broker', () => {
    const c = cluster();
    const records = fenceBroker(c.image, 2, c.ctx);
    const viaHeartbeat = brokerHeartbeat(
      c.image,
      c.sessions,
      { brokerId: 2, brokerEpoch: c.image.broker(2)!.brokerEpoch, currentMetadataOffset: 0, wantFence: true, wantShutDown: false },
      c.nowMs,
      c.ctx,
    );
    expect(viaHeartbeat.records).toEqual(records);
    c.commit({ records, response: null });
    expect(fenceBroker(c.image, 2, c.ctx)).toEqual([]);
    expect(fenceBroker(c.image, 42, c.ctx)).toEqual([]);
  });

  it('topic-level unclean setting is read per topic', () => {
    const c = new TestCluster();
    c.addBrokers([1, 2]);
    c.commit(
      createTopics(
        c.image,
        {
          topics: [
            topic('clean', -1, -1, { assignments: [{ partitionIndex: 0, brokerIds: [1, 2] }] }),
            topic('dirty', -1, -1, { assignments: [{ partitionIndex: 0, brokerIds: [1, 2] }], configs: [{ name: 'unclean.leader.election.enable', value: 'true' }] }),
          ],
          validateOnly: false,
        },
        c.ctx,
      ),
    );
    expect(c.image.configs(ConfigResourceType.TOPIC, 'dirty').size).toBe(1);
    c.heartbeat(2, { wantFence: true });
    c.heartbeat(2);
    c.heartbeat(1, { wantFence: true });
    expect(c.partitions('clean')[0]).toMatchObject({ leader: -1, isr: [1] });
    expect(c.partitions('dirty')[0]).toMatchObject({ leader: 2, isr: [2] });
  });
});
