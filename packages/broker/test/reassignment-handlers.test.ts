// The AlterPartitionReassignments and ListPartitionReassignments handlers against a stand-in broker: what they
// forward, the local wait for accepted changes, and how controller failures map onto every partition.
import { ControllerError } from '@tributary/controller';
import type { AlterPartitionReassignmentsRequest, AlterPartitionReassignmentsResponse, ListPartitionReassignmentsRequest, PartitionImage } from '@tributary/metadata';
import { ErrorCode } from '@tributary/protocol';
import { describe, expect, it } from 'vitest';
import type { Broker, RequestContext } from '../src/broker.ts';
import { handleAlterPartitionReassignments } from '../src/handlers/alter-partition-reassignments.ts';
import { handleListPartitionReassignments } from '../src/handlers/list-partition-reassignments.ts';

const ctx = (apiKey: number): RequestContext => ({
  header: { apiKey, apiVersion: 0, correlationId: 1, clientId: 'test' },
  clientHost: '127.0.0.1',
  signal: new AbortController().signal,
});

const partition = (replicas: number[], addingReplicas: number[] = [], removingReplicas: number[] = []): PartitionImage =>
  ({ topicId: 'id', partitionId: 0, replicas, isr: replicas, leader: replicas[0]!, leaderEpoch: 0, partitionEpoch: 0, addingReplicas, removingReplicas }) as PartitionImage;

function stub(answer: AlterPartitionReassignmentsResponse | Error, partitions: PartitionImage[]) {
  const calls: { request: unknown; timeoutMs: number | undefined }[] = [];
  const waits: { timeoutMs: number; shown: boolean }[] = [];
  const image = { topic: (name: string) => (name === 't' ? { partitions } : undefined) };
  const broker = {
    controller: {
      alterPartitionReassignments: async (request: AlterPartitionReassignmentsRequest, options?: { timeoutMs?: number }) => {
        calls.push({ request, timeoutMs: options?.timeoutMs });
        if (answer instanceof Error) throw answer;
        return answer;
      },
      listPartitionReassignments: async (request: ListPartitionReassignmentsRequest, options?: { timeoutMs?: number }) => {
        calls.push({ request, timeoutMs: options?.timeoutMs });
        if (answer instanceof Error) throw answer;
        return { errorCode: 0, errorMessage: null, topics: [{ name: 't', partitions: [{ partitionIndex: 0, replicas: [2, 1], addingReplicas: [2], removingReplicas: [1] }] }] };
      },
    },
    metadata: {
      waitFor: async (check: (i: unknown) => boolean, timeoutMs: number) => {
        const shown = check(image);
        waits.push({ timeoutMs, shown });
        return shown;
      },
    },
  } as unknown as Broker;
  return { broker, calls, waits };
}

describe('AlterPartitionReassignments handler', () => {
  it('forwards targets and cancels (absent replicas = null), answers as the controller did, and waits for the accepted ones locally', async () => {
    const answer = {
      errorCode: 0,
      errorMessage: null,
      responses: [{ name: 't', partitions: [{ partitionIndex: 0, errorCode: 0, errorMessage: null }, { partitionIndex: 1, errorCode: ErrorCode.NO_REASSIGNMENT_IN_PROGRESS, errorMessage: 'none' }] }],
    };
    // The local image already shows t-0 moving to [2, 3].
    const s = stub(answer, [partition([2, 3, 1], [3], [1]), partition([1])]);
    const res = await handleAlterPartitionReassignments(s.broker, ctx(45), {
      timeoutMs: 2000,
      topics: [{ name: 't', partitions: [{ partitionIndex: 0, replicas: [2, 3] }, { partitionIndex: 1 }] }],
    });
    expect(s.calls).toEqual([{ request: { topics: [{ name: 't', partitions: [{ partitionIndex: 0, replicas: [2, 3] }, { partitionIndex: 1, replicas: null }] }] }, timeoutMs: 2000 }]);
    expect(res).toEqual({ throttleTimeMs: 0, ...answer });
    expect(s.waits).toEqual([{ timeoutMs: 2000, shown: true }]);
  });

  it('a cancel is shown once the local partition no longer reassigns; a lagging image is waited for, bounded', async () => {
    const answer = { errorCode: 0, errorMessage: null, responses: [{ name: 't', partitions: [{ partitionIndex: 0, errorCode: 0, errorMessage: null }] }] };
    const lagging = stub(answer, [partition([2, 1], [2], [1])]);
    await handleAlterPartitionReassignments(lagging.broker, ctx(45), { timeoutMs: 0, topics: [{ name: 't', partitions: [{ partitionIndex: 0, replicas: null }] }] });
    expect(lagging.calls[0]!.timeoutMs).toBe(60_000);
    expect(lagging.waits).toEqual([{ timeoutMs: 5000, shown: false }]);
  });

  it('a controller failure lands on the top level and on every partition', async () => {
    const s = stub(new ControllerError('not-controller', 'node 2 is not the active controller'), []);
    const res = (await handleAlterPartitionReassignments(s.broker, ctx(45), { timeoutMs: 1000, topics: [{ name: 't', partitions: [{ partitionIndex: 0, replicas: [1] }, { partitionIndex: 1, replicas: null }] }] })) as any;
    expect(res.errorCode).toBe(ErrorCode.NOT_CONTROLLER);
    expect(res.errorMessage).toMatch(/the controller did not change the reassignments: .*not the active controller/);
    expect(res.responses[0].partitions.map((p: any) => p.errorCode)).toEqual([ErrorCode.NOT_CONTROLLER, ErrorCode.NOT_CONTROLLER]);
    expect(s.waits).toEqual([]);
  });
});

describe('ListPartitionReassignments handler', () => {
  it('forwards null and named topics and passes the answer through; failures are top-level', async () => {
    const s = stub({ errorCode: 0, errorMessage: null, responses: [] }, []);
    const all = await handleListPartitionReassignments(s.broker, ctx(46), { timeoutMs: 500, topics: null });
    expect(all).toEqual({ throttleTimeMs: 0, errorCode: 0, errorMessage: null, topics: [{ name: 't', partitions: [{ partitionIndex: 0, replicas: [2, 1], addingReplicas: [2], removingReplicas: [1] }] }] });
    await handleListPartitionReassignments(s.broker, ctx(46), { timeoutMs: 500, topics: [{ name: 't', partitionIndexes: [0, 3] }] });
    expect(s.calls.map((c) => c.request)).toEqual([{ topics: null }, { topics: [{ name: 't', partitionIndexes: [0, 3] }] }]);

    const failing = stub(new ControllerError('timeout', 'no answer in 500 ms'), []);
    const res = (await handleListPartitionReassignments(failing.broker, ctx(46), { timeoutMs: 500, topics: null })) as any;
    expect(res).toMatchObject({ errorCode: ErrorCode.REQUEST_TIMED_OUT, topics: [] });
  });
});
