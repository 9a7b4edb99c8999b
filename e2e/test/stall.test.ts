// A broker that stood still (SIGSTOP: a paused container or VM, a process starved of CPU) for half a session timeout
// or more does not act on its leaderships until a heartbeat sent after the stall confirms its session: the controller
// may have fenced it and moved them meanwhile, and a zombie leader answering from that stale view once made a
// librdkafka 2.0.2 consumer (which ignores leader epochs) fetch an offset the zombie lacked, get OFFSET_OUT_OF_RANGE and
// rewind to the earliest offset (the container nemesis found it). A request that waited in the socket during the stall
// runs before any timer after SIGCONT, so it is the one that must be refused.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { ErrorCode } from '@tributary/protocol';
import { TributaryNode } from '../support/node.ts';
import { sleep } from '../support/process.ts';
import { createTopic, produce, WireConnection } from '../support/wire.ts';

const SESSION_TIMEOUT_MS = 2000;
let node: TributaryNode;

beforeAll(async () => {
  node = await TributaryNode.start({ overrides: { 'broker.session.timeout.ms': String(SESSION_TIMEOUT_MS), 'broker.heartbeat.interval.ms': '300' } });
});
afterAll(async () => {
  node?.resume();
  await node?.dispose();
});

test('a request that waited through a stall is refused with NOT_LEADER_OR_FOLLOWER; after a heartbeat the broker leads again', async () => {
  const conn = await WireConnection.openTo(node.bootstrap);
  try {
    expect((await createTopic(conn, 'stall', 1)).errorCode).toBe(0);
    const record = { key: Buffer.from('k'), value: Buffer.from('v'), headers: [] };
    let before = await produce(conn, 'stall', 0, [record], -1);
    for (let i = 0; i < 50 && before.errorCode !== 0; i++) {
      await sleep(100);
      before = await produce(conn, 'stall', 0, [record], -1);
    }
    expect(before.errorCode, 'a produce before the stall').toBe(0);
    node.pause();
    await sleep(SESSION_TIMEOUT_MS + 500);
    const waiting = produce(conn, 'stall', 0, [record], -1); // sits in the socket while the node stands still
    await sleep(200);
    node.resume();
    expect((await waiting).errorCode, 'the request that waited through the stall').toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    let after = { errorCode: -1, baseOffset: -1 };
    for (let i = 0; i < 100 && after.errorCode !== 0; i++) {
      after = await produce(conn, 'stall', 0, [record], -1);
      if (after.errorCode !== 0) await sleep(100);
    }
    expect(after.errorCode, 'a produce once a heartbeat confirmed the session').toBe(0);
    expect(after.baseOffset).toBe(before.baseOffset + 1);
    expect(node.logs.some((l) => l.includes('this broker stood still'))).toBe(true);
    expect(node.logs.some((l) => l.includes('session confirmed after a stall'))).toBe(true);
  } finally {
    conn.close();
  }
});
