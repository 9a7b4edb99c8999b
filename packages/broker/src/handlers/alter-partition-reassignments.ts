import { ErrorCode } from '@tributary/protocol';
import { isReassigning, targetReplicas, type MetadataImage, type ReassignableTopic } from '@tributary/metadata';
import type { Broker, RequestContext } from '../broker.ts';
import { controllerErrorCode, LOCAL_METADATA_WAIT_MS, messageOf } from './common.ts';

/** Kafka's default for the request's TimeoutMs; also the most a request may ask to wait. */
const DEFAULT_TIMEOUT_MS = 60_000;

/**
 * AlterPartitionReassignments (key 45) v0: forwarded to the active controller, which starts, changes or
 * cancels (null replicas) each partition's reassignment and answers per partition. Accepted changes are awaited
 * (bounded) in this broker's metadata, so a Metadata request to this broker next shows the new replicas.
 */
export async function handleAlterPartitionReassignments(broker: Broker, _ctx: RequestContext, body: any): Promise<object> {
  const topics: ReassignableTopic[] = (body.topics as any[]).map((t) => ({
    name: t.name as string,
    partitions: (t.partitions as any[]).map((p) => ({ partitionIndex: p.partitionIndex as number, replicas: (p.replicas ?? null) as number[] | null })),
  }));
  const timeoutMs = Math.max(1, Math.min(typeof body.timeoutMs === 'number' && body.timeoutMs > 0 ? body.timeoutMs : DEFAULT_TIMEOUT_MS, DEFAULT_TIMEOUT_MS));
  try {
    const r = await broker.controller.alterPartitionReassignments({ topics }, { timeoutMs });
    const accepted = topics.flatMap((t, i) =>
      t.partitions.filter((p, j) => r.responses[i]?.partitions[j]?.errorCode === ErrorCode.NONE).map((p) => ({ name: t.name, partitionIndex: p.partitionIndex, replicas: p.replicas })),
    );
    if (accepted.length > 0) {
      const shown = (image: MetadataImage): boolean => accepted.every((a) => showsReassignment(image, a.name, a.partitionIndex, a.replicas));
      await broker.metadata.waitFor(shown, Math.min(timeoutMs, LOCAL_METADATA_WAIT_MS));
    }
    return {
      throttleTimeMs: 0,
      errorCode: r.errorCode,
      errorMessage: r.errorMessage,
      responses: r.responses.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: p.errorCode, errorMessage: p.errorMessage })) })),
    };
  } catch (err) {
    const errorCode = controllerErrorCode(err);
    const errorMessage = `the controller did not change the reassignments: ${messageOf(err)}`;
    return {
      throttleTimeMs: 0,
      errorCode,
      errorMessage,
      responses: topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode, errorMessage })) })),
    };
  }
}

/** The local image shows the accepted change: the target being moved to (or reached), or no reassignment after a cancel. */
function showsReassignment(image: MetadataImage, topic: string, partitionIndex: number, replicas: readonly number[] | null): boolean {
  const p = image.topic(topic)?.partitions[partitionIndex];
  if (p === undefined) return true; // deleted meanwhile: nothing to wait for
  if (replicas === null) return !isReassigning(p);
  const target = targetReplicas(p);
  return target.length === replicas.length && target.every((r, i) => r === replicas[i]);
}
