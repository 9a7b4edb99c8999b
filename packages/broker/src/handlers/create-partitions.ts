import { ErrorCode } from '@tributary/protocol';
import type { Broker, RequestContext } from '../broker.ts';
import { MAX_PARTITIONS_PER_TOPIC } from '../replica-manager.ts';
import { isInternal, messageOf } from './common.ts';

export async function handleCreatePartitions(broker: Broker, _ctx: RequestContext, body: any): Promise<object> {
  const names = (body.topics as any[]).map((t) => t.name as string);
  const results = [];
  for (const t of body.topics as any[]) {
    const out = { name: t.name, errorCode: ErrorCode.NONE as number, errorMessage: null as string | null };
    results.push(out);
    const fail = (code: number, message: string): void => {
      out.errorCode = code;
      out.errorMessage = message;
    };
    const topic = broker.registry.get(t.name);
    const count: number = t.count;
    if (names.indexOf(t.name) !== names.lastIndexOf(t.name)) fail(ErrorCode.INVALID_REQUEST, `topic ${t.name} appears more than once`);
    else if (!topic) fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic ${t.name} does not exist`);
    else if (isInternal(t.name)) fail(ErrorCode.INVALID_REQUEST, `${t.name} is an internal topic`);
    else if (count <= topic.numPartitions) fail(ErrorCode.INVALID_PARTITIONS, `topic ${t.name} has ${topic.numPartitions} partitions; the new count ${count} must be larger`);
    else if (count > MAX_PARTITIONS_PER_TOPIC) fail(ErrorCode.INVALID_PARTITIONS, `at most ${MAX_PARTITIONS_PER_TOPIC} partitions per topic`);
    else if (t.assignments !== null && t.assignments !== undefined && t.assignments.length !== count - topic.numPartitions) {
      fail(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `expected ${count - topic.numPartitions} assignments for the new partitions, got ${t.assignments.length}`);
    } else if (t.assignments?.some((a: { brokerIds: number[] }) => a.brokerIds.length !== 1 || a.brokerIds[0] !== broker.nodeId)) {
      fail(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `assignments may only name broker ${broker.nodeId}, the one broker of this cluster`);
    } else if (!body.validateOnly) {
      try {
        await broker.replicas.addPartitions(t.name, count);
      } catch (err) {
        fail(ErrorCode.KAFKA_STORAGE_ERROR, `adding partitions to ${t.name} failed: ${messageOf(err)}`);
      }
    }
  }
  return { throttleTimeMs: 0, results };
}
