import { afterEach, describe, expect, it } from 'vitest';
import { KafkaClient, parseBootstrap } from '../src/client.ts';
import { ConnectionError, KafkaError } from '../src/errors.ts';
import { Api, CLIENT_VERSIONS, pickVersion, UnsupportedVersionError } from '../src/versions.ts';
import { FakeBroker, jsonCodec, type FakeRequest } from './fake-broker.ts';

const brokers: FakeBroker[] = [];
const clients: KafkaClient[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(brokers.splice(0).map((b) => b.stop()));
});

const ALL_VERSIONS = [...CLIENT_VERSIONS.entries()].map(([apiKey, r]) => ({ apiKey, minVersion: 0, maxVersion: r.max + 5 }));

interface Cluster {
  nodes: { nodeId: number; broker: FakeBroker }[];
  /** topic -> partition leaders by index */
  leaders: Record<string, number[]>;
  apiVersions?: (req: FakeRequest) => unknown;
  handle?: (nodeId: number, req: FakeRequest) => unknown;
}

/** A cluster of fake brokers sharing one view of metadata; `handle` answers everything else. */
async function cluster(nodeCount: number, leaders: Record<string, number[]>, handle?: Cluster['handle']): Promise<Cluster> {
  const c: Cluster = { nodes: [], leaders, handle };
  for (let i = 1; i <= nodeCount; i++) {
    const nodeId = i;
    const broker = await new FakeBroker((req, reply) => {
      if (req.apiKey === Api.ApiVersions) {
        reply(c.apiVersions ? c.apiVersions(req) : { errorCode: 0, apiKeys: ALL_VERSIONS });
      } else if (req.apiKey === Api.Metadata) {
        const asked = req.body.topics as { name: string }[] | null;
        const names = asked === null ? Object.keys(c.leaders) : asked.map((t) => t.name);
        reply({
          clusterId: 'fake-cluster',
          controllerId: 1,
          brokers: c.nodes.map((n) => ({ nodeId: n.nodeId, host: '127.0.0.1', port: n.broker.port, rack: null })),
          topics: names.map((name) => {
            const ls = c.leaders[name];
            if (ls === undefined) return { errorCode: 3, name, partitions: [] };
            return {
              errorCode: 0,
              name,
              partitions: ls.map((leaderId, partitionIndex) => ({
                errorCode: 0,
                partitionIndex,
                leaderId,
                replicaNodes: [leaderId],
                isrNodes: [leaderId],
              })),
            };
          }),
        });
      } else {
        const body = c.handle?.(nodeId, req);
        if (body !== undefined) reply(body);
      }
    }).start();
    brokers.push(broker);
    c.nodes.push({ nodeId, broker });
  }
  return c;
}

function client(c: Cluster, extra: Partial<ConstructorParameters<typeof KafkaClient>[0]> = {}): KafkaClient {
  const k = new KafkaClient({
    bootstrapServers: c.nodes.map((n) => `127.0.0.1:${n.broker.port}`).join(','),
    codec: jsonCodec,
    retryBackoffMs: 1,
    ...extra,
  });
  clients.push(k);
  return k;
}

const produceOk = (req: FakeRequest, baseOffset: number): unknown => {
  const topic = (req.body.topicData as { name: string; partitionData: { index: number }[] }[])[0]!;
  return { responses: [{ name: topic.name, partitionResponses: [{ index: topic.partitionData[0]!.index, errorCode: 0, baseOffset }] }] };
};

describe('bootstrap list', () => {
  it('parses host:port lists', () => {
    expect(parseBootstrap('a:1, b:2')).toEqual([
      { host: 'a', port: 1 },
      { host: 'b', port: 2 },
    ]);
    expect(parseBootstrap(['[::1]:9092'])).toEqual([{ host: '::1', port: 9092 }]);
  });

  it('rejects entries without a valid port', () => {
    expect(() => parseBootstrap('a')).toThrow('invalid bootstrap server "a": expected host:port');
    expect(() => parseBootstrap('a:0')).toThrow(/invalid bootstrap server/);
    expect(() => parseBootstrap(' , ')).toThrow('no bootstrap servers given');
  });

  it('falls over to the next bootstrap server', async () => {
    const c = await cluster(1, {});
    const k = new KafkaClient({ bootstrapServers: `127.0.0.1:1,127.0.0.1:${c.nodes[0]!.broker.port}`, codec: jsonCodec });
    clients.push(k);
    const md = await k.metadata();
    expect(md.clusterId).toBe('fake-cluster');
  });

  it('names every bootstrap server when none is reachable', async () => {
    const k = new KafkaClient({ bootstrapServers: '127.0.0.1:1,127.0.0.1:2', codec: jsonCodec });
    clients.push(k);
    await expect(k.metadata()).rejects.toThrow(/no bootstrap server reachable \(127\.0\.0\.1:1, 127\.0\.0\.1:2\)/);
  });
});

describe('version negotiation', () => {
  it('picks the highest version both sides support', () => {
    const broker = new Map([[Api.Fetch, { min: 0, max: 11 }]]);
    expect(pickVersion(Api.Fetch, broker, 'b:1')).toBe(11);
    expect(pickVersion(Api.Fetch, new Map([[Api.Fetch, { min: 0, max: 99 }]]), 'b:1')).toBe(CLIENT_VERSIONS.get(Api.Fetch)!.max);
  });

  it('refuses when the ranges do not overlap, naming the API and broker', () => {
    expect(() => pickVersion(Api.Produce, new Map([[Api.Produce, { min: 0, max: 2 }]]), 'b:1')).toThrow(
      /no common version of Produce: client implements 3-\d+, broker b:1 supports 0-2/,
    );
    expect(() => pickVersion(Api.Produce, new Map(), 'b:1')).toThrow(UnsupportedVersionError);
  });

  it('sends each request at the negotiated version', async () => {
    const c = await cluster(1, { t: [1] }, (_n, req) => (req.apiKey === Api.Produce ? produceOk(req, 7) : undefined));
    c.apiVersions = () => ({
      errorCode: 0,
      apiKeys: [
        { apiKey: Api.ApiVersions, minVersion: 0, maxVersion: 3 },
        { apiKey: Api.Metadata, minVersion: 0, maxVersion: 8 },
        { apiKey: Api.Produce, minVersion: 0, maxVersion: 5 },
      ],
    });
    const k = client(c);
    expect(await k.produce('t', 0, [{ value: 'x' }])).toBe(7);
    const seen = c.nodes[0]!.broker.requests.map((r) => [r.apiKey, r.apiVersion]);
    expect(seen).toContainEqual([Api.Metadata, 8]);
    expect(seen).toContainEqual([Api.Produce, 5]);
  });

  it('retries ApiVersions at the broker maximum after UNSUPPORTED_VERSION', async () => {
    const c = await cluster(1, {});
    c.apiVersions = (req) =>
      req.apiVersion > 2
        ? { errorCode: 35, apiKeys: [{ apiKey: Api.ApiVersions, minVersion: 0, maxVersion: 2 }] }
        : { errorCode: 0, apiKeys: ALL_VERSIONS };
    await client(c).metadata();
    const versions = c.nodes[0]!.broker.requests.filter((r) => r.apiKey === Api.ApiVersions).map((r) => r.apiVersion);
    expect(versions).toEqual([3, 2]);
  });
});

describe('routing', () => {
  it('sends partition requests to each partition leader', async () => {
    const c = await cluster(3, { t: [2, 3, 1] }, (nodeId, req) => (req.apiKey === Api.Produce ? produceOk(req, nodeId * 100) : undefined));
    const k = client(c);
    expect(await k.produce('t', 0, [{ value: 'a' }])).toBe(200);
    expect(await k.produce('t', 1, [{ value: 'b' }])).toBe(300);
    expect(await k.produce('t', 2, [{ value: 'c' }])).toBe(100);
  });

  it('refreshes metadata and retries on NOT_LEADER_OR_FOLLOWER', async () => {
    let moved = false;
    const c = await cluster(2, { t: [1] }, (nodeId, req) => {
      if (req.apiKey !== Api.Produce) return undefined;
      if (nodeId === 1 && moved) {
        return { responses: [{ name: 't', partitionResponses: [{ index: 0, errorCode: 6, baseOffset: -1 }] }] };
      }
      return produceOk(req, nodeId === 2 ? 42 : 0);
    });
    const k = client(c);
    expect(await k.produce('t', 0, [{ value: 'a' }])).toBe(0);
    moved = true;
    c.leaders.t = [2];
    expect(await k.produce('t', 0, [{ value: 'b' }])).toBe(42);
  });

  it('retries ListOffsets while a new leader answers OFFSET_NOT_AVAILABLE (its high watermark not established yet)', async () => {
    let refusals = 2;
    const c = await cluster(1, { t: [1] }, (_n, req) => {
      if (req.apiKey !== Api.ListOffsets) return undefined;
      const errorCode = refusals-- > 0 ? 78 : 0;
      return { topics: [{ name: 't', partitions: [{ partitionIndex: 0, errorCode, timestamp: -1, offset: errorCode === 0 ? 600 : -1, leaderEpoch: 3 }] }] };
    });
    expect(await client(c).listOffsets('t', 0, -1)).toEqual({ offset: 600, timestamp: -1 });
    expect(c.nodes[0]!.broker.requests.filter((r) => r.apiKey === Api.ListOffsets)).toHaveLength(3);
  });

  it('gives up after maxAttempts on a retriable error, with the error name', async () => {
    const c = await cluster(1, { t: [1] }, (_n, req) =>
      req.apiKey === Api.Produce ? { responses: [{ name: 't', partitionResponses: [{ index: 0, errorCode: 6, baseOffset: -1 }] }] } : undefined,
    );
    const err = (await client(c, { maxAttempts: 3 }).produce('t', 0, [{ value: 'a' }]).catch((e: unknown) => e)) as KafkaError;
    expect(err).toBeInstanceOf(KafkaError);
    expect(err.name).toBe('NOT_LEADER_OR_FOLLOWER');
    expect(err.code).toBe(6);
    expect(err.message).toMatch(/gave up after 3 attempts/);
    expect(c.nodes[0]!.broker.requests.filter((r) => r.apiKey === Api.Produce)).toHaveLength(3);
  });

  it('does not resend a produce whose connection was lost', async () => {
    const c = await cluster(1, { t: [1] });
    c.handle = (_n, req) => {
      if (req.apiKey === Api.Produce) for (const s of c.nodes[0]!.broker.sockets) s.destroy();
      return undefined;
    };
    await expect(client(c).produce('t', 0, [{ value: 'a' }])).rejects.toBeInstanceOf(ConnectionError);
    expect(c.nodes[0]!.broker.requests.filter((r) => r.apiKey === Api.Produce)).toHaveLength(1);
  });

  it('looks the leader up again when the cached one cannot be reached, and sends a produce there (nothing was sent)', async () => {
    const c = await cluster(2, { t: [1] }, (nodeId, req) => (req.apiKey === Api.Produce ? produceOk(req, nodeId === 2 ? 7 : 0) : undefined));
    // Bootstrap through node 2 so metadata survives node 1's death.
    const k = new KafkaClient({ bootstrapServers: `127.0.0.1:${c.nodes[1]!.broker.port}`, codec: jsonCodec, retryBackoffMs: 10 });
    clients.push(k);
    expect(await k.produce('t', 0, [{ value: 'a' }])).toBe(0);
    // The leader dies (connections refused) and the partition moves to node 2.
    await c.nodes[0]!.broker.stop();
    c.leaders.t = [2];
    // Once the client saw its connection close, a new one is refused: that produce was never sent, so it goes to
    // the leader the refreshed metadata names (a connection lost mid-request is not resent: see below).
    await new Promise((r) => setTimeout(r, 50));
    expect(await k.produce('t', 0, [{ value: 'b' }])).toBe(7);
    expect(c.nodes[1]!.broker.requests.filter((r) => r.apiKey === Api.Produce)).toHaveLength(1);
  });

  it('sends admin requests to the controller', async () => {
    const c = await cluster(2, {}, (nodeId, req) =>
      req.apiKey === Api.CreateTopics ? { topics: [{ name: 'n', errorCode: nodeId === 1 ? 0 : 41, errorMessage: null }] } : undefined,
    );
    // Bootstrap through node 2 only; metadata names node 1 as the controller.
    const k = new KafkaClient({ bootstrapServers: `127.0.0.1:${c.nodes[1]!.broker.port}`, codec: jsonCodec });
    clients.push(k);
    await k.createTopics([{ name: 'n', numPartitions: 1, replicationFactor: 1 }]);
    expect(c.nodes[0]!.broker.requests.some((r) => r.apiKey === Api.CreateTopics)).toBe(true);
  });
});

describe('errors and results', () => {
  it('turns a broker error code into a KafkaError named after the code', async () => {
    const c = await cluster(1, {}, (_n, req) =>
      req.apiKey === Api.CreateTopics ? { topics: [{ name: 'dup', errorCode: 36, errorMessage: "Topic 'dup' already exists." }] } : undefined,
    );
    const err = (await client(c).createTopics([{ name: 'dup' }]).catch((e: unknown) => e)) as KafkaError;
    expect(err).toBeInstanceOf(KafkaError);
    expect(err.name).toBe('TOPIC_ALREADY_EXISTS');
    expect(err.code).toBe(36);
    expect(err.message).toBe("TOPIC_ALREADY_EXISTS: Topic 'dup' already exists. (CreateTopics dup)");
  });

  it('reports an unknown partition without retrying', async () => {
    const c = await cluster(1, { t: [1] });
    await expect(client(c).fetch('t', 3, 0)).rejects.toThrow('UNKNOWN_TOPIC_OR_PARTITION: partition 3 of topic t does not exist (the topic has 1)');
  });

  it('fetch drops records before the requested offset and returns the high watermark', async () => {
    const stored = [5, 6, 7].map((offset) => ({ offset, timestamp: 1, key: null, value: Buffer.from(`v${offset}`).toString('base64'), headers: [] }));
    const c = await cluster(1, { t: [1] }, (_n, req) =>
      req.apiKey === Api.Fetch
        ? {
            errorCode: 0,
            responses: [
              {
                topic: 't',
                partitions: [{ partitionIndex: 0, errorCode: 0, highWatermark: 8, logStartOffset: 5, records: Buffer.from(JSON.stringify(stored)).toString('base64') }],
              },
            ],
          }
        : undefined,
    );
    // The toy codec carries `records` as base64 text; turn it back into bytes as the real codec would.
    const k = new KafkaClient({
      bootstrapServers: `127.0.0.1:${c.nodes[0]!.broker.port}`,
      codec: {
        ...jsonCodec,
        decodeResponse(apiKey, version, frame) {
          const decoded = jsonCodec.decodeResponse(apiKey, version, frame) as { correlationId: number; body: Record<string, unknown> };
          if (apiKey === Api.Fetch) {
            const p = (decoded.body.responses as { partitions: { records: string | Buffer }[] }[])[0]!.partitions[0]!;
            p.records = Buffer.from(p.records as string, 'base64');
          }
          return decoded;
        },
      },
    });
    clients.push(k);
    const result = await k.fetch('t', 0, 6);
    expect(result.highWatermark).toBe(8);
    expect(result.logStartOffset).toBe(5);
    expect(result.records.map((r) => [r.offset, r.value?.toString()])).toEqual([
      [6, 'v6'],
      [7, 'v7'],
    ]);
  });

  it('fetches by topic id at Fetch 13+ once metadata gave one, and by name at 12 without', async () => {
    const c = await cluster(1, { t: [1] }, (_n, req) => {
      if (req.apiKey !== Api.Fetch) return undefined;
      const topic = (req.body.topics as { topic?: string; topicId?: string }[])[0]!;
      return {
        errorCode: 0,
        responses: [{ ...topic, partitions: [{ partitionIndex: 0, errorCode: 0, highWatermark: 0, records: null }] }],
      };
    });
    const k = client(c);
    await k.fetch('t', 0, 0);
    let sent = c.nodes[0]!.broker.requests.filter((r) => r.apiKey === Api.Fetch);
    expect(sent[0]!.apiVersion).toBe(12);
    expect(sent[0]!.body.topics).toEqual([expect.objectContaining({ topic: 't' })]);

    // Metadata now carries a topic id: the client moves to the newest Fetch and names the topic by id.
    c.nodes[0]!.broker.handler = ((inner) => (req: FakeRequest, reply: (b: unknown) => void, socket: Parameters<typeof inner>[2]) =>
      inner(req, (body) => {
        if (req.apiKey === Api.Metadata) for (const t of (body as { topics: Record<string, unknown>[] }).topics) t.topicId = 'AAAAAAAAAAAAAAAAAAAAAQ';
        reply(body);
      }, socket))(c.nodes[0]!.broker.handler);
    await k.metadata(['t']);
    const result = await k.fetch('t', 0, 0);
    expect(result.highWatermark).toBe(0);
    sent = c.nodes[0]!.broker.requests.filter((r) => r.apiKey === Api.Fetch);
    expect(sent[1]!.apiVersion).toBe(CLIENT_VERSIONS.get(Api.Fetch)!.max);
    expect(sent[1]!.body.topics).toEqual([expect.objectContaining({ topicId: 'AAAAAAAAAAAAAAAAAAAAAQ' })]);
    expect((sent[1]!.body.topics as Record<string, unknown>[])[0]).not.toHaveProperty('topic');
  });

  it('produce with acks=0 resolves without a response', async () => {
    const c = await cluster(1, { t: [1] });
    expect(await client(c).produce('t', 0, [{ value: 'a' }], { acks: 0 })).toBe(-1);
  });
});

describe('group coordinator routing', () => {
  /** FindCoordinator v4 answers with the node `coordinatorOf()` names; `describe` answers DescribeGroups. */
  async function groupCluster(coordinatorOf: () => number, describe: (nodeId: number) => number): Promise<Cluster> {
    const c: Cluster = await cluster(2, {}, (nodeId, req) => {
      if (req.apiKey === Api.FindCoordinator) {
        const node = c.nodes.find((n) => n.nodeId === coordinatorOf())!;
        const keys = req.body.coordinatorKeys as string[];
        return { coordinators: keys.map((key) => ({ key, nodeId: node.nodeId, host: '127.0.0.1', port: node.broker.port, errorCode: 0, errorMessage: null })) };
      }
      if (req.apiKey === Api.DescribeGroups) {
        const errorCode = describe(nodeId);
        return { groups: [{ errorCode, groupId: 'g', groupState: 'Empty', protocolType: '', protocolData: '', members: [] }] };
      }
      return undefined;
    });
    return c;
  }
  const count = (c: Cluster, nodeId: number, apiKey: number): number => c.nodes.find((n) => n.nodeId === nodeId)!.broker.requests.filter((r) => r.apiKey === apiKey).length;

  it('finds the coordinator again after NOT_COORDINATOR and caches it otherwise', async () => {
    let coordinator = 1;
    const c = await groupCluster(() => coordinator, (nodeId) => (nodeId === coordinator ? 0 : 16));
    const k = client(c);
    expect((await k.describeGroups(['g']))[0]!.coordinator.nodeId).toBe(1);
    await k.describeGroups(['g']);
    expect(count(c, 1, Api.FindCoordinator) + count(c, 2, Api.FindCoordinator)).toBe(1);
    coordinator = 2; // The group moved: node 1 now answers NOT_COORDINATOR.
    const [moved] = await k.describeGroups(['g']);
    expect(moved!.coordinator.nodeId).toBe(2);
    expect(count(c, 1, Api.DescribeGroups)).toBe(3);
    expect(count(c, 2, Api.DescribeGroups)).toBe(1);
  });

  it('waits out COORDINATOR_LOAD_IN_PROGRESS at the same coordinator', async () => {
    let loading = 2;
    const c = await groupCluster(() => 1, () => (loading-- > 0 ? 14 : 0));
    const k = client(c);
    expect((await k.describeGroups(['g']))[0]!.state).toBe('Empty');
    expect(count(c, 1, Api.DescribeGroups)).toBe(3);
    expect(count(c, 1, Api.FindCoordinator) + count(c, 2, Api.FindCoordinator)).toBe(1);
  });

  it('gives up after maxAttempts, naming the error and the call', async () => {
    const c = await groupCluster(() => 1, () => 15);
    const k = client(c, { maxAttempts: 3 });
    const err = await k.describeGroups(['g']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KafkaError);
    expect((err as KafkaError).message).toMatch(/gave up after 3 attempts: DescribeGroups g/);
    expect(count(c, 1, Api.DescribeGroups)).toBe(3);
  });

  it('does not retry other group errors', async () => {
    const c = await groupCluster(() => 1, () => 30);
    const k = client(c);
    await expect(k.describeGroups(['g'])).rejects.toMatchObject({ code: 30 });
    expect(count(c, 1, Api.DescribeGroups)).toBe(1);
  });
});

describe('describeQuorum', () => {
  const partition = {
    partitionIndex: 0,
    errorCode: 0,
    leaderId: 2,
    leaderEpoch: 4,
    highWatermark: 50,
    currentVoters: [
      { replicaId: 2, logEndOffset: 50, lastFetchTimestamp: 1000, lastCaughtUpTimestamp: 1000 },
      { replicaId: 3, logEndOffset: 45 },
    ],
    observers: [{ replicaId: 7, logEndOffset: -1, lastFetchTimestamp: -1, lastCaughtUpTimestamp: -1 }],
  };

  it('asks for __cluster_metadata-0 and reads leader, epoch, high watermark, voters and observers', async () => {
    const c = await cluster(1, {}, (_n, req) =>
      req.apiKey === Api.DescribeQuorum ? { errorCode: 0, topics: [{ topicName: '__cluster_metadata', partitions: [partition] }] } : undefined,
    );
    const q = await client(c).describeQuorum();
    const sent = c.nodes[0]!.broker.requests.find((r) => r.apiKey === Api.DescribeQuorum)!;
    expect(sent.apiVersion).toBe(2);
    expect(sent.body).toEqual({ topics: [{ topicName: '__cluster_metadata', partitions: [{ partitionIndex: 0 }] }] });
    expect(q).toEqual({
      leaderId: 2,
      leaderEpoch: 4,
      highWatermark: 50,
      voters: [
        { replicaId: 2, logEndOffset: 50, lastFetchTimestamp: 1000, lastCaughtUpTimestamp: 1000 },
        { replicaId: 3, logEndOffset: 45, lastFetchTimestamp: -1, lastCaughtUpTimestamp: -1 },
      ],
      observers: [{ replicaId: 7, logEndOffset: -1, lastFetchTimestamp: -1, lastCaughtUpTimestamp: -1 }],
      nodes: [],
      version: 2,
    });
  });

  it('turns a top-level or partition error into a KafkaError', async () => {
    const c = await cluster(1, {}, (_n, req) => (req.apiKey === Api.DescribeQuorum ? { errorCode: 6, topics: [] } : undefined));
    await expect(client(c).describeQuorum()).rejects.toThrow(/^NOT_LEADER_OR_FOLLOWER \(DescribeQuorum\)/);
    const d = await cluster(1, {}, (_n, req) =>
      req.apiKey === Api.DescribeQuorum ? { errorCode: 0, topics: [{ topicName: '__cluster_metadata', partitions: [{ ...partition, errorCode: 3 }] }] } : undefined,
    );
    await expect(client(d).describeQuorum()).rejects.toBeInstanceOf(KafkaError);
  });

  it('names the broker when it does not support DescribeQuorum', async () => {
    const c = await cluster(1, {});
    c.apiVersions = () => ({ errorCode: 0, apiKeys: ALL_VERSIONS.filter((v) => v.apiKey !== Api.DescribeQuorum) });
    const err = await client(c).describeQuorum().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnsupportedVersionError);
    expect((err as Error).message).toBe(`broker 127.0.0.1:${c.nodes[0]!.broker.port} does not support DescribeQuorum`);
  });
});

describe('electLeaders', () => {
  const answer = {
    throttleTimeMs: 0,
    errorCode: 0,
    replicaElectionResults: [{ topic: 't', partitionResult: [{ partitionId: 0, errorCode: 0, errorMessage: null }, { partitionId: 1, errorCode: 84, errorMessage: 'Leader election not needed for topic partition.' }] }],
  };

  it('sends the election type and partitions grouped by topic (each once) to the controller; per-partition errors are returned', async () => {
    const c = await cluster(2, { t: [1, 2] }, (_n, req) => (req.apiKey === Api.ElectLeaders ? answer : undefined));
    const results = await client(c).electLeaders('unclean', [{ topic: 't', partition: 0 }, { topic: 't', partition: 1 }, { topic: 't', partition: 0 }], { timeoutMs: 1000 });
    const sent = c.nodes[0]!.broker.requests.find((r) => r.apiKey === Api.ElectLeaders)!; // node 1 is the controller
    expect(sent.apiVersion).toBe(2);
    expect(sent.body).toEqual({ electionType: 1, topicPartitions: [{ topic: 't', partitions: [0, 1] }], timeoutMs: 1000 });
    expect(results.map((r) => ({ topic: r.topic, partition: r.partition, code: r.error?.code ?? 0 }))).toEqual([
      { topic: 't', partition: 0, code: 0 },
      { topic: 't', partition: 1, code: 84 },
    ]);
    expect(results[1]!.error).toBeInstanceOf(KafkaError);
  });

  it('null asks for every partition; a top-level error throws', async () => {
    const c = await cluster(1, {}, (_n, req) => (req.apiKey === Api.ElectLeaders ? { throttleTimeMs: 0, errorCode: 42, replicaElectionResults: [] } : undefined));
    await expect(client(c).electLeaders('preferred', null)).rejects.toMatchObject({ code: 42 });
    expect(c.nodes[0]!.broker.requests.find((r) => r.apiKey === Api.ElectLeaders)!.body).toMatchObject({ electionType: 0, topicPartitions: null });
  });

  it('refuses an unclean election with a broker that speaks only v0 (which has no election type)', async () => {
    const c = await cluster(1, {}, (_n, req) => (req.apiKey === Api.ElectLeaders ? answer : undefined));
    c.apiVersions = () => ({ errorCode: 0, apiKeys: ALL_VERSIONS.map((v) => (v.apiKey === Api.ElectLeaders ? { ...v, maxVersion: 0 } : v)) });
    await expect(client(c).electLeaders('unclean', null)).rejects.toBeInstanceOf(UnsupportedVersionError);
    expect(await client(c).electLeaders('preferred', [{ topic: 't', partition: 0 }])).toHaveLength(2);
  });
});

describe('partition reassignments', () => {
  it('alters: targets and cancels grouped by topic to the controller; per-partition errors returned, a top-level error throws', async () => {
    const answer = {
      throttleTimeMs: 0,
      errorCode: 0,
      errorMessage: null,
      responses: [{ name: 't', partitions: [{ partitionIndex: 0, errorCode: 0, errorMessage: null }, { partitionIndex: 1, errorCode: 85, errorMessage: 'nothing to cancel' }] }],
    };
    const c = await cluster(2, { t: [1, 2] }, (_n, req) => (req.apiKey === Api.AlterPartitionReassignments ? answer : undefined));
    const results = await client(c).alterPartitionReassignments([{ topic: 't', partition: 0, replicas: [2, 1] }, { topic: 't', partition: 1, replicas: null }], { timeoutMs: 1000 });
    const sent = c.nodes[0]!.broker.requests.find((r) => r.apiKey === Api.AlterPartitionReassignments)!;
    expect(sent.apiVersion).toBe(0);
    expect(sent.body).toEqual({ timeoutMs: 1000, topics: [{ name: 't', partitions: [{ partitionIndex: 0, replicas: [2, 1] }, { partitionIndex: 1, replicas: null }] }] });
    expect(results.map((r) => [r.partition, r.error?.code ?? 0])).toEqual([
      [0, 0],
      [1, 85], // NO_REASSIGNMENT_IN_PROGRESS
    ]);
    expect(results[1]!.error!.message).toMatch(/nothing to cancel/);

    const d = await cluster(1, {}, (_n, req) => (req.apiKey === Api.AlterPartitionReassignments ? { throttleTimeMs: 0, errorCode: 44, errorMessage: 'too many', responses: [] } : undefined));
    await expect(client(d).alterPartitionReassignments([{ topic: 't', partition: 0, replicas: [1] }])).rejects.toMatchObject({ code: 44, message: expect.stringMatching(/too many \(AlterPartitionReassignments\)/) });
  });

  it('lists: null for everything, else the partitions grouped by topic (each once)', async () => {
    const ongoing = { throttleTimeMs: 0, errorCode: 0, errorMessage: null, topics: [{ name: 't', partitions: [{ partitionIndex: 1, replicas: [3, 1, 2], addingReplicas: [3], removingReplicas: [2] }] }] };
    const c = await cluster(1, {}, (_n, req) => (req.apiKey === Api.ListPartitionReassignments ? ongoing : undefined));
    expect(await client(c).listPartitionReassignments(null)).toEqual([{ topic: 't', partition: 1, replicas: [3, 1, 2], addingReplicas: [3], removingReplicas: [2] }]);
    await client(c).listPartitionReassignments([{ topic: 't', partition: 1 }, { topic: 't', partition: 1 }, { topic: 'u', partition: 0 }], { timeoutMs: 500 });
    const bodies = c.nodes[0]!.broker.requests.filter((r) => r.apiKey === Api.ListPartitionReassignments).map((r) => r.body);
    expect(bodies).toEqual([
      { timeoutMs: 60000, topics: null },
      { timeoutMs: 500, topics: [{ name: 't', partitionIndexes: [1] }, { name: 'u', partitionIndexes: [0] }] },
    ]);
  });
});

describe('offsetForLeaderEpoch', () => {
  const reply = (errorCode: number) => ({ throttleTimeMs: 0, topics: [{ topic: 't', partitions: [{ errorCode, partition: 1, leaderEpoch: 3, endOffset: 17 }] }] });

  it("asks the partition's leader as a consumer and returns the epoch's end", async () => {
    const c = await cluster(2, { t: [1, 2] }, (_n, req) => (req.apiKey === Api.OffsetForLeaderEpoch ? reply(0) : undefined));
    expect(await client(c).offsetForLeaderEpoch('t', 1, 3, 5)).toEqual({ leaderEpoch: 3, endOffset: 17 });
    const sent = c.nodes[1]!.broker.requests.find((r) => r.apiKey === Api.OffsetForLeaderEpoch)!;
    expect(sent.apiVersion).toBe(4);
    expect(sent.body).toEqual({ replicaId: -1, topics: [{ topic: 't', partitions: [{ partition: 1, currentLeaderEpoch: 5, leaderEpoch: 3 }] }] });
    expect(c.nodes[0]!.broker.requests.some((r) => r.apiKey === Api.OffsetForLeaderEpoch)).toBe(false);
  });

  it('a fenced current epoch fails at once (retrying the same epoch cannot help); NOT_LEADER_OR_FOLLOWER is retried', async () => {
    const c = await cluster(2, { t: [1, 2] }, (_n, req) => (req.apiKey === Api.OffsetForLeaderEpoch ? reply(74) : undefined));
    await expect(client(c).offsetForLeaderEpoch('t', 1, 3, 2)).rejects.toMatchObject({ code: 74, retriable: false });
    expect(c.nodes[1]!.broker.requests.filter((r) => r.apiKey === Api.OffsetForLeaderEpoch)).toHaveLength(1);
    let calls = 0;
    const d = await cluster(2, { t: [1, 2] }, (_n, req) => (req.apiKey === Api.OffsetForLeaderEpoch ? reply(calls++ === 0 ? 6 : 0) : undefined));
    expect(await client(d).offsetForLeaderEpoch('t', 1, 3)).toEqual({ leaderEpoch: 3, endOffset: 17 });
    expect(calls).toBe(2);
  });
});

describe('describeLogDirs', () => {
  const dirs = (nodeId: number, errorCode = 0) => ({
    throttleTimeMs: 0,
    errorCode,
    results: [
      {
        errorCode: 0,
        logDir: `/data/${nodeId}`,
        topics: [{ name: 't', partitions: [{ partitionIndex: 1, partitionSize: 1000 * nodeId, offsetLag: 0, isFutureKey: false }] }],
        totalBytes: 1 << 30,
        usableBytes: 1 << 29,
      },
      { errorCode: 56, logDir: '/broken', topics: [], totalBytes: -1, usableBytes: -1 },
    ],
  });

  it('asks the named broker itself (not any broker) at v4; null topics for every replica; per-dir errors returned', async () => {
    const c = await cluster(3, { t: [1, 2] }, (nodeId, req) => (req.apiKey === Api.DescribeLogDirs ? dirs(nodeId) : undefined));
    const k = client(c);
    const answer = await k.describeLogDirs(2);
    expect(answer[0]).toEqual({ logDir: '/data/2', error: null, totalBytes: 1 << 30, usableBytes: 1 << 29, replicas: [{ topic: 't', partition: 1, sizeBytes: 2000, offsetLag: 0, isFuture: false }] });
    expect(answer[1]!.error).toMatchObject({ code: 56, message: expect.stringMatching(/broker 2, log dir \/broken/) });
    const asked = c.nodes.map((n) => n.broker.requests.filter((r) => r.apiKey === Api.DescribeLogDirs));
    expect(asked.map((a) => a.length)).toEqual([0, 1, 0]);
    expect(asked[1]![0]!.apiVersion).toBe(4);
    expect(asked[1]![0]!.body).toEqual({ topics: null });
    expect((await k.describeLogDirs(3))[0]!.replicas[0]!.sizeBytes).toBe(3000);
    expect(c.nodes[2]!.broker.requests.some((r) => r.apiKey === Api.DescribeLogDirs)).toBe(true);
  });

  it('a topic name stands for all its partitions, explicit partitions are sent as given; a top-level error throws', async () => {
    const c = await cluster(2, { t: [1, 2], u: [2] }, (nodeId, req) => (req.apiKey === Api.DescribeLogDirs ? dirs(nodeId) : undefined));
    await client(c).describeLogDirs(1, ['t', { topic: 'u', partitions: [0] }]);
    expect(c.nodes[0]!.broker.requests.find((r) => r.apiKey === Api.DescribeLogDirs)!.body).toEqual({
      topics: [
        { topic: 't', partitions: [0, 1] },
        { topic: 'u', partitions: [0] },
      ],
    });
    await expect(client(c).describeLogDirs(1, ['nope'])).rejects.toMatchObject({ code: 3 });
    const d = await cluster(1, {}, (nodeId, req) => (req.apiKey === Api.DescribeLogDirs ? dirs(nodeId, 31) : undefined));
    await expect(client(d, { maxAttempts: 1 }).describeLogDirs(1)).rejects.toMatchObject({ code: 31, message: expect.stringMatching(/DescribeLogDirs at broker 1/) });
  });

  it('an unknown broker id fails naming it; an older broker without volume sizes gives -1', async () => {
    const c = await cluster(1, {}, (nodeId, req) => {
      if (req.apiKey !== Api.DescribeLogDirs) return undefined;
      const body = dirs(nodeId) as any;
      delete body.errorCode;
      delete body.results[0].totalBytes;
      delete body.results[0].usableBytes;
      return body;
    });
    c.apiVersions = () => ({ errorCode: 0, apiKeys: ALL_VERSIONS.map((a) => (a.apiKey === Api.DescribeLogDirs ? { ...a, maxVersion: 1 } : a)) });
    const k = client(c, { maxAttempts: 1 });
    const [dir] = await k.describeLogDirs(1);
    expect(dir).toMatchObject({ totalBytes: -1, usableBytes: -1 });
    expect(c.nodes[0]!.broker.requests.find((r) => r.apiKey === Api.DescribeLogDirs)!.apiVersion).toBe(1);
    await expect(k.describeLogDirs(7)).rejects.toThrow(/broker 7 is not in the cluster metadata/);
  });
});
