// A kafkajs 2.2.4 consumer-group member in its own process, the JS twin of python/group_worker.py:
//   node kafkajs-group-worker.ts BOOTSTRAP TOPIC GROUP SESSION_TIMEOUT_MS
// Manual commits after each processed batch; JSON lines {"assigned"}, {"p","o","k"}, {"committed"}.
import kafkajs from 'kafkajs';

const [bootstrap, topic, groupId, sessionMs] = process.argv.slice(2) as [string, string, string, string];
const { Kafka, logLevel } = kafkajs;
const emit = (obj: object): void => {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
};
const kafka = new Kafka({ clientId: 'trib-e2e-worker', brokers: [bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 10 } });
const session = Number(sessionMs);
const consumer = kafka.consumer({ groupId, sessionTimeout: session, heartbeatInterval: Math.max(100, Math.floor(session / 10)), rebalanceTimeout: session });
consumer.on(consumer.events.GROUP_JOIN, (event) => emit({ assigned: [...(event.payload.memberAssignment[topic] ?? [])].sort((a, b) => a - b) }));
await consumer.connect();
await consumer.subscribe({ topic, fromBeginning: true });
await consumer.run({
  autoCommit: false,
  eachBatch: async ({ batch, heartbeat, isRunning, isStale }) => {
    let last: string | null = null;
    for (const message of batch.messages) {
      if (!isRunning() || isStale()) break;
      emit({ p: batch.partition, o: Number(message.offset), k: message.key!.toString() });
      last = message.offset;
    }
    if (last !== null) {
      await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: String(Number(last) + 1) }]);
      emit({ committed: batch.messages.length });
    }
    await heartbeat();
  },
});
process.once('SIGTERM', () => {
  consumer.disconnect().then(() => process.exit(0), () => process.exit(1));
});
