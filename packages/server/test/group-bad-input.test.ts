// Bad input to the group coordinator over a real socket: the right error codes, and the
// coordinator keeps serving the groups that behave.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KafkaConnection } from '@tributary/client';
import { silentLogger } from '@tributary/common';
import { ApiKey, ErrorCode } from '@tributary/protocol';
import { startNode, type RunningNode } from '../src/node.ts';
import { awaitGroupCoordinator } from './coordinator.ts';

let dir: string;
let node: RunningNode;
let conn: KafkaConnection;
const metadata = Buffer.from([0, 0, 0, 0, 0, 1, 0, 1, 0x74, 0xff, 0xff, 0xff, 0xff]);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'trib-group-bad-'));
  node = await startNode({ overrides: { listeners: 'PLAINTEXT://127.0.0.1:0', 'log.dirs': dir, 'offsets.topic.num.partitions': '2', 'group.initial.rebalance.delay.ms': '0' }, logger: silentLogger });
  conn = await KafkaConnection.connect({ host: '127.0.0.1', port: node.port, clientId: 'bad' });
  await awaitGroupCoordinator(conn, 'g');
});

afterAll(async () => {
  await conn?.close();
  await node?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const join5 = (groupId: string, memberId: string, protocolType: string, meta: Buffer = metadata, sessionTimeoutMs = 10_000): Promise<any> =>
  conn.request(ApiKey.JoinGroup, 5, { groupId, sessionTimeoutMs, rebalanceTimeoutMs: 10_000, memberId, groupInstanceId: null, protocolType, protocols: [{ name: 'range', metadata: meta }] });

async function joinStable(groupId: string): Promise<{ memberId: string; generationId: number }> {
  let res = await join5(groupId, '', 'consumer');
  if (res.errorCode === ErrorCode.MEMBER_ID_REQUIRED) res = await join5(groupId, res.memberId, 'consumer');
  expect(res.errorCode).toBe(0);
  const sync: any = await conn.request(ApiKey.SyncGroup, 3, { groupId, generationId: res.generationId, memberId: res.memberId, groupInstanceId: null, assignments: [{ memberId: res.memberId, assignment: Buffer.alloc(0) }] });
  expect(sync.errorCode).toBe(0);
  return { memberId: res.memberId, generationId: res.generationId };
}

describe('group coordinator bad input', () => {
  it('refuses an empty protocol type and a protocol type that differs from the group\'s', async () => {
    expect((await join5('g-empty-type', '', '')).errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    await joinStable('g-typed');
    const other = await join5('g-typed', '', 'connect');
    expect([ErrorCode.INCONSISTENT_GROUP_PROTOCOL, ErrorCode.MEMBER_ID_REQUIRED]).toContain(other.errorCode);
    if (other.errorCode === ErrorCode.MEMBER_ID_REQUIRED) expect((await join5('g-typed', other.memberId, 'connect')).errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
  });

  it('refuses huge member metadata and out-of-range session timeouts', async () => {
    const huge = await join5('g-huge', '', 'consumer', Buffer.alloc(1024 * 1024, 1));
    expect(huge.errorCode).not.toBe(0);
    expect((await join5('g-timeout', '', 'consumer', metadata, 10)).errorCode).toBe(ErrorCode.INVALID_SESSION_TIMEOUT);
  });

  it('answers a wrong generation with ILLEGAL_GENERATION and an unknown member with UNKNOWN_MEMBER_ID', async () => {
    const { memberId, generationId } = await joinStable('g-gen');
    const hb: any = await conn.request(ApiKey.Heartbeat, 3, { groupId: 'g-gen', generationId: generationId + 5, memberId, groupInstanceId: null });
    expect(hb.errorCode).toBe(ErrorCode.ILLEGAL_GENERATION);
    const unknown: any = await conn.request(ApiKey.Heartbeat, 3, { groupId: 'g-gen', generationId, memberId: 'nobody', groupInstanceId: null });
    expect(unknown.errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    const commit: any = await conn.request(ApiKey.OffsetCommit, 8, {
      groupId: 'g-gen', generationIdOrMemberEpoch: generationId + 1, memberId, groupInstanceId: null,
      topics: [{ name: '__consumer_offsets', partitions: [{ partitionIndex: 0, committedOffset: 1, committedLeaderEpoch: -1, committedMetadata: null }] }],
    });
    expect(commit.topics[0].partitions[0].errorCode).toBe(ErrorCode.ILLEGAL_GENERATION);
    // The coordinator still serves the group that behaves.
    const ok: any = await conn.request(ApiKey.Heartbeat, 3, { groupId: 'g-gen', generationId, memberId, groupInstanceId: null });
    expect(ok.errorCode).toBe(0);
  });
});
