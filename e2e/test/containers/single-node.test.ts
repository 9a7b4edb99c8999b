// The seed tutorial's single-node compose setup with only the image changed (tributary:test instead of
// apache/kafka), in a container: kcat and confluent-kafka-python on the host reach it through the published
// port, its data survives a restart, its health check passes, it runs as uid 10001, and bad config stops it.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, expect, test } from 'vitest';
import type { StartedTestContainer } from 'testcontainers';
import { getContainerRuntimeClient } from 'testcontainers';
import { containerLogs, describeContainers, inspectContainer, kcatMetadata, printContainerLog, removeContainer, seedSingleNodeEnv, startNodeContainer, tributaryImage, waitFor } from '../../support/containers.ts';
import { uniqueTopic } from '../../support/fixtures.ts';
import { kcatConsume, runOk } from '../../support/kcat.ts';
import { freePort } from '../../support/node.ts';
import { runPython, runPythonLast } from '../../support/python.ts';
import { textRecord } from '../../support/records.ts';

const script = 'confluent_client.py';
const recordsPerTopic = 1000;
const partitions = 3; // KAFKA_NUM_PARTITIONS in the seed file: topics are auto-created with 3

/** The seed's environment; only the advertised address changes, to the port published on this host. */
function seedEnv(hostPort: number): Record<string, string> {
  return { ...seedSingleNodeEnv, KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://localhost:${hostPort}` };
}

async function kcatProduceKeyed(bootstrap: string, topic: string, count: number): Promise<void> {
  const lines = Array.from({ length: count }, (_, i) => { const r = textRecord(i); return `${r.key}\t${r.value}\n`; }).join('');
  await runOk('kcat', ['-P', '-b', bootstrap, '-t', topic, '-K', '\t', '-X', 'acks=all'], { input: lines, timeoutMs: 120_000 });
}

const markerKeys = ['marker-0', 'marker-1'];
async function kcatProduceMarkers(bootstrap: string, topic: string): Promise<void> {
  await runOk('kcat', ['-P', '-b', bootstrap, '-t', topic, '-K', '\t', '-X', 'acks=all'], { input: markerKeys.map((k) => `${k}\tm\n`).join(''), timeoutMs: 60_000 });
}

/** Reads every partition with kcat and checks all `count` keyed records came back, each partition in order. */
async function expectKeyedRecords(bootstrap: string, topic: string, count: number): Promise<void> {
  const seen = new Map<string, string>();
  let nonEmpty = 0;
  for (let p = 0; p < partitions; p++) {
    const records = await kcatConsume(bootstrap, topic, { partition: p });
    if (records.length > 0) nonEmpty += 1;
    records.forEach((r, i) => expect(r.offset, `partition ${p} record ${i}`).toBe(i));
    // One producer: within a partition the keys keep the order they were sent in.
    const indexes = records.map((r) => Number(r.key!.toString('utf8').slice('key-'.length)));
    expect(indexes, `partition ${p} key order`).toEqual([...indexes].sort((a, b) => a - b));
    for (const r of records) seen.set(r.key!.toString('utf8'), r.value!.toString('utf8'));
  }
  expect(seen.size).toBe(count);
  for (let i = 0; i < count; i++) {
    const want = textRecord(i);
    expect(seen.get(want.key), want.key).toBe(want.value);
  }
  // Keys hash over the partitions: with 1000 keys every partition gets some.
  expect(nonEmpty).toBe(partitions);
}

interface GroupRead { keys: string[]; done: number }
async function confluentGroupRead(bootstrap: string, topic: string, group: string, max: number): Promise<GroupRead> {
  const { lines } = await runPython('group_client.py', ['confluent', bootstrap, topic, group, String(max), '3']);
  const keys = lines.filter((l): l is { k: string } => typeof l === 'object' && l !== null && 'k' in l).map((l) => l.k);
  const done = (lines.at(-1) as { done?: number } | undefined)?.done ?? -1;
  return { keys, done };
}

describeContainers('seed single-node compose setup in a container', () => {
  let hostPort = 0;
  let container: StartedTestContainer | null = null;
  const bootstrap = () => `localhost:${hostPort}`;
  const broker = () => {
    if (container === null) throw new Error('container not started (see the beforeAll error above)');
    return container;
  };

  beforeAll(async () => {
    hostPort = await freePort();
    // container_name/hostname `broker`: the seed's listeners and voters name it.
    container = await startNodeContainer({ hostname: 'broker', env: seedEnv(hostPort), ports: [{ host: hostPort, container: 9092 }] });
  }, 180_000);
  beforeEach((context) => {
    context.onTestFailed(async () => {
      if (container !== null) await printContainerLog(container.getId(), `broker log (test "${context.task.name}" failed)`);
    });
  });
  afterAll(async () => {
    await removeContainer(container);
  }, 60_000);

  test('runs as the non-root user tributary (uid/gid 10001), which owns the data volume', async () => {
    const state = await inspectContainer(broker().getId());
    expect(state.user).toBe('tributary');
    // No shell needed: node is the one program the image is sure to have.
    const probe = await broker().exec(['node', '-e', 'const s=require("node:fs").statSync("/var/lib/tributary");process.stdout.write(JSON.stringify({uid:process.getuid(),gid:process.getgid(),dirUid:s.uid,dirGid:s.gid}))']);
    expect(probe.exitCode, probe.output).toBe(0);
    expect(JSON.parse(probe.stdout)).toEqual({ uid: 10001, gid: 10001, dirUid: 10001, dirGid: 10001 });
    // The image's VOLUME: the data lives in a volume, not in the container's writable layer.
    expect(state.mounts).toContainEqual(expect.objectContaining({ type: 'volume', destination: '/var/lib/tributary' }));
  });

  test('kcat -L lists broker 1 at the advertised, published address', async () => {
    const metadata = await kcatMetadata(bootstrap());
    expect(metadata.brokers).toEqual([{ id: 1, name: `localhost:${hostPort}` }]);
  });

  test(`kcat produces ${recordsPerTopic} keyed records (topic auto-created with ${partitions} partitions) and consumes them back`, async () => {
    const topic = uniqueTopic('container-kcat');
    await kcatProduceKeyed(bootstrap(), topic, recordsPerTopic);
    const metadata = await kcatMetadata(bootstrap(), topic);
    expect(metadata.topics.find((t) => t.topic === topic)?.partitions.length).toBe(partitions);
    await expectKeyedRecords(bootstrap(), topic, recordsPerTopic);
  });

  test(`confluent-kafka-python produces ${recordsPerTopic} records and a consumer group reads and commits them all`, async () => {
    const topic = uniqueTopic('container-python');
    await runPythonLast(script, [bootstrap(), 'create', topic, String(partitions)]);
    const produced = await runPythonLast<{ delivered: number; error_count: number }>(script, [bootstrap(), 'produce', topic, 'none', String(recordsPerTopic), 'container']);
    expect(produced).toMatchObject({ delivered: recordsPerTopic, error_count: 0 });
    const group = `container-group-${randomUUID()}`;
    const first = await confluentGroupRead(bootstrap(), topic, group, recordsPerTopic);
    expect(first.done).toBe(recordsPerTopic);
    expect(new Set(first.keys)).toEqual(new Set(Array.from({ length: recordsPerTopic }, (_, i) => `key-${i}`)));
    // The group committed its positions: after two more records, the next member of the group reads only
    // those (an empty read would have to wait out the client's 60 s first-record timeout).
    await kcatProduceMarkers(bootstrap(), topic);
    const second = await confluentGroupRead(bootstrap(), topic, group, recordsPerTopic);
    expect(second.keys.sort()).toEqual(markerKeys);
  });

  test('the image health check reports healthy', async () => {
    // HEALTHCHECK runs every 10 s after a 20 s start period; three failures in a row would mean unhealthy.
    const health = await waitFor('health status healthy or unhealthy', 90_000, async () => {
      const status = (await inspectContainer(broker().getId())).health;
      return status === 'healthy' || status === 'unhealthy' ? status : null;
    }, 1000);
    expect(health).toBe('healthy');
  }, 120_000);

  test('after a restart of the container its records and the group\'s committed offsets are still there', async () => {
    const topic = uniqueTopic('container-restart');
    await kcatProduceKeyed(bootstrap(), topic, recordsPerTopic);
    const group = `container-restart-${randomUUID()}`;
    expect((await confluentGroupRead(bootstrap(), topic, group, recordsPerTopic)).done).toBe(recordsPerTopic);

    // Like `docker compose restart`: SIGTERM, up to 10 s to stop, the same container (and volume) again.
    await broker().restart({ timeout: 10_000 });

    await expectKeyedRecords(bootstrap(), topic, recordsPerTopic);
    // The restarted node takes writes, and the group resumes exactly after the offsets it committed before.
    await kcatProduceMarkers(bootstrap(), topic);
    const resumed = await confluentGroupRead(bootstrap(), topic, group, recordsPerTopic);
    expect(resumed.keys.sort()).toEqual(markerKeys);
  }, 240_000);
});

describeContainers('a container with bad configuration', () => {
  test('an unknown KAFKA_ variable stops the node with a message naming the setting', async () => {
    const client = await getContainerRuntimeClient();
    // Created through the engine's API: a container that exits at once fails every testcontainers wait.
    const created = await client.container.create({
      Image: tributaryImage,
      Hostname: 'broker',
      Env: Object.entries({ ...seedSingleNodeEnv, KAFKA_NOT_A_REAL_SETTING: 'yes' }).map(([k, v]) => `${k}=${v}`),
      HostConfig: { AutoRemove: false },
    });
    try {
      await client.container.start(created);
      const exitCode = await waitFor('the container to exit', 60_000, async () => {
        const state = await inspectContainer(created.id);
        return state.running ? null : state.exitCode;
      });
      expect(exitCode).not.toBe(0);
      const log = await containerLogs(created.id);
      expect(log).toContain('config error');
      expect(log).toContain('not.a.real.setting');
      expect(log).not.toContain('node started');
    } finally {
      await client.container.remove(created, { removeVolumes: true });
    }
  }, 120_000);
});
