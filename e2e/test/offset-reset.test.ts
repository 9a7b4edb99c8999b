// auto.offset.reset as Kafka documents it: a group with no committed offset starts at the log start
// (earliest) or the log end (latest); once it has committed, the reset policy no longer applies.
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { uniqueTopic, useNode } from '../support/fixtures.ts';
import { Background, sleep } from '../support/process.ts';
import { python, pythonDir } from '../support/python.ts';
import { WireConnection, createTopic, produce } from '../support/wire.ts';

const node = useNode({ overrides: { 'group.initial.rebalance.delay.ms': '0' } });

async function send(topic: string, keys: string[]): Promise<void> {
  const conn = await WireConnection.openTo(node().bootstrap);
  try {
    const res = await produce(conn, topic, 0, keys.map((k) => ({ key: Buffer.from(k), value: Buffer.from(k), headers: [] })), 1);
    expect(res.errorCode).toBe(0);
  } finally {
    conn.close();
  }
}

async function consume(client: string, topic: string, group: string, reset: string, whileRunning: () => Promise<void>): Promise<string[]> {
  const proc = new Background(python, [join(pythonDir, 'offset_reset.py'), client, node().bootstrap, topic, group, reset, '4'], { ...process.env, PYTHONUNBUFFERED: '1', PYTHONPATH: pythonDir });
  const lines = (): any[] => proc.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
  for (let i = 0; !lines().some((l) => l.ready); i++) {
    if (i > 600 || !proc.running) throw new Error(`consumer never became ready\n${proc.stderr.slice(-3000)}`);
    await sleep(100);
  }
  await whileRunning();
  const code = await proc.exited;
  expect(code, proc.stderr.slice(-3000)).toBe(0);
  return lines().filter((l) => 'k' in l).map((l) => l.k);
}

describe.each(['confluent', 'kafka-python'])('%s auto.offset.reset', (client) => {
  test('latest skips what was there, earliest reads it, and committed offsets win over both', async () => {
    const topic = uniqueTopic(`reset-${client}`);
    const conn = await WireConnection.openTo(node().bootstrap);
    expect((await createTopic(conn, topic, 1)).errorCode).toBe(0);
    conn.close();
    const old = Array.from({ length: 10 }, (_, i) => `old-${i}`);
    await send(topic, old);

    // New records keep arriving while the consumer positions itself; with 'latest' it must read a
    // contiguous tail of them and none of the old ones (when exactly the reset lands is the client's).
    const fresh = Array.from({ length: 10 }, (_, i) => `new-${i}`);
    const latest = await consume(client, topic, uniqueTopic('latest-group'), 'latest', async () => {
      for (const k of fresh) {
        await send(topic, [k]);
        await sleep(150);
      }
    });
    expect(latest.length).toBeGreaterThan(0);
    expect(latest).toEqual(fresh.slice(fresh.length - latest.length));

    const earliestGroup = uniqueTopic('earliest-group');
    const earliest = await consume(client, topic, earliestGroup, 'earliest', async () => {});
    expect(earliest).toEqual([...old, ...fresh]);

    // The group has committed the end: with 'earliest' again it reads only what comes next.
    const more = ['more-0', 'more-1'];
    const resumed = await consume(client, topic, earliestGroup, 'earliest', () => send(topic, more));
    expect(resumed).toEqual(more);
  });
});
