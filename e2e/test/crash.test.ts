// kill -9 while producing with acks=1, restart on the same data dir: every acknowledged record is
// readable, in order, at the offset it was acknowledged with, and offsets are dense.
import { afterAll, expect, test } from 'vitest';
import { uniqueTopic } from '../support/fixtures.ts';
import { TributaryNode } from '../support/node.ts';
import { sleep } from '../support/process.ts';
import { WireConnection, createTopic, fetchAll, produce, type WireRecord } from '../support/wire.ts';

const rounds = 3;
const recordsPerRequest = 20;
let node: TributaryNode | null = null;

afterAll(async () => {
  await node?.dispose();
});

interface Sent { value: string; ackedOffset: number | null }

function record(round: number, seq: number): WireRecord {
  const value = `round-${round}-seq-${seq}-`.padEnd(200, String.fromCharCode(97 + (seq % 26)));
  return { key: Buffer.from(`k-${round}-${seq}`), value: Buffer.from(value), headers: [['round', Buffer.from(String(round))]] };
}

test(`acked records survive ${rounds} SIGKILLs during acks=1 produce`, async (context) => {
  node = await TributaryNode.start();
  context.onTestFailed(() => node?.printLogs('crash test failed', 400));
  const topic = uniqueTopic('crash');
  const setup = await WireConnection.openTo(node.bootstrap);
  expect((await createTopic(setup, topic)).errorCode).toBe(0);
  setup.close();

  const sent: Sent[] = [];
  for (let round = 0; round < rounds; round++) {
    const killAfterMs = 300 + Math.floor(Math.random() * 1700);
    const conn = await WireConnection.openTo(node.bootstrap);
    let stop = false;
    let seq = 0;
    const loop = (async () => {
      for (let request = 0; request < 1_000_000 && !stop; request++) {
        const batch = Array.from({ length: recordsPerRequest }, (_, i) => record(round, seq + i));
        const entries: Sent[] = batch.map((r) => ({ value: r.value!.toString(), ackedOffset: null }));
        sent.push(...entries);
        seq += recordsPerRequest;
        let result: { errorCode: number; baseOffset: number };
        try {
          result = await produce(conn, topic, 0, batch, 1);
        } catch {
          return; // connection died with the node
        }
        expect(result.errorCode, `produce error in round ${round}`).toBe(0);
        entries.forEach((e, i) => { e.ackedOffset = result.baseOffset + i; });
      }
    })();
    await sleep(killAfterMs);
    stop = true;
    await node.kill('SIGKILL');
    await loop;
    conn.destroy();
    const acked = sent.filter((s) => s.ackedOffset !== null).length;
    process.stderr.write(`crash round ${round}: killed after ${killAfterMs} ms, ${acked} acked of ${sent.length} sent so far\n`);
    await node.restart();

    const reader = await WireConnection.openTo(node.bootstrap);
    const { highWatermark, records } = await fetchAll(reader, topic);
    reader.close();
    // Dense offsets from 0 up to the high watermark.
    expect(records.length).toBe(highWatermark);
    records.forEach((r, i) => { if (r.offset !== i) expect(r.offset, `offset at index ${i}`).toBe(i); });
    // Every acknowledged record is at its acknowledged offset.
    for (const s of sent) {
      if (s.ackedOffset === null) continue;
      const got = records[s.ackedOffset]?.value?.toString();
      if (got !== s.value) expect(got, `acked record at offset ${s.ackedOffset}`).toBe(s.value);
    }
    // Nothing invented, nothing reordered: the log is a subsequence of what was sent, in send order.
    const sendIndex = new Map(sent.map((s, i) => [s.value, i]));
    let last = -1;
    for (const r of records) {
      const index = sendIndex.get(r.value!.toString());
      expect(index, `record at ${r.offset} was never sent`).toBeDefined();
      expect(index!, `record at ${r.offset} out of order`).toBeGreaterThan(last);
      last = index!;
    }
    // Unacknowledged records that did not make it are dropped from `sent`'s expectations for the next round;
    // the ones that did are now part of the log at their offsets.
    const present = new Set(records.map((r) => r.value!.toString()));
    for (let i = sent.length - 1; i >= 0; i--) {
      const s = sent[i]!;
      if (s.ackedOffset === null) {
        if (present.has(s.value)) s.ackedOffset = records.findIndex((r) => r.value!.toString() === s.value);
        else sent.splice(i, 1);
      }
    }
  }
  expect(sent.length).toBeGreaterThan(0);
});
