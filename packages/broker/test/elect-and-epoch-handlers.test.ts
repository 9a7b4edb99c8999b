// The ElectLeaders and OffsetForLeaderEpoch handlers against a stand-in broker: what they forward, how
// answers and failures map per version, and the epoch checks and high-watermark cap.
import { ControllerError } from '@tributary/controller';
import type { ElectLeadersRequest, ElectLeadersResponse } from '@tributary/metadata';
import { ErrorCode } from '@tributary/protocol';
import { describe, expect, it } from 'vitest';
import type { Broker, RequestContext } from '../src/broker.ts';
import { handleElectLeaders } from '../src/handlers/elect-leaders.ts';
import { handleOffsetForLeaderEpoch } from '../src/handlers/offset-for-leader-epoch.ts';

const ctx = (apiKey: number, apiVersion: number): RequestContext => ({
  header: { apiKey, apiVersion, correlationId: 1, clientId: 'test' },
  clientHost: '127.0.0.1',
  signal: new AbortController().signal,
});

interface Stub {
  broker: Broker;
  calls: { request: ElectLeadersRequest; timeoutMs: number | undefined }[];
  waits: number[];
}

/** A broker whose controller answers `answer` (or throws it) and whose metadata shows `leaders` per partition of topic t. */
function electStub(answer: ElectLeadersResponse | Error, leaders: { leader: number; replicas: number[] }[]): Stub {
  const calls: Stub['calls'] = [];
  const waits: number[] = [];
  const image = { topic: (name: string) => (name === 't' ? { partitions: leaders } : undefined) };
  const broker = {
    controller: {
      electLeaders: async (request: ElectLeadersRequest, options?: { timeoutMs?: number }) => {
        calls.push({ request, timeoutMs: options?.timeoutMs });
        if (answer instanceof Error) throw answer;
        return answer;
      },
    },
    metadata: {
      waitFor: async (check: (i: unknown) => boolean, timeoutMs: number) => {
        waits.push(timeoutMs);
        return check(image);
      },
    },
  } as unknown as Broker;
  return { broker, calls, waits };
}

const ok = (partitionId: number) => ({ partitionId, errorCode: 0, errorMessage: null });

describe('ElectLeaders handler', () => {
  it('v0 always asks for a preferred election; topics named twice are merged', async () => {
    const s = electStub({ errorCode: 0, replicaElectionResults: [{ topic: 't', partitionResult: [ok(0), ok(1)] }] }, [
      { leader: 1, replicas: [1, 2] },
      { leader: 2, replicas: [2, 1] },
    ]);
    const body = { topicPartitions: [{ topic: 't', partitions: [0, 1] }, { topic: 't', partitions: [1] }], timeoutMs: 1000 };
    const res = (await handleElectLeaders(s.broker, ctx(43, 0), body)) as any;
    expect(s.calls).toEqual([{ request: { electionType: 0, topicPartitions: [{ topic: 't', partitions: [0, 1] }] }, timeoutMs: 1000 }]);
    expect(res).toEqual({ throttleTimeMs: 0, replicaElectionResults: [{ topic: 't', partitionResult: [ok(0), ok(1)] }] });
    expect(s.waits).toEqual([1000]); // new leaders awaited locally, bounded by the request's timeout
  });

  it('v2 unclean with null partitions passes null through; per-partition errors come back as the controller gave them', async () => {
    const results = [
      { topic: 't', partitionResult: [{ partitionId: 0, errorCode: ErrorCode.ELIGIBLE_LEADERS_NOT_AVAILABLE, errorMessage: 'no replica is available' }] },
      { topic: 'u', partitionResult: [{ partitionId: 3, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: 'No such topic as u' }] },
    ];
    const s = electStub({ errorCode: 0, replicaElectionResults: results }, []);
    const res = (await handleElectLeaders(s.broker, ctx(43, 2), { electionType: 1, topicPartitions: null, timeoutMs: 0 })) as any;
    expect(s.calls[0]).toEqual({ request: { electionType: 1, topicPartitions: null }, timeoutMs: 60_000 });
    expect(res).toEqual({ throttleTimeMs: 0, errorCode: 0, replicaElectionResults: results });
    expect(s.waits).toEqual([]); // nothing elected, nothing to wait for
  });

  it('a failed controller call puts its code on every requested partition, and at the top from v1', async () => {
    for (const [err, code] of [
      [new ControllerError('not-controller', 'controller 2 is not active'), ErrorCode.NOT_CONTROLLER],
      [new ControllerError('timeout', 'electLeaders was not committed within 1000 ms'), ErrorCode.REQUEST_TIMED_OUT],
    ] as const) {
      const s = electStub(err, []);
      const body = { electionType: 0, topicPartitions: [{ topic: 't', partitions: [0, 2] }], timeoutMs: 1000 };
      const v1 = (await handleElectLeaders(s.broker, ctx(43, 1), body)) as any;
      expect(v1.errorCode).toBe(code);
      expect(v1.replicaElectionResults).toEqual([{ topic: 't', partitionResult: [0, 2].map((p) => ({ partitionId: p, errorCode: code, errorMessage: expect.stringContaining(err.message) })) }]);
      const v0 = (await handleElectLeaders(s.broker, ctx(43, 0), body)) as any;
      expect(v0.errorCode).toBeUndefined();
      expect(v0.replicaElectionResults[0].partitionResult.map((p: any) => p.errorCode)).toEqual([code, code]);
    }
  });

  it('a refusal of the whole request (an unknown election type) is the top-level error', async () => {
    const s = electStub({ errorCode: ErrorCode.INVALID_REQUEST, replicaElectionResults: [] }, []);
    const res = (await handleElectLeaders(s.broker, ctx(43, 1), { electionType: 7, topicPartitions: [{ topic: 't', partitions: [0] }], timeoutMs: 100 })) as any;
    expect(res.errorCode).toBe(ErrorCode.INVALID_REQUEST);
    expect(res.replicaElectionResults[0].partitionResult[0].errorCode).toBe(ErrorCode.INVALID_REQUEST);
  });
});

/** A broker leading t-0 (epoch 5, high watermark 40, log end 50) and following t-1. */
function epochStub(): Broker {
  const log = {
    endOffsetForEpoch: (epoch: number) => (epoch === 5 ? { epoch: 5, endOffset: 50 } : epoch === 3 ? { epoch: 3, endOffset: 20 } : epoch > 5 ? { epoch: -1, endOffset: -1 } : { epoch: 3, endOffset: 20 }),
  };
  const leader = { leaderEpoch: 5, highWatermark: 40, log };
  return {
    replicas: { leaderPartition: (topic: string, index: number) => (topic === 't' && index === 0 ? leader : undefined) },
    metadata: { image: { topic: (name: string) => (name === 't' ? { partitions: [{}, {}] } : undefined) } },
    logger: { error: () => {} },
  } as unknown as Broker;
}

async function ask(version: number, replicaId: number, partition: number, currentLeaderEpoch: number, leaderEpoch: number, topic = 't'): Promise<any> {
  const res = (await handleOffsetForLeaderEpoch(epochStub(), ctx(23, version), { replicaId, topics: [{ topic, partitions: [{ partition, currentLeaderEpoch, leaderEpoch }] }] })) as any;
  return res.topics[0].partitions[0];
}

describe('OffsetForLeaderEpoch handler', () => {
  it("a consumer's answer for the latest epoch is capped at the high watermark; a follower's is not", async () => {
    expect(await ask(4, -1, 0, 5, 5)).toEqual({ errorCode: 0, partition: 0, leaderEpoch: 5, endOffset: 40 });
    expect(await ask(4, 2, 0, 5, 5)).toEqual({ errorCode: 0, partition: 0, leaderEpoch: 5, endOffset: 50 });
  });

  it('an older epoch ends where the next began; an epoch above the latest is undefined (-1, -1)', async () => {
    expect(await ask(4, -1, 0, -1, 4)).toEqual({ errorCode: 0, partition: 0, leaderEpoch: 3, endOffset: 20 });
    expect(await ask(4, -1, 0, -1, 9)).toEqual({ errorCode: 0, partition: 0, leaderEpoch: -1, endOffset: -1 });
  });

  it('current leader epoch: lower is FENCED_LEADER_EPOCH, higher UNKNOWN_LEADER_EPOCH, -1 is not checked', async () => {
    expect((await ask(3, -1, 0, 4, 5)).errorCode).toBe(ErrorCode.FENCED_LEADER_EPOCH);
    expect((await ask(3, -1, 0, 6, 5)).errorCode).toBe(ErrorCode.UNKNOWN_LEADER_EPOCH);
    expect((await ask(3, -1, 0, -1, 5)).errorCode).toBe(0);
  });

  it('a partition led elsewhere is NOT_LEADER_OR_FOLLOWER; an unknown one UNKNOWN_TOPIC_OR_PARTITION', async () => {
    expect(await ask(2, -1, 1, -1, 5)).toEqual({ errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER, partition: 1, leaderEpoch: -1, endOffset: -1 });
    expect((await ask(2, -1, 2, -1, 5)).errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    expect((await ask(2, -1, 0, -1, 5, 'other')).errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  });
});
