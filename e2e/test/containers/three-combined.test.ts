// deploy/compose/three-combined.yml in containers: three combined nodes (broker and controller each) on a
// user-defined Docker network, a three-voter quorum, replication factor 3. Each node's EXTERNAL listener
// is published on a free host port (the compose file's fixed 19092-19094 could be taken on a test host).
import kafkajs from 'kafkajs';
import { afterAll, beforeAll, beforeEach, expect, test } from 'vitest';
import { Network, type StartedNetwork, type StartedTestContainer } from 'testcontainers';
import { describeContainers, kcatMetadata, printContainerLog, removeContainer, startNodeContainer } from '../../support/containers.ts';
import { uniqueTopic } from '../../support/fixtures.ts';
import { freePort } from '../../support/node.ts';

const { Kafka, logLevel } = kafkajs;
const nodeIds = [1, 2, 3] as const;
const voters = nodeIds.map((id) => `${id}@kafka-${id}:9093`).join(',');

/** three-combined.yml's environment for node `id`, its EXTERNAL listener on `externalPort`. */
function threeCombinedEnv(id: number, externalPort: number): Record<string, string> {
  return {
    KAFKA_NODE_ID: String(id),
    KAFKA_PROCESS_ROLES: 'broker,controller',
    KAFKA_LISTENERS: `PLAINTEXT://kafka-${id}:9092,EXTERNAL://:${externalPort},CONTROLLER://kafka-${id}:9093`,
    KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://kafka-${id}:9092,EXTERNAL://localhost:${externalPort}`,
    KAFKA_CONTROLLER_QUORUM_VOTERS: voters,
    KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
    KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,EXTERNAL:PLAINTEXT',
    KAFKA_INTER_BROKER_LISTENER_NAME: 'PLAINTEXT',
    KAFKA_CLUSTER_ID: 'tributary-compose-1',
    KAFKA_DEFAULT_REPLICATION_FACTOR: '3',
    KAFKA_MIN_INSYNC_REPLICAS: '2',
    KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '3',
    KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '3',
    KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '2',
    KAFKA_NUM_PARTITIONS: '3',
  };
}

describeContainers('three-combined compose cluster in containers', () => {
  let network: StartedNetwork | null = null;
  const nodes: StartedTestContainer[] = [];
  const ports: number[] = [];
  const bootstrap = () => ports.map((p) => `localhost:${p}`).join(',');

  beforeAll(async () => {
    network = await new Network().start();
    for (let i = 0; i < nodeIds.length; i++) ports.push(await freePort());
    // All three at once: a node finishes starting only once a quorum of voters has elected a leader.
    const started = await Promise.allSettled(nodeIds.map((id, i) => startNodeContainer({
      hostname: `kafka-${id}`,
      network: network!,
      env: threeCombinedEnv(id, ports[i]!),
      ports: [{ host: ports[i]!, container: ports[i]! }],
    })));
    for (const result of started) if (result.status === 'fulfilled') nodes.push(result.value);
    const failed = started.find((r) => r.status === 'rejected');
    if (failed !== undefined) {
      for (const node of nodes) await printContainerLog(node.getId(), `${node.getHostname()} log (cluster did not start)`);
      throw (failed as PromiseRejectedResult).reason;
    }
  }, 240_000);
  beforeEach((context) => {
    context.onTestFailed(async () => {
      for (const node of nodes) await printContainerLog(node.getId(), `${node.getHostname()} log (test "${context.task.name}" failed)`);
    });
  });
  afterAll(async () => {
    await Promise.allSettled(nodes.map((n) => removeContainer(n)));
    await network?.stop();
  }, 90_000);

  test('kcat -L through one node lists all three brokers at their published addresses', async () => {
    const metadata = await kcatMetadata(`localhost:${ports[0]}`);
    expect(metadata.brokers.map((b) => ({ id: b.id, name: b.name })).sort((a, b) => a.id - b.id))
      .toEqual(nodeIds.map((id, i) => ({ id, name: `localhost:${ports[i]}` })));
  });

  test('a topic with 6 partitions and replication factor 3 has three replicas each and leaders on all three nodes', async () => {
    const topic = uniqueTopic('container-rf3');
    const kafka = new Kafka({ clientId: 'trib-e2e-containers', brokers: bootstrap().split(','), logLevel: logLevel.WARN, retry: { retries: 5 } });
    const admin = kafka.admin();
    await admin.connect();
    try {
      expect(await admin.createTopics({ topics: [{ topic, numPartitions: 6, replicationFactor: 3 }], waitForLeaders: true })).toBe(true);
    } finally {
      await admin.disconnect();
    }
    const metadata = await kcatMetadata(`localhost:${ports[1]}`, topic);
    const partitions = metadata.topics.find((t) => t.topic === topic)?.partitions ?? [];
    expect(partitions.map((p) => p.partition).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5]);
    for (const p of partitions) {
      expect(p.replicas.map((r) => r.id).sort(), `partition ${p.partition} replicas`).toEqual([1, 2, 3]);
      expect(p.isrs.length, `partition ${p.partition} ISR`).toBeGreaterThanOrEqual(2);
    }
    expect(new Set(partitions.map((p) => p.leader))).toEqual(new Set(nodeIds));
  });
});
