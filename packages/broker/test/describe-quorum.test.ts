import type { DescribeQuorumResponse } from '@tributary/controller';
import { ApiKey, decodeResponse, encodeResponse, ErrorCode, ZERO_UUID } from '@tributary/protocol';
import { describe, expect, it } from 'vitest';
import { asksForMetadataPartition, describeQuorumError, describeQuorumResponse } from '../src/handlers/describe-quorum.ts';

const NOW_MS = 1_700_000_000_000;

// Leader 1 at 120; voter 2 caught up, fetched 40 ms ago; voter 3 behind by 20, fetched 900 ms ago;
// observer 4 (a broker) caught up 10 ms ago; observer 5 never fetched this epoch.
// Typed as the controller's answer: the builder must accept it as it is.
const quorum: DescribeQuorumResponse = {
  leaderId: 1,
  leaderEpoch: 6,
  highWatermark: 120,
  voters: [
    { replicaId: 1, logEndOffset: 121, lastFetchMsAgo: 0 },
    { replicaId: 2, logEndOffset: 120, lastFetchMsAgo: 40 },
    { replicaId: 3, logEndOffset: 100, lastFetchMsAgo: 900 },
  ],
  observers: [
    { replicaId: 4, logEndOffset: 120, lastFetchMsAgo: 10 },
    { replicaId: 5, logEndOffset: -1, lastFetchMsAgo: -1 },
  ],
};

const opts = { topicName: '__cluster_metadata', partitionIndex: 0, nowMs: NOW_MS } as const;

/** Through the real codec, as a client would read it. */
function roundTrip(version: number, body: object): any {
  const frame = Buffer.concat(encodeResponse(ApiKey.DescribeQuorum, version, 77, body)).subarray(4);
  return decodeResponse(ApiKey.DescribeQuorum, version, frame).body;
}

describe('describeQuorumResponse', () => {
  it('v0 carries ids, log end offsets, leader, epoch and high watermark only', () => {
    const body = describeQuorumResponse(0, quorum, opts) as any;
    expect(body).toEqual({
      errorCode: 0,
      topics: [
        {
          topicName: '__cluster_metadata',
          partitions: [
            {
              partitionIndex: 0,
              errorCode: 0,
              leaderId: 1,
              leaderEpoch: 6,
              highWatermark: 120,
              currentVoters: [
                { replicaId: 1, logEndOffset: 121 },
                { replicaId: 2, logEndOffset: 120 },
                { replicaId: 3, logEndOffset: 100 },
              ],
              observers: [
                { replicaId: 4, logEndOffset: 120 },
                { replicaId: 5, logEndOffset: -1 },
              ],
            },
          ],
        },
      ],
    });
    const decoded = roundTrip(0, body);
    expect(decoded.topics[0].partitions[0].currentVoters.map((v: any) => v.lastFetchTimestamp)).toEqual([-1, -1, -1]);
  });

  it('v1 turns "ms ago" into wall-clock timestamps; caught up only when the log end reached the high watermark', () => {
    const p = roundTrip(1, describeQuorumResponse(1, quorum, opts)).topics[0].partitions[0];
    expect(p.currentVoters.map((v: any) => [v.replicaId, v.lastFetchTimestamp, v.lastCaughtUpTimestamp])).toEqual([
      [1, NOW_MS, NOW_MS],
      [2, NOW_MS - 40, NOW_MS - 40],
      [3, NOW_MS - 900, -1],
    ]);
    expect(p.observers.map((v: any) => [v.replicaId, v.logEndOffset, v.lastFetchTimestamp, v.lastCaughtUpTimestamp])).toEqual([
      [4, 120, NOW_MS - 10, NOW_MS - 10],
      [5, -1, -1, -1],
    ]);
  });

  it('v2 adds the error message, directory ids and the controllers\' endpoints', () => {
    const nodes = [
      { nodeId: 1, listeners: [{ name: 'CONTROLLER', host: '127.0.0.1', port: 19093 }] },
      { nodeId: 2, listeners: [{ name: 'CONTROLLER', host: '127.0.0.1', port: 19094 }] },
    ];
    const decoded = roundTrip(2, describeQuorumResponse(2, quorum, { ...opts, nodes }));
    expect(decoded.errorMessage).toBeNull();
    expect(decoded.nodes).toEqual(nodes);
    const p = decoded.topics[0].partitions[0];
    expect(p.errorMessage).toBeNull();
    expect(p.currentVoters[0]).toEqual({ replicaId: 1, replicaDirectoryId: ZERO_UUID, logEndOffset: 121, lastFetchTimestamp: NOW_MS, lastCaughtUpTimestamp: NOW_MS });
    expect(roundTrip(2, describeQuorumResponse(2, quorum, opts)).nodes).toEqual([]);
  });

  it('an empty observer list stays empty and an unknown leader stays -1', () => {
    const p = roundTrip(1, describeQuorumResponse(1, { ...quorum, leaderId: -1, observers: [] }, opts)).topics[0].partitions[0];
    expect(p.leaderId).toBe(-1);
    expect(p.observers).toEqual([]);
  });

  it('refuses versions it cannot build', () => {
    expect(() => describeQuorumResponse(3, quorum, opts)).toThrow(/version 3/);
    expect(() => describeQuorumResponse(-1, quorum, opts)).toThrow(RangeError);
  });
});

describe('describeQuorumError', () => {
  it('is a top-level error without topics; the message travels from v2 on', () => {
    expect(roundTrip(0, describeQuorumError(0, ErrorCode.NOT_LEADER_OR_FOLLOWER, 'no active controller'))).toEqual({
      errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER,
      errorMessage: null,
      topics: [],
      nodes: [],
    });
    expect(roundTrip(2, describeQuorumError(2, ErrorCode.REQUEST_TIMED_OUT, 'controller did not answer in 5000 ms'))).toEqual({
      errorCode: ErrorCode.REQUEST_TIMED_OUT,
      errorMessage: 'controller did not answer in 5000 ms',
      topics: [],
      nodes: [],
    });
  });

  it('refuses error code 0', () => {
    expect(() => describeQuorumError(1, ErrorCode.NONE, null)).toThrow(/non-zero/);
  });
});

describe('asksForMetadataPartition', () => {
  const ask = (topicName: string, partitions: number[]) => ({ topics: [{ topicName, partitions: partitions.map((partitionIndex) => ({ partitionIndex })) }] });
  it('accepts exactly __cluster_metadata-0', () => {
    expect(asksForMetadataPartition(ask('__cluster_metadata', [0]))).toBe(true);
  });
  it('refuses another topic, another partition, several partitions or none', () => {
    expect(asksForMetadataPartition(ask('orders', [0]))).toBe(false);
    expect(asksForMetadataPartition(ask('__cluster_metadata', [1]))).toBe(false);
    expect(asksForMetadataPartition(ask('__cluster_metadata', [0, 0]))).toBe(false);
    expect(asksForMetadataPartition({ topics: [] })).toBe(false);
  });
});
