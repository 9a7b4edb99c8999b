// deploy/compose/three-controllers-three-brokers.yml brought up as it is by a compose tool (the docker compose
// plugin, else Debian's docker-compose): three controller-only nodes (the quorum) and three brokers. Only the
// file's variables change: TRIBUTARY_IMAGE (the image setup-docker built) and TRIBUTARY_BROKER_n_PORT (free host
// ports instead of 29092-29094, which may be taken on a test host). kcat, kafkajs and Debian's
// confluent-kafka-python on the host reach the brokers through the published ports; `down -v` leaves nothing.
import { randomUUID } from 'node:crypto';
import kafkajs from 'kafkajs';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { composeLeftovers, ComposeProject, findComposeTool } from '../../support/compose.ts';
import { describeContainers, kcatMetadata, tributaryImage, waitFor } from '../../support/containers.ts';
import { uniqueTopic } from '../../support/fixtures.ts';
import { kcatConsume, runOk } from '../../support/kcat.ts';
import { freePort } from '../../support/node.ts';
import { runPython, runPythonLast } from '../../support/python.ts';

const { Kafka, logLevel } = kafkajs;
const composeFile = 'deploy/compose/three-controllers-three-brokers.yml';
const brokerIds = [4, 5, 6] as const;
const partitions = 6;
const recordsPerTopic = 1000;

const tool = await findComposeTool();

/** Fails in CI and is skipped elsewhere, with the reason, when no compose tool answers. */
function describeCompose(name: string, body: () => void): void {
  if (tool !== null) {
    describeContainers(name, body);
  } else if (process.env.CI === 'true') {
    describe(name, () => test('a compose tool is available', () => {
      throw new Error(`${name}: neither "docker compose" nor "docker-compose" runs here; run scripts/setup-docker.sh (as root), which installs Debian's docker-compose`);
    }));
  } else {
    console.warn(`[containers] skipping "${name}": neither "docker compose" nor "docker-compose" runs here; run scripts/setup-docker.sh as root`);
    describe.skip(name, body);
  }
}

describeCompose(`${composeFile} with a compose tool`, () => {
  let compose: ComposeProject | null = null;
  const ports: number[] = [];
  const bootstrap = (): string => ports.map((p) => `localhost:${p}`).join(',');

  beforeAll(async () => {
    for (let i = 0; i < brokerIds.length; i++) ports.push(await freePort());
    compose = new ComposeProject(tool!, composeFile, {
      TRIBUTARY_IMAGE: tributaryImage,
      ...Object.fromEntries(ports.map((port, i) => [`TRIBUTARY_BROKER_${i + 1}_PORT`, String(port)])),
    });
    try {
      await compose.up();
      // Brokers start once the quorum has a leader and they registered; all three listed means the cluster is up.
      await waitFor('kcat -L to list three brokers', 120_000, async () => {
        const metadata = await kcatMetadata(`localhost:${ports[0]}`).catch(() => null);
        return metadata !== null && metadata.brokers.length === brokerIds.length ? metadata : null;
      }, 1000);
    } catch (error) {
      console.error(`--- ${compose.project} logs (cluster did not start) ---\n${await compose.logs()}`);
      throw error;
    }
  }, 300_000);
  beforeEach((context) => {
    context.onTestFailed(async () => {
      if (compose !== null) console.error(`--- ${compose.project} logs (test "${context.task.name}" failed) ---\n${await compose.logs()}`);
    });
  });
  afterAll(async () => {
    if (compose === null) return;
    const failure = await compose.down();
    // Checked whatever happened above: the project's containers, network and volumes are gone.
    expect(failure).toBeNull();
    expect(await composeLeftovers(compose.project)).toEqual([]);
  }, 180_000);

  test('the file starts six containers: three controllers and three brokers', async () => {
    expect((await compose!.containerIds()).length).toBe(6);
  });

  test('every container\'s health check passes, the controllers\' (no client listener) included', async () => {
    const ids = await compose!.containerIds();
    // HEALTHCHECK runs every 10 s; a status other than "starting" is the verdict.
    const statuses = await waitFor('a health verdict for all six containers', 90_000, async () => {
      const out = (await runOk('docker', ['inspect', '--format', '{{.Name}} {{.State.Health.Status}}', ...ids], { timeoutMs: 20_000 })).stdout.toString('utf8').trim().split('\n');
      return out.every((line) => !line.endsWith(' starting')) ? out : null;
    }, 1000);
    expect(statuses.map((line) => line.split(' ')[1])).toEqual(Array.from({ length: 6 }, () => 'healthy'));
  }, 120_000);

  test('kcat -L lists the three brokers (ids 4-6) at their published addresses; controllers are not brokers', async () => {
    const metadata = await kcatMetadata(`localhost:${ports[2]}`);
    expect(metadata.brokers.map((b) => ({ id: b.id, name: b.name })).sort((a, b) => a.id - b.id))
      .toEqual(brokerIds.map((id, i) => ({ id, name: `localhost:${ports[i]}` })));
  });

  test(`a topic with ${partitions} partitions and replication factor 3: three replicas each, leaders on all three brokers; kcat produces and consumes it`, async () => {
    const topic = uniqueTopic('compose-rf3');
    const kafka = new Kafka({ clientId: 'trib-e2e-compose', brokers: bootstrap().split(','), logLevel: logLevel.WARN, retry: { retries: 5 } });
    const admin = kafka.admin();
    await admin.connect();
    try {
      expect(await admin.createTopics({ topics: [{ topic, numPartitions: partitions, replicationFactor: 3 }], waitForLeaders: true })).toBe(true);
    } finally {
      await admin.disconnect();
    }
    const metadata = await kcatMetadata(`localhost:${ports[1]}`, topic);
    const described = metadata.topics.find((t) => t.topic === topic)?.partitions ?? [];
    expect(described.map((p) => p.partition).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5]);
    for (const p of described) {
      expect(p.replicas.map((r) => r.id).sort(), `partition ${p.partition} replicas`).toEqual([...brokerIds]);
      expect(p.isrs.length, `partition ${p.partition} ISR`).toBeGreaterThanOrEqual(2);
    }
    expect(new Set(described.map((p) => p.leader))).toEqual(new Set(brokerIds));

    // kcat: keyed records with acks=all (min.insync.replicas 2 in the file), then every partition read back.
    const lines = Array.from({ length: recordsPerTopic }, (_, i) => `key-${i}\tvalue-${i}\n`).join('');
    await runOk('kcat', ['-P', '-b', bootstrap(), '-t', topic, '-K', '\t', '-X', 'acks=all'], { input: lines, timeoutMs: 120_000 });
    const seen = new Map<string, string>();
    let nonEmpty = 0;
    for (let p = 0; p < partitions; p++) {
      const records = await kcatConsume(bootstrap(), topic, { partition: p });
      records.forEach((r, i) => expect(r.offset, `partition ${p} record ${i}`).toBe(i));
      if (records.length > 0) nonEmpty += 1;
      for (const r of records) seen.set(r.key!.toString('utf8'), r.value!.toString('utf8'));
    }
    expect(seen.size).toBe(recordsPerTopic);
    for (let i = 0; i < recordsPerTopic; i++) expect(seen.get(`key-${i}`), `key-${i}`).toBe(`value-${i}`);
    // 1000 keys hash over all six partitions.
    expect(nonEmpty).toBe(partitions);
  });

  test(`confluent-kafka-python produces ${recordsPerTopic} records to a replicated topic and a consumer group reads and commits them`, async () => {
    const topic = uniqueTopic('compose-python');
    const kafka = new Kafka({ clientId: 'trib-e2e-compose', brokers: bootstrap().split(','), logLevel: logLevel.WARN, retry: { retries: 5 } });
    const admin = kafka.admin();
    await admin.connect();
    try {
      expect(await admin.createTopics({ topics: [{ topic, numPartitions: 3, replicationFactor: 3 }], waitForLeaders: true })).toBe(true);
    } finally {
      await admin.disconnect();
    }
    const produced = await runPythonLast<{ delivered: number; error_count: number; offsets_in_order: boolean }>('confluent_client.py', [bootstrap(), 'produce', topic, 'none', String(recordsPerTopic), 'compose']);
    expect(produced).toMatchObject({ delivered: recordsPerTopic, error_count: 0, offsets_in_order: true });
    const group = `compose-group-${randomUUID()}`;
    const read = async (): Promise<string[]> => {
      const { lines } = await runPython('group_client.py', ['confluent', bootstrap(), topic, group, String(recordsPerTopic), '3']);
      expect((lines.at(-1) as { done?: number } | undefined)?.done, 'group_client.py finished').toBeTypeOf('number');
      return lines.filter((l): l is { k: string } => typeof l === 'object' && l !== null && 'k' in l).map((l) => l.k);
    };
    const first = await read();
    expect(new Set(first)).toEqual(new Set(Array.from({ length: recordsPerTopic }, (_, i) => `key-${i}`)));
    // The group's commit is in the replicated offsets topic: the next member reads only what came after.
    await runOk('kcat', ['-P', '-b', bootstrap(), '-t', topic, '-K', '\t', '-X', 'acks=all'], { input: 'after-0\tm\nafter-1\tm\n', timeoutMs: 60_000 });
    expect((await read()).sort()).toEqual(['after-0', 'after-1']);
  });
});
