// The producer/consumer examples from the seed lessons (e2e/seeds/*.py), run unchanged but for the
// bootstrap address. Consumers with group.id/group_id need the group coordinator.
import { join, resolve } from 'node:path';
import { describe, expect, test } from 'vitest';
import { useNode } from '../support/fixtures.ts';
import { kcatConsume, runOk } from '../support/kcat.ts';
import { Background, sleep } from '../support/process.ts';
import { python } from '../support/python.ts';

const seedsDir = resolve(import.meta.dirname, '../seeds');
// The examples rely on Kafka's default auto topic creation.
const node = useNode({ overrides: { 'auto.create.topics.enable': 'true' } });

function env(): NodeJS.ProcessEnv {
  return { ...process.env, TRIB_BOOTSTRAP: node().bootstrap, TRIB_SEED_MESSAGES: '1', PYTHONUNBUFFERED: '1' };
}

async function seed(file: string): Promise<string> {
  const result = await runOk(python, [join(seedsDir, file)], { env: env(), timeoutMs: 60_000 });
  return result.stdout.toString('utf8');
}

/** Runs a consumer example in the background and the producer example every second until it receives. */
async function consumeWhileProducing(consumerFile: string, producerFile: string, expectLine: RegExp): Promise<string> {
  const consumer = new Background(python, [join(seedsDir, consumerFile)], env());
  try {
    const deadline = Date.now() + 90_000;
    while (!expectLine.test(consumer.stdout) && consumer.running && Date.now() < deadline) {
      await seed(producerFile);
      await sleep(1000);
    }
    const code = await Promise.race([consumer.exited, sleep(30_000).then(() => 'timeout' as const)]);
    expect(consumer.stdout, `consumer stderr:\n${consumer.stderr.slice(-3000)}`).toMatch(expectLine);
    expect(code, `consumer did not exit after its message; stderr:\n${consumer.stderr.slice(-3000)}`).toBe(0);
    return consumer.stdout;
  } finally {
    consumer.kill();
  }
}

describe('seed examples', () => {
  test('003 fire-and-forget, synchronous and asynchronous sends (kafka-python), then kcat reads them', async () => {
    expect(await seed('kafka_python_fire_and_forget.py')).toBe('');
    expect(await seed('kafka_python_sync_send.py')).toMatch(/RecordMetadata\(topic='MyFirstTopic', partition=0, .*offset=1\b/);
    expect(await seed('kafka_python_async_send.py')).toMatch(/^Message sent to MyFirstTopic partition 0 offset 2$/m);
    const records = await kcatConsume(node().bootstrap, 'MyFirstTopic');
    expect(records.map((r) => [r.offset, r.key, r.value?.toString()])).toEqual([0, 1, 2].map((o) => [o, null, 'Test Message']));
  });

  test('002 producer with callbacks (kafka-python) prints the topic from its success callback', async () => {
    expect(await seed('kafka_python_producer_async.py')).toBe('start producing\nmytesttopic\ndone\n');
  });

  test('000 producer (confluent-kafka) sends key/value; kcat reads it', async () => {
    expect(await seed('confluent_producer.py')).toBe('');
    const records = await kcatConsume(node().bootstrap, 'my_topic');
    expect(records.length).toBeGreaterThanOrEqual(1);
    expect([records[0]!.key?.toString(), records[0]!.value?.toString()]).toEqual(['key', 'Hello, Kafka!']);
  });

  test('000 delivery-guarantees conf (group.id, no auto commit, earliest) receives the first message', async () => {
    const out = await seed('confluent_consumer_delivery.py');
    expect(out).toBe('Received message: Hello, Kafka!\n');
  });

  test('000 consumer with group.id (latest) receives a message produced after it joined', async () => {
    await consumeWhileProducing('confluent_consumer.py', 'confluent_producer.py', /^Received message: Hello, Kafka!$/m);
  });

  test('002 consumer with group_id (kafka-python) receives a message produced after it joined', async () => {
    const out = await consumeWhileProducing('kafka_python_consumer.py', 'kafka_python_producer_async.py', /ConsumerRecord\(topic='mytesttopic'.*value=b'Hello this is a test message'/);
    expect(out).toMatch(/^start consuming\n/);
    expect(out).toMatch(/\ndone\n$/);
  });
});
