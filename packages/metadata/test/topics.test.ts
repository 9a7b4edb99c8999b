import { describe, expect, it } from 'vitest';
import {
  ConfigResourceType,
  createPartitions,
  createTopics,
  deleteTopics,
  ErrorCode,
  imageInvariantViolations,
  ZERO_UUID,
  type CreateTopicsRequest,
} from '../src/index.ts';
import { TestCluster, testContext, topic } from './harness.ts';

function cluster(ids = [1, 2, 3], racks: (string | null)[] = []): TestCluster {
  const c = new TestCluster();
  c.addBrokers(ids, racks);
  return c;
}

const one = (c: TestCluster, request: Partial<CreateTopicsRequest> & Pick<CreateTopicsRequest, 'topics'>) =>
  createTopics(c.image, { validateOnly: false, ...request }, c.ctx);

describe('createTopics', () => {
  it('creates a topic: topic record, partitions led by their first replica, full ISR, epochs 0', () => {
    const c = cluster();
    const result = one(c, { topics: [topic('orders', 6, 3)] });
    const [created] = result.response.topics;
    expect(created).toMatchObject({ name: 'orders', errorCode: ErrorCode.NONE, errorMessage: null, numPartitions: 6, replicationFactor: 3 });
    expect(created!.topicId).not.toBe(ZERO_UUID);
    expect(result.records.map((r) => r.type)).toEqual(['topic', ...Array(6).fill('partition')]);
    c.commit(result);
    const partitions = c.partitions('orders');
    for (const p of partitions) {
      expect(p.leader).toBe(p.replicas[0]);
      expect(p.isr).toEqual(p.replicas);
      expect(p).toMatchObject({ leaderEpoch: 0, partitionEpoch: 0 });
    }
    // leaders round-robin: each broker leads two of six
    const leaders = partitions.map((p) => p.leader).sort();
    expect(leaders).toEqual([1, 1, 2, 2, 3, 3]);
    expect(imageInvariantViolations(c.image)).toEqual([]);
  });

  it('uses num.partitions and default.replication.factor for -1', () => {
    const c = new TestCluster(testContext(1, { defaultNumPartitions: 4, defaultReplicationFactor: 2 }));
    c.addBrokers([1, 2]);
    const r = one(c, { topics: [topic('d', -1, -1)] }).response.topics[0]!;
    expect(r).toMatchObject({ numPartitions: 4, replicationFactor: 2, errorCode: ErrorCode.NONE });
  });

  it('places rack-aware when brokers have racks', () => {
    const c = cluster([1, 2, 3, 4], ['a', 'a', 'b', 'b']);
    c.createTopic('t', 8, 2);
    for (const p of c.partitions('t')) {
      const racks = p.replicas.map((id) => c.image.broker(id)!.rack);
      expect(new Set(racks).size).toBe(2);
    }
  });

  it('duplicate names in one request fail both, the others go ahead', () => {
    const c = cluster();
    const r = one(c, { topics: [topic('x', 1, 1), topic('y', 1, 1), topic('x', 2, 1)] });
    expect(r.response.topics.map((t) => [t.name, t.errorCode, t.errorMessage])).toEqual([
      ['x', ErrorCode.INVALID_REQUEST, 'Duplicate topic name.'],
      ['y', ErrorCode.NONE, null],
      ['x', ErrorCode.INVALID_REQUEST, 'Duplicate topic name.'],
    ]);
    expect(r.records.filter((x) => x.type === 'topic')).toHaveLength(1);
  });

  it('invalid names', () => {
    const c = cluster();
    for (const name of ['', '.', '..', 'a'.repeat(250), 'has space', 'ümlaut', 'a/b']) {
      const r = one(c, { topics: [topic(name, 1, 1)] }).response.topics[0]!;
      expect(r.errorCode, name).toBe(ErrorCode.INVALID_TOPIC_EXCEPTION);
      expect(r).toMatchObject({ topicId: ZERO_UUID, numPartitions: -1, replicationFactor: -1 });
    }
    expect(one(c, { topics: [topic('a'.repeat(249), 1, 1)] }).response.topics[0]!.errorCode).toBe(ErrorCode.NONE);
  });

  it('existing topics and "." / "_" collisions, also within one request', () => {
    const c = cluster();
    c.createTopic('metrics.cpu', 1, 1);
    expect(one(c, { topics: [topic('metrics.cpu', 1, 1)] }).response.topics[0]).toMatchObject({ errorCode: ErrorCode.TOPIC_ALREADY_EXISTS, errorMessage: "Topic 'metrics.cpu' already exists." });
    expect(one(c, { topics: [topic('metrics_cpu', 1, 1)] }).response.topics[0]).toMatchObject({
      errorCode: ErrorCode.INVALID_TOPIC_EXCEPTION,
      errorMessage: "Topic 'metrics_cpu' collides with existing topic: metrics.cpu",
    });
    const both = one(c, { topics: [topic('a.b', 1, 1), topic('a_b', 1, 1)] }).response.topics;
    expect(both.map((t) => t.errorCode)).toEqual([ErrorCode.NONE, ErrorCode.INVALID_TOPIC_EXCEPTION]);
  });

  it('replication factor above the usable brokers: INVALID_REPLICATION_FACTOR with a message', () => {
    const c = cluster([1, 2, 3]);
    c.heartbeat(3, { wantFence: true });
    const r = one(c, { topics: [topic('t', 1, 3)] }).response.topics[0]!;
    expect(r.errorCode).toBe(ErrorCode.INVALID_REPLICATION_FACTOR);
    expect(r.errorMessage).toBe('Unable to replicate the partition 3 time(s): The target replication factor of 3 cannot be reached because only 2 broker(s) are registered and unfenced.');
    c.heartbeat(2, { wantShutDown: true }); // shutting down brokers do not count either
    expect(one(c, { topics: [topic('t', 1, 2)] }).response.topics[0]!.errorCode).toBe(ErrorCode.INVALID_REPLICATION_FACTOR);
    expect(one(c, { topics: [topic('t', 1, 1)] }).response.topics[0]!.errorCode).toBe(ErrorCode.NONE);
    for (const rf of [0, -2]) {
      expect(one(c, { topics: [topic('t', 1, rf)] }).response.topics[0]).toMatchObject({
        errorCode: ErrorCode.INVALID_REPLICATION_FACTOR,
        errorMessage: 'Replication factor must be larger than 0, or -1 to use the default value.',
      });
    }
    expect(one(c, { topics: [topic('t', 1, 40000)] }).response.topics[0]!.errorCode).toBe(ErrorCode.INVALID_REPLICATION_FACTOR);
    const empty = new TestCluster();
    expect(one(empty, { topics: [topic('t', 1, 1)] }).response.topics[0]!.errorMessage).toMatch(/All brokers are currently fenced/);
  });

  it('non-positive partition counts: INVALID_PARTITIONS', () => {
    const c = cluster();
    for (const n of [0, -2]) expect(one(c, { topics: [topic('t', n, 1)] }).response.topics[0]!.errorCode).toBe(ErrorCode.INVALID_PARTITIONS);
  });

  it('too many partitions in one request: POLICY_VIOLATION for every topic', () => {
    const c = new TestCluster(testContext(1, { limits: { maxPartitionsPerRequest: 10, maxConfigsPerResource: 10, maxReplicationFactor: 10 } }));
    c.addBrokers([1]);
    const r = one(c, { topics: [topic('a', 6, 1), topic('b', 5, 1)] });
    expect(r.records).toEqual([]);
    expect(r.response.topics.map((t) => t.errorCode)).toEqual([ErrorCode.POLICY_VIOLATION, ErrorCode.POLICY_VIOLATION]);
  });

  describe('manual assignments', () => {
    const assign = (...lists: number[][]) => lists.map((brokerIds, partitionIndex) => ({ partitionIndex, brokerIds }));

    it('are used as given; the ISR is the usable replicas and the leader the first of them', () => {
      const c = cluster([1, 2, 3]);
      c.heartbeat(2, { wantFence: true });
      c.createTopic('m', -1, -1, { assignments: assign([2, 1], [3, 2], [1, 3]) });
      expect(c.partitions('m').map((p) => [p.replicas, p.isr, p.leader])).toEqual([
        [[2, 1], [1], 1],
        [[3, 2], [3], 3],
        [[1, 3], [1, 3], 1],
      ]);
      expect(imageInvariantViolations(c.image)).toEqual([]);
    });

    it('refuse bad assignments with INVALID_REPLICA_ASSIGNMENT / INVALID_REQUEST', () => {
      const c = cluster([1, 2, 3]);
      c.heartbeat(3, { wantFence: true });
      const err = (extra: Parameters<typeof topic>[3]) => one(c, { topics: [topic('m', -1, -1, extra)] }).response.topics[0]!;
      expect(err({ assignments: assign([1, 1]) })).toMatchObject({ errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT, errorMessage: 'The manual partition assignment includes the broker 1 more than once.' });
      expect(err({ assignments: assign([1, 9]) })).toMatchObject({ errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT, errorMessage: 'The manual partition assignment includes broker 9, but no broker with that id is registered.' });
      expect(err({ assignments: assign([1, 2], [1]) }).errorMessage).toMatch(/partition with 1 replica\(s\), but this is not consistent with previous partitions, which have 2/);
      expect(err({ assignments: assign([]) }).errorCode).toBe(ErrorCode.INVALID_REPLICA_ASSIGNMENT);
      expect(err({ assignments: assign([3]) })).toMatchObject({ errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT, errorMessage: 'All brokers specified in the manual partition assignment for partition 0 are fenced or in controlled shutdown.' });
      expect(err({ assignments: [{ partitionIndex: 0, brokerIds: [1] }, { partitionIndex: 2, brokerIds: [2] }] }).errorMessage).toBe('Partitions should be a consecutive 0-based integer sequence.');
      expect(err({ assignments: [{ partitionIndex: 0, brokerIds: [1] }, { partitionIndex: 0, brokerIds: [2] }] }).errorCode).toBe(ErrorCode.INVALID_REPLICA_ASSIGNMENT);
      expect(err({ numPartitions: 1, assignments: assign([1]) })).toMatchObject({ errorCode: ErrorCode.INVALID_REQUEST });
      expect(err({ replicationFactor: 1, assignments: assign([1]) })).toMatchObject({ errorCode: ErrorCode.INVALID_REQUEST });
    });
  });

  describe('configs', () => {
    it('become config records after the partitions; null values are no override', () => {
      const c = cluster();
      const r = one(c, {
        topics: [topic('c', 1, 1, { configs: [{ name: 'retention.ms', value: '1000' }, { name: 'cleanup.policy', value: 'compact' }, { name: 'segment.bytes', value: null }] })],
      });
      expect(r.records.slice(2)).toEqual([
        { type: 'config', resourceType: ConfigResourceType.TOPIC, resourceName: 'c', name: 'cleanup.policy', value: 'compact' },
        { type: 'config', resourceType: ConfigResourceType.TOPIC, resourceName: 'c', name: 'retention.ms', value: '1000' },
      ]);
      c.commit(r);
      expect(c.image.configs(ConfigResourceType.TOPIC, 'c').get('retention.ms')).toBe('1000');
    });

    it('unknown or invalid configs: INVALID_CONFIG with the validator message; duplicate keys: INVALID_REQUEST', () => {
      const c = cluster();
      const err = (configs: { name: string; value: string | null }[]) => one(c, { topics: [topic('c', 1, 1, { configs })] }).response.topics[0]!;
      expect(err([{ name: 'no.such.key', value: '1' }])).toMatchObject({ errorCode: ErrorCode.INVALID_CONFIG, errorMessage: 'Unknown topic config name: no.such.key' });
      expect(err([{ name: 'retention.ms', value: 'soon' }])).toMatchObject({ errorCode: ErrorCode.INVALID_CONFIG, errorMessage: 'Invalid value soon for configuration retention.ms: Not a number' });
      expect(err([{ name: 'retention.ms', value: '1' }, { name: 'retention.ms', value: '2' }]).errorCode).toBe(ErrorCode.INVALID_REQUEST);
    });
  });

  it('validateOnly checks everything and writes nothing', () => {
    const c = cluster();
    const r = one(c, { validateOnly: true, topics: [topic('v', 3, 2), topic('bad name', 1, 1)] });
    expect(r.records).toEqual([]);
    expect(r.response.topics.map((t) => [t.errorCode, t.topicId, t.numPartitions, t.replicationFactor])).toEqual([
      [ErrorCode.NONE, ZERO_UUID, 3, 2],
      [ErrorCode.INVALID_TOPIC_EXCEPTION, ZERO_UUID, -1, -1],
    ]);
  });

  it('topic ids are fresh, and a seed reproduces them', () => {
    const a = cluster();
    const b = cluster();
    const ids = [a.createTopic('t1', 1, 1), a.createTopic('t2', 1, 1)];
    expect(ids[0]).not.toBe(ids[1]);
    expect([b.createTopic('t1', 1, 1), b.createTopic('t2', 1, 1)]).toEqual(ids);
  });
});

describe('createPartitions', () => {
  it('adds partitions with the topic\'s replication factor, numbered after the existing ones', () => {
    const c = cluster([1, 2, 3, 4]);
    c.createTopic('t', 2, 3);
    const r = createPartitions(c.image, { topics: [{ name: 't', count: 5, assignments: null }], validateOnly: false }, c.ctx);
    expect(r.response.results).toEqual([{ name: 't', errorCode: ErrorCode.NONE, errorMessage: null }]);
    c.commit(r);
    expect(c.partitions('t').map((p) => [p.partitionId, p.replicas.length, p.leader === p.replicas[0]])).toEqual([
      [0, 3, true],
      [1, 3, true],
      [2, 3, true],
      [3, 3, true],
      [4, 3, true],
    ]);
    expect(imageInvariantViolations(c.image)).toEqual([]);
  });

  it('manual assignments for the new partitions', () => {
    const c = cluster([1, 2, 3]);
    c.createTopic('t', 1, 2);
    const ok = createPartitions(c.image, { topics: [{ name: 't', count: 3, assignments: [{ brokerIds: [3, 1] }, { brokerIds: [2, 3] }] }], validateOnly: false }, c.ctx);
    c.commit(ok);
    expect(c.partitions('t').slice(1).map((p) => p.replicas)).toEqual([[3, 1], [2, 3]]);
    const wrongCount = createPartitions(c.image, { topics: [{ name: 't', count: 5, assignments: [{ brokerIds: [1, 2] }] }], validateOnly: false }, c.ctx);
    expect(wrongCount.response.results[0]).toMatchObject({ errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT, errorMessage: 'Attempted to add 2 additional partition(s), but only 1 assignment(s) were specified.' });
    const wrongRf = createPartitions(c.image, { topics: [{ name: 't', count: 4, assignments: [{ brokerIds: [1] }] }], validateOnly: false }, c.ctx);
    expect(wrongRf.response.results[0]!.errorMessage).toMatch(/which have 2 replica\(s\)/);
  });

  it('errors: unknown topic, no increase, duplicates, too few brokers, validateOnly', () => {
    const c = cluster([1, 2]);
    c.createTopic('t', 2, 2);
    const run = (name: string, count: number, validateOnly = false) => createPartitions(c.image, { topics: [{ name, count, assignments: null }], validateOnly }, c.ctx);
    expect(run('nope', 3).response.results[0]!.errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    expect(run('t', 2).response.results[0]).toMatchObject({ errorCode: ErrorCode.INVALID_PARTITIONS, errorMessage: 'Topic already has 2 partition(s).' });
    expect(run('t', 1).response.results[0]).toMatchObject({ errorCode: ErrorCode.INVALID_PARTITIONS, errorMessage: 'The topic t currently has 2 partition(s); 1 would not be an increase.' });
    const dup = createPartitions(c.image, { topics: [{ name: 't', count: 3, assignments: null }, { name: 't', count: 4, assignments: null }], validateOnly: false }, c.ctx);
    expect(dup.response.results.map((r) => r.errorCode)).toEqual([ErrorCode.INVALID_REQUEST, ErrorCode.INVALID_REQUEST]);
    const v = run('t', 4, true);
    expect(v.records).toEqual([]);
    expect(v.response.results[0]!.errorCode).toBe(ErrorCode.NONE);
    c.heartbeat(2, { wantFence: true });
    expect(run('t', 3).response.results[0]!.errorCode).toBe(ErrorCode.INVALID_REPLICATION_FACTOR);
    const limited = createPartitions(c.image, { topics: [{ name: 't', count: 20_000, assignments: null }], validateOnly: false }, c.ctx);
    expect(limited.response.results[0]!.errorCode).toBe(ErrorCode.POLICY_VIOLATION);
  });
});

describe('deleteTopics', () => {
  it('deletes by name and by id, with the topic\'s configs', () => {
    const c = cluster();
    const a = c.createTopic('a', 1, 1, { configs: [{ name: 'retention.ms', value: '5' }] });
    const b = c.createTopic('b', 2, 1);
    const r = deleteTopics(c.image, { topics: [{ name: 'a', topicId: null }, { name: null, topicId: b }] }, c.ctx);
    expect(r.records).toEqual([
      { type: 'remove-topic', topicId: a },
      { type: 'remove-topic', topicId: b },
    ]);
    expect(r.response.responses).toEqual([
      { name: 'a', topicId: a, errorCode: ErrorCode.NONE, errorMessage: null },
      { name: 'b', topicId: b, errorCode: ErrorCode.NONE, errorMessage: null },
    ]);
    c.commit(r);
    expect(c.image.topicsByName.size).toBe(0);
    expect(c.image.topicConfigs.size).toBe(0);
  });

  it('errors: unknown name or id, duplicates, neither or both, deletion disabled', () => {
    const c = cluster();
    const a = c.createTopic('a', 1, 1);
    const codes = (topics: { name: string | null; topicId: string | null }[], ctx = c.ctx) => deleteTopics(c.image, { topics }, ctx).response.responses.map((x) => x.errorCode);
    expect(codes([{ name: 'zzz', topicId: null }])).toEqual([ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]);
    expect(codes([{ name: null, topicId: 'AAAAAAAAAAAAAAAAAAAAAQ' }])).toEqual([ErrorCode.UNKNOWN_TOPIC_ID]);
    expect(codes([{ name: 'a', topicId: null }, { name: 'a', topicId: null }])).toEqual([ErrorCode.INVALID_REQUEST, ErrorCode.INVALID_REQUEST]);
    expect(codes([{ name: null, topicId: null }, { name: 'a', topicId: a }])).toEqual([ErrorCode.INVALID_REQUEST, ErrorCode.INVALID_REQUEST]);
    expect(codes([{ name: 'a', topicId: null }], testContext(1, { deleteTopicEnable: false }))).toEqual([ErrorCode.TOPIC_DELETION_DISABLED]);
    // by name and by id in one request: one record, two answers
    const both = deleteTopics(c.image, { topics: [{ name: 'a', topicId: null }, { name: null, topicId: a }] }, c.ctx);
    expect(both.records).toHaveLength(1);
    expect(both.response.responses.map((x) => x.errorCode)).toEqual([ErrorCode.NONE, ErrorCode.NONE]);
  });
});
