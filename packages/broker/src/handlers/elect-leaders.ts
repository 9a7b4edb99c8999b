import { ErrorCode } from '@tributary/protocol';
import { ElectionType, type ElectLeadersTopicPartitions, type MetadataImage } from '@tributary/metadata';
import type { Broker, RequestContext } from '../broker.ts';
import { controllerErrorCode, LOCAL_METADATA_WAIT_MS, messageOf } from './common.ts';

/** Kafka's default for ElectLeaders' TimeoutMs; also the most a request may ask to wait. */
const DEFAULT_TIMEOUT_MS = 60_000;

interface PartitionResult {
  partitionId: number;
  errorCode: number;
  errorMessage: string | null;
}

interface TopicResult {
  topic: string;
  partitionResult: PartitionResult[];
}

/**
 * ElectLeaders (key 43) v0-2: the active controller runs a preferred (0) or unclean (1) election; v0 has no
 * election type and always asks for the preferred one. Null topicPartitions means every partition (the
 * controller then leaves out partitions that needed no election, as Kafka does). Partitions that got a new
 * leader are awaited (bounded) in this broker's metadata, so a client that asks this broker next sees them.
 */
export async function handleElectLeaders(broker: Broker, ctx: RequestContext, body: any): Promise<object> {
  const version = ctx.header.apiVersion;
  const electionType: number = version >= 1 ? body.electionType : ElectionType.PREFERRED;
  const topicPartitions = body.topicPartitions === null ? null : mergeTopicPartitions(body.topicPartitions as ElectLeadersTopicPartitions[]);
  const timeoutMs = Math.max(1, Math.min(typeof body.timeoutMs === 'number' && body.timeoutMs > 0 ? body.timeoutMs : DEFAULT_TIMEOUT_MS, DEFAULT_TIMEOUT_MS));
  try {
    const r = await broker.controller.electLeaders({ electionType, topicPartitions }, { timeoutMs });
    const results: TopicResult[] = r.replicaElectionResults.map((t) => ({
      topic: t.topic,
      partitionResult: t.partitionResult.map((p) => ({ partitionId: p.partitionId, errorCode: p.errorCode, errorMessage: p.errorMessage })),
    }));
    if (r.errorCode !== ErrorCode.NONE) return failure(version, topicPartitions, r.errorCode, `the controller refused the election (election type ${electionType})`);
    const elected = results.flatMap((t) => t.partitionResult.filter((p) => p.errorCode === ErrorCode.NONE).map((p) => ({ topic: t.topic, partitionId: p.partitionId })));
    if (elected.length > 0) {
      const shown = (image: MetadataImage): boolean => elected.every((e) => hasElectedLeader(image, e.topic, e.partitionId, electionType));
      await broker.metadata.waitFor(shown, Math.min(timeoutMs, LOCAL_METADATA_WAIT_MS));
    }
    return version >= 1 ? { throttleTimeMs: 0, errorCode: ErrorCode.NONE, replicaElectionResults: results } : { throttleTimeMs: 0, replicaElectionResults: results };
  } catch (err) {
    return failure(version, topicPartitions, controllerErrorCode(err), `the controller did not run the election: ${messageOf(err)}`);
  }
}

/** The committed leader is the one the election asked for: the preferred replica, or any leader after an unclean one. */
function hasElectedLeader(image: MetadataImage, topic: string, partitionId: number, electionType: number): boolean {
  const p = image.topic(topic)?.partitions[partitionId];
  if (p === undefined) return true; // deleted meanwhile: nothing to wait for
  return electionType === ElectionType.PREFERRED ? p.leader === p.replicas[0] : p.leader >= 0;
}

/** One entry per topic, each partition once (a client may name a topic twice; the controller should not elect twice). */
function mergeTopicPartitions(list: readonly ElectLeadersTopicPartitions[]): ElectLeadersTopicPartitions[] {
  const byTopic = new Map<string, Set<number>>();
  for (const t of list) {
    let set = byTopic.get(t.topic);
    if (set === undefined) byTopic.set(t.topic, (set = new Set()));
    for (const p of t.partitions) set.add(p);
  }
  return [...byTopic].map(([topic, set]) => ({ topic, partitions: [...set] }));
}

/**
 * The whole request failed (NOT_CONTROLLER, REQUEST_TIMED_OUT, INVALID_REQUEST, ...): like Kafka, every
 * requested partition carries the error, and from v1 on the top-level code too. v0 has only the per-partition one.
 */
function failure(version: number, topicPartitions: readonly ElectLeadersTopicPartitions[] | null, errorCode: number, message: string): object {
  const results = (topicPartitions ?? []).map((t) => ({ topic: t.topic, partitionResult: t.partitions.map((p) => ({ partitionId: p, errorCode, errorMessage: message })) }));
  return version >= 1 ? { throttleTimeMs: 0, errorCode, replicaElectionResults: results } : { throttleTimeMs: 0, replicaElectionResults: results };
}
