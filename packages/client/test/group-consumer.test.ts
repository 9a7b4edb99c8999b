/**
 * GroupConsumer's membership state machine against a scripted fake coordinator: the error paths a real
 * node rarely produces on demand (MEMBER_ID_REQUIRED, a failed sync, an expired member, a moved generation).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { decodeAssignment, decodeSubscription, encodeAssignment, encodeSubscription } from '../src/consumer-protocol.ts';
import { GroupConsumer } from '../src/group-consumer.ts';
import { Api, CLIENT_VERSIONS } from '../src/versions.ts';
import { FakeBroker, jsonCodec, type FakeRequest } from './fake-broker.ts';

const ALL_VERSIONS = [...CLIENT_VERSIONS.entries()].map(([apiKey, r]) => ({ apiKey, minVersion: 0, maxVersion: r.max }));

/** Buffers cross the JSON codec as `{type:'Buffer',data}` one way and must be sent back the same way. */
const buf = (v: unknown): Buffer => (typeof v === 'string' ? Buffer.from(v, 'base64') : Buffer.from(v as { type: 'Buffer'; data: number[] } as never));
const wire = (b: Buffer): unknown => b.toJSON();

let broker: FakeBroker | null = null;
let consumer: GroupConsumer | null = null;

afterEach(async () => {
  await consumer?.close();
  await broker?.stop();
  consumer = null;
  broker = null;
});

type Script = (req: FakeRequest) => unknown;

/** One node leading topic `t` (4 partitions) and coordinating every group; `script` answers group APIs. */
async function start(script: Script): Promise<{ broker: FakeBroker; requests: (apiKey: number) => FakeRequest[] }> {
  const b = await new FakeBroker((req, reply) => {
    const self = { nodeId: 1, host: '127.0.0.1', port: b.port };
    switch (req.apiKey) {
      case Api.ApiVersions:
        return reply({ errorCode: 0, apiKeys: ALL_VERSIONS });
      case Api.Metadata:
        return reply({
          clusterId: 'fake',
          controllerId: 1,
          brokers: [{ ...self, rack: null }],
          topics: [{ errorCode: 0, name: 't', partitions: [0, 1, 2, 3].map((p) => ({ errorCode: 0, partitionIndex: p, leaderId: 1, replicaNodes: [1], isrNodes: [1] })) }],
        });
      case Api.FindCoordinator:
        return reply({ coordinators: (req.body.coordinatorKeys as string[]).map((key) => ({ key, ...self, errorCode: 0, errorMessage: null })) });
      case Api.ListOffsets: {
        const t = (req.body.topics as { name: string; partitions: { partitionIndex: number; timestamp: number }[] }[])[0]!;
        const p = t.partitions[0]!;
        return reply({ topics: [{ name: t.name, partitions: [{ partitionIndex: p.partitionIndex, errorCode: 0, timestamp: -1, offset: p.timestamp === -2 ? 0 : 100 }] }] });
      }
      case Api.Fetch: {
        const topics = req.body.topics as { topic: string; partitions: { partition: number }[] }[];
        // Wait a little, as a broker with no new data would, so a polling loop does not spin.
        setTimeout(
          () =>
            reply({
              errorCode: 0,
              responses: topics.map((t) => ({ topic: t.topic, partitions: t.partitions.map((p) => ({ partitionIndex: p.partition, errorCode: 0, highWatermark: 0, records: null })) })),
            }),
          20,
        );
        return;
      }
      default: {
        const body = script(req);
        if (body !== undefined) reply(body);
      }
    }
  }).start();
  broker = b;
  return { broker: b, requests: (apiKey) => b.requests.filter((r) => r.apiKey === apiKey) };
}

function newConsumer(port: number): GroupConsumer {
  const options = { bootstrapServers: `127.0.0.1:${port}`, codec: jsonCodec, retryBackoffMs: 1 };
  consumer = new GroupConsumer(options, { groupId: 'g', topics: ['t'], sessionTimeoutMs: 6000, heartbeatIntervalMs: 30, autoOffsetReset: 'earliest' });
  return consumer;
}

const joined = (memberId: string, generationId: number, leader: string, members: { memberId: string; metadata: Buffer }[] = []): unknown => ({
  errorCode: 0,
  generationId,
  protocolType: 'consumer',
  protocolName: 'range',
  leader,
  skipAssignment: false,
  memberId,
  members: members.map((m) => ({ memberId: m.memberId, groupInstanceId: null, metadata: wire(m.metadata) })),
});
const joinError = (errorCode: number, memberId = ''): unknown => ({ errorCode, generationId: -1, protocolType: null, protocolName: null, leader: '', skipAssignment: false, memberId, members: [] });
const synced = (errorCode: number, partitions: number[] = []): unknown => ({
  errorCode,
  protocolType: 'consumer',
  protocolName: 'range',
  assignment: wire(errorCode === 0 ? encodeAssignment([{ topic: 't', partitions }]) : Buffer.alloc(0)),
});
const committedOffsets = (offsets: Record<number, number>): unknown => ({
  groups: [{ groupId: 'g', errorCode: 0, topics: [{ name: 't', partitions: Object.entries(offsets).map(([p, o]) => ({ partitionIndex: Number(p), committedOffset: o, committedLeaderEpoch: -1, metadata: '', errorCode: 0 })) }] }],
});

describe('GroupConsumer membership', () => {
  it('answers MEMBER_ID_REQUIRED, assigns as leader, rejoins after a failed sync, and starts at committed offsets', async () => {
    const joins: unknown[] = [
      joinError(79, 'm-1'),
      joined('m-1', 1, 'm-1', [
        { memberId: 'm-1', metadata: encodeSubscription({ topics: ['t'] }) },
        { memberId: 'm-2', metadata: encodeSubscription({ topics: ['t'] }) },
      ]),
      joined('m-1', 2, 'm-2'),
    ];
    const syncs: unknown[] = [synced(27), synced(0, [2, 3])];
    const { requests } = await start((req) => {
      if (req.apiKey === Api.JoinGroup) return joins.shift();
      if (req.apiKey === Api.SyncGroup) return syncs.shift();
      if (req.apiKey === Api.OffsetFetch) return committedOffsets({ 2: 40, 3: -1 });
      if (req.apiKey === Api.Heartbeat) return { errorCode: 0 };
      if (req.apiKey === Api.LeaveGroup) return { errorCode: 0, members: [{ memberId: 'm-1', groupInstanceId: null, errorCode: 0 }] };
      return undefined;
    });
    const c = newConsumer(broker!.port);
    expect(await c.poll({ maxWaitMs: 0 })).toEqual([]);

    const joinRequests = requests(Api.JoinGroup);
    expect(joinRequests.map((r) => r.body.memberId)).toEqual(['', 'm-1', 'm-1']);
    expect(joinRequests[0]!.body).toMatchObject({ groupId: 'g', protocolType: 'consumer', sessionTimeoutMs: 6000 });
    const protocols = joinRequests[0]!.body.protocols as { name: string; metadata: unknown }[];
    expect(protocols.map((p) => p.name)).toEqual(['range']);
    expect(decodeSubscription(buf(protocols[0]!.metadata)).topics).toEqual(['t']);

    // As leader of generation 1 it split the 4 partitions between m-1 and m-2.
    const [leaderSync, followerSync] = requests(Api.SyncGroup);
    const given = (leaderSync!.body.assignments as { memberId: string; assignment: unknown }[]).map((a) => [a.memberId, decodeAssignment(buf(a.assignment)).assignedPartitions]);
    expect(given).toEqual([
      ['m-1', [{ topic: 't', partitions: [0, 1] }]],
      ['m-2', [{ topic: 't', partitions: [2, 3] }]],
    ]);
    expect(leaderSync!.body).toMatchObject({ generationId: 1, memberId: 'm-1' });
    // In generation 2 it is a follower and sends no assignments.
    expect(followerSync!.body).toMatchObject({ generationId: 2, assignments: [] });

    expect(c.assignment()).toEqual([{ topic: 't', partitions: [2, 3] }]);
    expect(c.generationId).toBe(2);
    expect(c.isLeader).toBe(false);
    // Partition 2 resumes at its committed offset; 3 has none and starts at the earliest offset.
    expect(c.positions()).toEqual([
      { topic: 't', partition: 2, offset: 40 },
      { topic: 't', partition: 3, offset: 0 },
    ]);
    await c.close();
    expect(requests(Api.LeaveGroup).map((r) => r.body)).toEqual([expect.objectContaining({ groupId: 'g', members: [expect.objectContaining({ memberId: 'm-1' })] })]);
  });

  it('rejoins when a heartbeat says REBALANCE_IN_PROGRESS, and as a new member after UNKNOWN_MEMBER_ID', async () => {
    let generation = 0;
    const heartbeats: number[] = [27, 25];
    const { requests } = await start((req) => {
      if (req.apiKey === Api.JoinGroup) {
        generation++;
        return joined(req.body.memberId === '' ? `m-new-${generation}` : (req.body.memberId as string), generation, 'someone-else');
      }
      if (req.apiKey === Api.SyncGroup) return synced(0, [0]);
      if (req.apiKey === Api.OffsetFetch) return committedOffsets({ 0: 7 });
      if (req.apiKey === Api.Heartbeat) return { errorCode: heartbeats.shift() ?? 0 };
      if (req.apiKey === Api.OffsetCommit) {
        const t = (req.body.topics as { name: string; partitions: { partitionIndex: number }[] }[])[0]!;
        return { topics: [{ name: t.name, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: 22 })) }] };
      }
      if (req.apiKey === Api.LeaveGroup) return { errorCode: 0, members: [] };
      return undefined;
    });
    const c = newConsumer(broker!.port);
    await c.poll({ maxWaitMs: 0 });
    expect(c.generationId).toBe(1);
    // Heartbeats every 30 ms: the first says REBALANCE_IN_PROGRESS, the next UNKNOWN_MEMBER_ID.
    for (let i = 0; i < 200 && requests(Api.JoinGroup).length < 3; i++) await c.poll({ maxWaitMs: 10 });
    expect(requests(Api.JoinGroup).map((r) => r.body.memberId)).toEqual(['', 'm-new-1', '']);
    expect(c.memberId).toBe('m-new-3');
    expect(c.positions()).toEqual([{ topic: 't', partition: 0, offset: 7 }]);

    // Committing what is already committed sends nothing.
    expect(await c.commit()).toBe(true);
    expect(requests(Api.OffsetCommit)).toHaveLength(0);
    // A commit rejected with ILLEGAL_GENERATION reports false and makes the next poll rejoin.
    expect(await c.commit([{ topic: 't', partition: 0, offset: 8 }])).toBe(false);
    expect(requests(Api.OffsetCommit)).toHaveLength(1);
    await c.poll({ maxWaitMs: 0 });
    expect(requests(Api.JoinGroup)).toHaveLength(4);
    expect(requests(Api.JoinGroup)[3]!.body.memberId).toBe('m-new-3');
  });

  it('fails with the error name on a JoinGroup error that rejoining cannot cure', async () => {
    await start((req) => (req.apiKey === Api.JoinGroup ? joinError(26) : undefined));
    const c = newConsumer(broker!.port);
    await expect(c.poll()).rejects.toMatchObject({ code: 26 });
  });
});
