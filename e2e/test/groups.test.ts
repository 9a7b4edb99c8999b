// Consumer groups with committed offsets (confluent-kafka-python and kafka-python): a group resumes where
// its last member committed, across members and across a node restart (graceful and kill -9).
import { describe, expect, test } from 'vitest';
import { uniqueTopic, useNode } from '../support/fixtures.ts';
import { runPython } from '../support/python.ts';
import { WireConnection, createTopic, produce } from '../support/wire.ts';

const node = useNode();
const partitions = 3;
const perPartition = 40;

interface Got { p: number; o: number; k: string }

async function readGroup(client: string, topic: string, group: string, max: number, idleS = 5): Promise<Got[]> {
  const { lines } = await runPython('group_client.py', [client, node().bootstrap, topic, group, String(max), String(idleS)], 150_000);
  return lines.filter((l): l is Got => typeof l === 'object' && l !== null && 'p' in l);
}

async function produceKeys(topic: string, from: number, count: number): Promise<string[]> {
  const conn = await WireConnection.openTo(node().bootstrap);
  const keys: string[] = [];
  try {
    for (let p = 0; p < partitions; p++) {
      const batch = Array.from({ length: count }, (_, i) => {
        const key = `p${p}-${from + i}`;
        keys.push(key);
        return { key: Buffer.from(key), value: Buffer.from(`v-${key}`), headers: [] };
      });
      expect((await produce(conn, topic, p, batch)).errorCode).toBe(0);
    }
  } finally {
    conn.close();
  }
  return keys;
}

const sortKeys = (keys: string[]) => [...keys].sort();

for (const client of ['confluent', 'kafka-python'] as const) {
  describe(`consumer group with manual commits (${client})`, () => {
    test('a second member resumes at the committed offsets; a restarted node keeps them', async () => {
      const topic = uniqueTopic(`group-${client}`);
      const group = uniqueTopic(`g-${client}`);
      const setup = await WireConnection.openTo(node().bootstrap);
      expect((await createTopic(setup, topic, partitions)).errorCode).toBe(0);
      setup.close();
      const all = await produceKeys(topic, 0, perPartition);

      // First member reads part of the topic and commits.
      const first = await readGroup(client, topic, group, 50);
      expect(first.length).toBe(50);
      // Per partition, offsets are dense from 0 and in order.
      for (let p = 0; p < partitions; p++) {
        const offsets = first.filter((r) => r.p === p).map((r) => r.o);
        expect(offsets).toEqual(offsets.map((_, i) => i));
      }

      // Second member gets exactly the rest.
      const second = await readGroup(client, topic, group, 1000);
      expect(sortKeys([...first, ...second].map((r) => r.k))).toEqual(sortKeys(all));
      expect(second.length).toBe(all.length - 50);

      // Committed offsets survive a graceful restart and a kill -9: nothing is redelivered, new records are.
      await node().stop();
      await node().restart();
      const more = await produceKeys(topic, perPartition, 5);
      await node().kill('SIGKILL');
      await node().restart();
      const third = await readGroup(client, topic, group, 1000);
      expect(sortKeys(third.map((r) => r.k))).toEqual(sortKeys(more));
    });
  });
}
