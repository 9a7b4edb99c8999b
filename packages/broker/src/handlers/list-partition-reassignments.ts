import type { ListPartitionReassignmentsTopic } from '@tributary/metadata';
import type { Broker, RequestContext } from '../broker.ts';
import { controllerErrorCode, messageOf } from './common.ts';

/** Kafka's default for the request's TimeoutMs; also the most a request may ask to wait. */
const DEFAULT_TIMEOUT_MS = 60_000;

/**
 * ListPartitionReassignments (key 46) v0: answered by the active controller (the source of truth while
 * replicas move; this broker's image may lag). Null topics lists every reassignment in progress; unknown
 * topics and partitions are left out, as in Kafka.
 */
export async function handleListPartitionReassignments(broker: Broker, _ctx: RequestContext, body: any): Promise<object> {
  const topics: ListPartitionReassignmentsTopic[] | null =
    body.topics === null ? null : (body.topics as any[]).map((t) => ({ name: t.name as string, partitionIndexes: t.partitionIndexes as number[] }));
  const timeoutMs = Math.max(1, Math.min(typeof body.timeoutMs === 'number' && body.timeoutMs > 0 ? body.timeoutMs : DEFAULT_TIMEOUT_MS, DEFAULT_TIMEOUT_MS));
  try {
    const r = await broker.controller.listPartitionReassignments({ topics }, { timeoutMs });
    return {
      throttleTimeMs: 0,
      errorCode: r.errorCode,
      errorMessage: r.errorMessage,
      topics: r.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, replicas: p.replicas, addingReplicas: p.addingReplicas, removingReplicas: p.removingReplicas })),
      })),
    };
  } catch (err) {
    return { throttleTimeMs: 0, errorCode: controllerErrorCode(err), errorMessage: `the controller did not list the reassignments: ${messageOf(err)}`, topics: [] };
  }
}
