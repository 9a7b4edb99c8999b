/**
 * Seeded random operation sequences against the controller functions, with the invariants checked after every
 * step: image invariants (leaders in ISR and usable, or leaderless; ISR ⊆ replicas; replicas distinct and
 * registered), monotonic leader/partition/broker epochs, replay of the whole log from scratch equal to the image,
 * and snapshot → replay equal to the image. Records travel through the codec (one batch per operation).
 */
import { seededRng, type Rng } from '@tributary/common';
import {
  allocateProducerIds,
  AlterConfigOp,
  alterPartition,
  alterPartitionReassignments,
  applyAll,
  BrokerSessions,
  brokerHeartbeat,
  ConfigResourceType,
  createPartitions,
  createTopics,
  decodeRecordBatch,
  decodeSnapshot,
  deleteTopics,
  describeRecord,
  electLeaders,
  encodeRecordBatch,
  encodeSnapshot,
  ErrorCode,
  fenceStaleBrokers,
  imageFromRecords,
  imageInvariantViolations,
  imagesEqual,
  incrementalAlterConfigs,
  MetadataImage,
  registerBroker,
  unregisterBroker,
  type ControllerResult,
  type MetadataRecord,
  type SessionResult,
} from '../src/index.ts';
import { incarnation, testContext } from './harness.ts';

export interface SimulationOptions {
  readonly seed: number;
  readonly steps: number;
  readonly brokerIds?: number;
  /** Check full replay and snapshot equality every this many steps (1 = every step). */
  readonly replayEvery?: number;
}

export interface SimulationReport {
  readonly seed: number;
  readonly steps: number;
  readonly records: number;
  readonly counters: Readonly<Record<string, number>>;
  readonly image: MetadataImage;
  readonly log: readonly MetadataRecord[];
}

export class InvariantFailure extends Error {
  override name = 'InvariantFailure';
}

const TOPIC_NAMES = ['a', 'b', 'c', 'd', 'e.x', 'e_x'];

export function runSimulation(opts: SimulationOptions): SimulationReport {
  const rng: Rng = seededRng(opts.seed);
  const ctx = testContext(opts.seed ^ 0x5eed, { brokerSessionTimeoutMs: 2000 });
  const brokerCount = opts.brokerIds ?? 5;
  const replayEvery = opts.replayEvery ?? 1;
  let image = MetadataImage.EMPTY;
  let sessions = BrokerSessions.EMPTY;
  const log: MetadataRecord[] = [];
  let nowMs = 0;
  const generation = new Map<number, number>();
  const unregistered = new Set<number>();
  const counters: Record<string, number> = {};
  const count = (what: string): void => {
    counters[what] = (counters[what] ?? 0) + 1;
  };
  const fail = (step: number, op: string, why: string): never => {
    throw new InvariantFailure(`seed ${opts.seed} step ${step} (${op}): ${why}\nlast records:\n${log.slice(-12).map((r) => '  ' + describeRecord(r)).join('\n')}`);
  };

  const commit = <R>(result: ControllerResult<R> | SessionResult<R>): R => {
    // Through the codec, as through a Raft entry.
    const records = result.records.length === 0 ? [] : decodeRecordBatch(encodeRecordBatch(result.records));
    const start = log.length;
    image = applyAll(image, records);
    log.push(...records);
    if ('sessions' in result) sessions = result.sessions;
    records.forEach((r, i) => {
      if (r.type === 'register-broker') {
        sessions = sessions.withRegistrationOffset(r.brokerId, r.brokerEpoch, start + i);
        unregistered.delete(r.brokerId);
      }
      if (r.type === 'unregister-broker') unregistered.add(r.brokerId);
    });
    return result.response;
  };

  const randomBroker = (): number => 1 + rng.int(brokerCount);
  const randomPartition = () => {
    const all = image.sortedTopics().flatMap((t) => t.partitions.map((p) => ({ topic: t, partition: p })));
    // Mostly partitions with a leader: those are the ones whose leaders send AlterPartition.
    const led = all.filter((x) => x.partition.leader !== -1);
    const from = led.length > 0 && rng.int(4) !== 0 ? led : all;
    return from.length === 0 ? null : from[rng.int(from.length)]!;
  };

  for (let step = 0; step < opts.steps; step++) {
    const before = image;
    nowMs += rng.int(400);
    const roll = rng.int(100);
    let op = '?';
    try {
      if (roll < 14) {
        op = 'register';
        const id = randomBroker();
        // Sometimes a restart: a new incarnation.
        if (rng.int(3) === 0) generation.set(id, (generation.get(id) ?? 0) + 1);
        const existing = image.broker(id);
        const takeover = existing !== undefined && existing.incarnationId !== incarnation(id, generation.get(id) ?? 0) && sessions.hasValidSession(image, id, nowMs, ctx.brokerSessionTimeoutMs);
        const r = commit(
          registerBroker(
            image,
            sessions,
            { brokerId: id, incarnationId: incarnation(id, generation.get(id) ?? 0), listeners: [{ name: 'PLAINTEXT', host: `b${id}`, port: 9092 }], rack: rng.int(2) === 0 ? `r${id % 2}` : null, features: [] },
            nowMs,
            ctx,
          ),
        );
        if (takeover && r.errorCode === ErrorCode.NONE) fail(step, op, `broker ${id}: another incarnation took over a live session`);
        if (r.errorCode === ErrorCode.NONE && !image.broker(id)!.fenced) fail(step, op, 'a registration is not fenced');
        count(r.errorCode === ErrorCode.NONE ? 'register ok' : `register error ${r.errorCode}`);
      } else if (roll < 40) {
        op = 'heartbeat';
        const id = randomBroker();
        const b = image.broker(id);
        const session = sessions.get(id);
        const caughtUp = rng.int(4) !== 0;
        const offset = caughtUp ? log.length : Math.max(0, (session?.registrationOffset ?? 1) - 1);
        const wantFence = rng.int(12) === 0;
        const wantShutDown = rng.int(12) === 0;
        const r = commit(brokerHeartbeat(image, sessions, { brokerId: id, brokerEpoch: b?.brokerEpoch ?? -1, currentMetadataOffset: offset, wantFence, wantShutDown }, nowMs, ctx));
        if (r.errorCode === ErrorCode.NONE && wantFence && !wantShutDown && !b!.inControlledShutdown && !r.isFenced) fail(step, op, 'wantFence left the broker unfenced');
        if (r.errorCode === ErrorCode.NONE && r.isFenced !== image.broker(id)!.fenced) fail(step, op, `heartbeat says isFenced=${r.isFenced}, image says ${image.broker(id)!.fenced}`);
        if (r.shouldShutDown && !image.broker(id)!.fenced) fail(step, op, 'told to shut down while unfenced');
        if (r.shouldShutDown && image.sortedTopics().some((t) => t.partitions.some((p) => p.leader === id))) fail(step, op, 'told to shut down while leading');
        count(`heartbeat${wantFence ? ' fence' : ''}${wantShutDown ? ' shutdown' : ''} ${r.errorCode === ErrorCode.NONE ? (r.isFenced ? 'fenced' : 'unfenced') : 'error'}`);
      } else if (roll < 46) {
        op = 'expire';
        nowMs += rng.int(1500);
        const r = commit(fenceStaleBrokers(image, sessions, nowMs, ctx));
        for (const b of image.brokers.values()) {
          if (!b.fenced && !sessions.hasValidSession(image, b.brokerId, nowMs, ctx.brokerSessionTimeoutMs)) fail(step, op, `broker ${b.brokerId}: session expired but not fenced`);
        }
        count(`expire fenced ${r.fencedBrokerIds.length}`);
      } else if (roll < 58) {
        op = 'create';
        const name = TOPIC_NAMES[rng.int(TOPIC_NAMES.length)]!;
        const manual = rng.int(4) === 0;
        const registered = [...image.brokers.keys()];
        const rf = 1 + rng.int(3);
        const assignments = manual
          ? Array.from({ length: 1 + rng.int(3) }, (_, partitionIndex) => ({ partitionIndex, brokerIds: pickDistinct(rng, registered.length > 0 ? registered : [1], rf) }))
          : [];
        const configs = rng.int(3) === 0 ? [{ name: 'unclean.leader.election.enable', value: rng.int(2) === 0 ? 'true' : 'false' }] : [];
        const r = commit(createTopics(image, { topics: [{ name, numPartitions: manual ? -1 : 1 + rng.int(4), replicationFactor: manual ? -1 : rf, assignments, configs }], validateOnly: false }, ctx));
        count(`create ${r.topics[0]!.errorCode}`);
      } else if (roll < 62) {
        op = 'create-partitions';
        const t = image.sortedTopics()[rng.int(Math.max(1, image.topicsByName.size))];
        if (t === undefined) continue;
        const r = commit(createPartitions(image, { topics: [{ name: t.name, count: t.partitions.length + 1 + rng.int(2), assignments: null }], validateOnly: false }, ctx));
        count(`create-partitions ${r.results[0]!.errorCode}`);
      } else if (roll < 67) {
        op = 'delete';
        const name = TOPIC_NAMES[rng.int(TOPIC_NAMES.length)]!;
        const r = commit(deleteTopics(image, { topics: [{ name, topicId: null }] }, ctx));
        count(`delete ${r.responses[0]!.errorCode}`);
      } else if (roll < 82) {
        op = 'reassign';
        const pick = randomPartition();
        if (pick === null) continue;
        const { topic, partition } = pick;
        // Sometimes a cancel (of nothing, often), else 1-3 distinct random brokers (registered or not).
        let target: number[] | null = null;
        if (rng.int(4) !== 0) {
          // Mostly registered brokers (an unregistered one is INVALID_REPLICA_ASSIGNMENT).
          const registered = [...image.brokers.keys()];
          const pool = registered.length > 0 && rng.int(4) !== 0 ? registered : Array.from({ length: brokerCount }, (_, i) => i + 1);
          const n = 1 + rng.int(Math.min(3, pool.length));
          target = [];
          for (let i = 0; i < n; i++) target.push(pool.splice(rng.int(pool.length), 1)[0]!);
        }
        const r = commit(alterPartitionReassignments(image, { topics: [{ name: topic.name, partitions: [{ partitionIndex: partition.partitionId, replicas: target }] }] }, ctx));
        const result = r.responses[0]!.partitions[0]!;
        const after = image.partition(topic.topicId, partition.partitionId)!;
        count(`reassign ${target === null ? 'cancel' : 'target'} ${result.errorCode}${result.errorCode === 0 ? (after.addingReplicas.length + after.removingReplicas.length > 0 ? ' in progress' : ' done') : ''}`);
      } else if (roll < 85) {
        op = 'alter-partition';
        // Half the time a reassigning partition, if any (its leader completes reassignments).
        const reassigning = image.sortedTopics().flatMap((t) => t.partitions.filter((p) => p.leader !== -1 && p.addingReplicas.length + p.removingReplicas.length > 0).map((p) => ({ topic: t, partition: p })));
        const pick = reassigning.length > 0 && rng.int(2) === 0 ? reassigning[rng.int(reassigning.length)]! : randomPartition();
        if (pick === null) continue;
        const { topic, partition } = pick;
        if (partition.leader === -1) count('alter-partition on a leaderless partition');
        // Mostly from the leader with its current epochs; sometimes stale or from someone else.
        const from = partition.leader !== -1 && rng.int(6) !== 0 ? partition.leader : randomBroker();
        const stale = rng.int(6) === 0;
        // Leaders mostly grow the ISR back to its usable replicas (so preferred elections have work), sometimes shrink it.
        const keep = (r: number): boolean => (image.isUsable(r) ? rng.int(4) !== 0 : rng.int(8) === 0);
        const members = [partition.leader, ...partition.replicas.filter((r) => r !== partition.leader && keep(r))].filter((r) => r !== -1);
        const r = commit(
          alterPartition(image, {
            brokerId: from,
            brokerEpoch: image.broker(from)?.brokerEpoch ?? -1,
            topics: [
              {
                topicId: topic.topicId,
                partitions: [
                  {
                    partitionIndex: partition.partitionId,
                    leaderEpoch: partition.leaderEpoch - (stale ? 1 : 0),
                    partitionEpoch: partition.partitionEpoch,
                    newIsrWithEpochs: members.map((brokerId) => ({ brokerId, brokerEpoch: rng.int(5) === 0 ? -1 : (image.broker(brokerId)?.brokerEpoch ?? -1) })),
                  },
                ],
              },
            ],
          }),
        );
        count(`alter-partition ${r.errorCode || (r.topics[0]?.partitions[0]?.errorCode ?? 'none')}`);
        const after = image.partition(topic.topicId, partition.partitionId);
        if (partition.addingReplicas.length + partition.removingReplicas.length > 0 && after !== undefined && after.addingReplicas.length + after.removingReplicas.length === 0) {
          count(after.leader !== partition.leader ? 'reassignment completed, leader moved' : 'reassignment completed');
        }
      } else if (roll < 89) {
        op = 'elect';
        const type = rng.int(3) === 0 ? 1 : 0;
        const r = commit(electLeaders(image, { electionType: type, topicPartitions: null }));
        count(`elect ${type} ${r.replicaElectionResults.flatMap((t) => t.partitionResult).filter((p) => p.errorCode === ErrorCode.NONE).length > 0 ? 'changed' : 'none'}`);
      } else if (roll < 92) {
        op = 'unregister';
        const r = commit(unregisterBroker(image, { brokerId: randomBroker() }, ctx));
        count(`unregister ${r.errorCode}`);
      } else if (roll < 96) {
        op = 'config';
        const r = commit(
          incrementalAlterConfigs(
            image,
            {
              resources: [
                {
                  resourceType: ConfigResourceType.BROKER,
                  resourceName: '',
                  configs: [{ name: 'unclean.leader.election.enable', configOperation: rng.int(3) === 0 ? AlterConfigOp.DELETE : AlterConfigOp.SET, value: rng.int(2) === 0 ? 'true' : 'false' }],
                },
              ],
              validateOnly: false,
            },
            ctx,
          ),
        );
        count(`config ${r.responses[0]!.errorCode}`);
      } else {
        op = 'producer-ids';
        const id = randomBroker();
        const r = commit(allocateProducerIds(image, { brokerId: id, brokerEpoch: image.broker(id)?.brokerEpoch ?? -1 }));
        count(`producer-ids ${r.errorCode}`);
      }

    } catch (e) {
      if (e instanceof InvariantFailure) throw e;
      fail(step, op, `threw ${(e as Error).stack ?? String(e)}`);
    }
    const violations = imageInvariantViolations(image, { allowUnregisteredReplicas: unregistered });
    if (violations.length > 0) fail(step, op, violations.join('; '));
    for (const [topicId, topic] of image.topicsById) {
      const old = before.topicById(topicId);
      if (old === undefined) continue;
      topic.partitions.forEach((p, i) => {
        const o = old.partitions[i];
        if (o === undefined) return;
        if (p.leaderEpoch < o.leaderEpoch || p.partitionEpoch < o.partitionEpoch) fail(step, op, `${topic.name}-${i}: an epoch went down`);
        if (p.leader !== o.leader && p.leaderEpoch <= o.leaderEpoch) fail(step, op, `${topic.name}-${i}: leader changed without a leader epoch bump`);
        if (p !== o && p.partitionEpoch <= o.partitionEpoch) fail(step, op, `${topic.name}-${i}: changed without a partition epoch bump`);
      });
    }
    for (const [id, b] of image.brokers) {
      const o = before.broker(id);
      if (o !== undefined && b.brokerEpoch < o.brokerEpoch) fail(step, op, `broker ${id}: epoch went down`);
    }
    if (image.nextProducerId < before.nextProducerId || image.nextBrokerEpoch < before.nextBrokerEpoch) fail(step, op, 'a counter went down');
    if (step % replayEvery === 0 || step === opts.steps - 1) {
      if (!imagesEqual(imageFromRecords(log), image)) fail(step, op, 'replaying the log from scratch differs from the image');
      const snapshot = encodeSnapshot(image);
      const restored = decodeSnapshot(snapshot);
      if (!imagesEqual(restored, image)) fail(step, op, 'snapshot → replay differs from the image');
      if (!sameBytes(encodeSnapshot(restored), snapshot)) fail(step, op, 'a restored image writes a different snapshot');
    }
  }
  return { seed: opts.seed, steps: opts.steps, records: log.length, counters, image, log };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function pickDistinct(rng: Rng, from: readonly number[], n: number): number[] {
  const pool = [...from];
  const out: number[] = [];
  while (out.length < n && pool.length > 0) out.push(pool.splice(rng.int(pool.length), 1)[0]!);
  // Sometimes a bad assignment (an unknown broker) to exercise the refusals.
  if (rng.int(8) === 0) out.push(99);
  return out;
}
