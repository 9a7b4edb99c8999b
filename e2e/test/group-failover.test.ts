// Three members of one group on a 6-partition topic share the partitions; SIGKILL one while records
// keep arriving, and the two survivors take over its partitions within the session timeout. With
// manual commits after processing, every produced record is consumed (duplicates allowed, nothing
// skipped). Then a member restarted under the same group id resumes from the committed offsets.
// Run for confluent-kafka-python (librdkafka), kafka-python 2.0.2 (old JoinGroup versions) and kafkajs.
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { uniqueTopic, useNode } from '../support/fixtures.ts';
import { Background, sleep } from '../support/process.ts';
import { python, pythonDir } from '../support/python.ts';
import { WireConnection, createTopic, produce } from '../support/wire.ts';

const node = useNode({ overrides: { 'group.initial.rebalance.delay.ms': '0', 'num.partitions': '6' } });
const partitions = 6;
const sessionMs = 6000;
const workers: Background[] = [];
afterAll(() => {
  for (const w of workers) w.kill();
});

type Client = 'confluent' | 'kafka-python' | 'kafkajs';

interface Member { proc: Background; assigned: () => number[]; records: () => Array<{ p: number; o: number; k: string }>; assignedAt: () => number[] }

function startMember(client: Client, topic: string, group: string): Member {
  const proc = client === 'kafkajs'
    ? new Background(process.execPath, [join(import.meta.dirname, '../support/kafkajs-group-worker.ts'), node().bootstrap, topic, group, String(sessionMs)])
    : new Background(python, [join(pythonDir, 'group_worker.py'), client, node().bootstrap, topic, group, String(sessionMs)], { ...process.env, PYTHONUNBUFFERED: '1', PYTHONPATH: pythonDir });
  workers.push(proc);
  const lines = (): any[] => proc.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
  const assignedLines = (): any[] => lines().filter((l) => 'assigned' in l);
  return {
    proc,
    assigned: () => assignedLines().at(-1)?.assigned ?? [],
    assignedAt: () => assignedLines().map((l) => l.t ?? 0),
    records: () => lines().filter((l) => 'k' in l),
  };
}

async function waitFor(condition: () => boolean, what: string, members: Member[], timeoutMs = 90_000): Promise<number> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > timeoutMs) {
      for (const m of members) console.log(`member stderr:\n${m.proc.stderr.slice(-3000)}\nstdout tail:\n${m.proc.stdout.slice(-1500)}`);
      throw new Error(`timed out waiting for ${what}`);
    }
    await sleep(100);
  }
  return Date.now() - start;
}

async function produceKeys(topic: string, prefix: string, count: number): Promise<string[]> {
  const conn = await WireConnection.openTo(node().bootstrap);
  const keys: string[] = [];
  try {
    for (let p = 0; p < partitions; p++) {
      const mine = Array.from({ length: count / partitions }, (_, i) => `${prefix}-${p}-${i}`);
      keys.push(...mine);
      const res = await produce(conn, topic, p, mine.map((k) => ({ key: Buffer.from(k), value: Buffer.from(k), headers: [] })), 1);
      if (res.errorCode !== 0) throw new Error(`produce failed: ${res.errorCode}`);
    }
  } finally {
    conn.close();
  }
  return keys;
}

describe.each<Client>(['confluent', 'kafka-python', 'kafkajs'])('%s: group failover', (client) => {
  test('three members share 6 partitions, survive a kill -9 without skipping, and a restart resumes from commits', async () => {
    const topic = uniqueTopic(`failover-${client}`);
    const group = uniqueTopic(`failover-group-${client}`);
    const conn = await WireConnection.openTo(node().bootstrap);
    expect((await createTopic(conn, topic, partitions)).errorCode).toBe(0);
    conn.close();

    const members = [startMember(client, topic, group), startMember(client, topic, group), startMember(client, topic, group)];
    await waitFor(() => members.every((m) => m.assigned().length === 2) && new Set(members.flatMap((m) => m.assigned())).size === partitions, 'each member to own 2 partitions', members);

    const first = await produceKeys(topic, 'first', 1200);
    const consumedKeys = (): Set<string> => new Set(members.flatMap((m) => m.records().map((r) => r.k)));
    await waitFor(() => first.every((k) => consumedKeys().has(k)), 'the first records', members);
    const victim = members[2]!;
    const victimPartitions = victim.assigned();

    // Crash one member while more records arrive.
    const producing = produceKeys(topic, 'second', 1200);
    victim.proc.kill();
    const killedAt = Date.now();
    const survivors = members.slice(0, 2);
    const takeoverMs = await waitFor(() => new Set(survivors.flatMap((m) => m.assigned())).size === partitions, 'the survivors to own every partition', survivors);
    const second = await producing;
    await waitFor(() => second.every((k) => consumedKeys().has(k)), 'every second-round record', survivors);
    console.log(`${client}: survivors took over partitions ${victimPartitions} ${takeoverMs} ms after the kill (session timeout ${sessionMs} ms); ${Date.now() - killedAt} ms until every record was consumed`);
    expect(takeoverMs).toBeLessThan(sessionMs + 15_000);
    for (const k of [...first, ...second]) expect(consumedKeys().has(k)).toBe(true);

    // Stop the survivors gracefully (they leave the group after committing), then restart one member.
    for (const m of survivors) m.proc.child.kill('SIGTERM');
    await Promise.all(survivors.map((m) => m.proc.exited));
    const third = await produceKeys(topic, 'third', 60);
    const restarted = startMember(client, topic, group);
    await waitFor(() => third.every((k) => restarted.records().some((r) => r.k === k)), 'the restarted member to read the new records', [restarted]);
    await sleep(1000);
    // It resumes from the committed offsets: nothing committed before is read again.
    const reread = restarted.records().filter((r) => !r.k.startsWith('third-'));
    expect(reread).toEqual([]);
    restarted.proc.child.kill('SIGTERM');
    await restarted.proc.exited;
  });
});
