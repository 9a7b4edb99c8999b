import { ApiKey, ErrorCode } from '@tributary/protocol';
import type { Broker, HandlerResult, RequestContext } from '../broker.ts';
import type { Handler } from './index.ts';
import { listenerOf } from './common.ts';
import { OFFSETS_TOPIC } from '../group-store.ts';

const GROUP_KEY = 0;
const OFFSETS_TOPIC_WAIT_MS = 10_000;

/**
 * FindCoordinator: a group's coordinator is the leader of its `__consumer_offsets` partition. The topic is
 * created (through the controller) on the first request; until it has a live leader the answer is
 * COORDINATOR_NOT_AVAILABLE and clients retry.
 */
async function handleFindCoordinator(broker: Broker, ctx: RequestContext, body: any): Promise<object> {
  const listenerName = listenerOf(broker, ctx);
  if (body.keyType === GROUP_KEY && broker.metadata.image.topic(OFFSETS_TOPIC) === undefined) {
    // The first group request of a cluster creates the offsets topic. Some clients (kafkajs) give up after a few
    // quick retries, so answer once it has leaders rather than at once with COORDINATOR_NOT_AVAILABLE (bounded).
    broker.ensureOffsetsTopic();
    await broker.metadata.waitFor((image) => {
      const t = image.topic(OFFSETS_TOPIC);
      return t !== undefined && t.partitions.every((p) => p.leader >= 0);
    }, OFFSETS_TOPIC_WAIT_MS);
  }
  const answer = (key: string): { key: string; nodeId: number; host: string; port: number; errorCode: number; errorMessage: string | null } => {
    const unavailable = (message: string) => ({ key, nodeId: -1, host: '', port: -1, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, errorMessage: message });
    if (body.keyType !== GROUP_KEY) return unavailable('transactions are not supported yet');
    if (key === '') return { key, nodeId: -1, host: '', port: -1, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: 'the group id is empty' };
    const topic = broker.metadata.image.topic(OFFSETS_TOPIC);
    if (topic === undefined) {
      broker.ensureOffsetsTopic();
      return unavailable(`${OFFSETS_TOPIC} is being created`);
    }
    const partition = topic.partitions[broker.groups.partitionFor(key)];
    const leader = partition !== undefined && partition.leader >= 0 && broker.metadata.isLive(partition.leader) ? partition.leader : -1;
    const endpoint = leader >= 0 ? broker.metadata.endpoint(leader, listenerName) : null;
    if (endpoint === null) return unavailable(`the ${OFFSETS_TOPIC} partition of group ${key} has no live leader`);
    return { key, nodeId: leader, host: endpoint.host, port: endpoint.port, errorCode: ErrorCode.NONE, errorMessage: null };
  };
  if (ctx.header.apiVersion >= 4) {
    return { throttleTimeMs: 0, coordinators: (body.coordinatorKeys as string[]).map(answer) };
  }
  const one = answer(body.key);
  return { throttleTimeMs: 0, errorCode: one.errorCode, errorMessage: one.errorMessage, nodeId: one.nodeId, host: one.host, port: one.port };
}

function delegate(method: 'joinGroup' | 'syncGroup' | 'heartbeat' | 'leaveGroup' | 'offsetCommit' | 'offsetFetch' | 'describeGroups' | 'listGroups' | 'deleteGroups' | 'offsetDelete'): Handler {
  return async (broker: Broker, ctx: RequestContext, body: any): Promise<HandlerResult> => {
    const groupCtx = { clientId: ctx.header.clientId ?? '', clientHost: ctx.clientHost };
    return (broker.groups as any)[method](ctx.header.apiVersion, body, groupCtx);
  };
}

/**
 * OffsetCommit for partitions that do not exist answers UNKNOWN_TOPIC_OR_PARTITION per partition,
 * as Kafka does; the rest go to the coordinator, and the responses keep the request's order.
 */
async function handleOffsetCommit(broker: Broker, ctx: RequestContext, body: any): Promise<HandlerResult> {
  const groupCtx = { clientId: ctx.header.clientId ?? '', clientHost: ctx.clientHost };
  const known: any[] = [];
  const unknown = new Map<string, number[]>();
  for (const t of body.topics as any[]) {
    const exists = (index: number): boolean => index >= 0 && index < (broker.metadata.image.topic(t.name)?.partitions.length ?? 0);
    const parts = (t.partitions as any[]).filter((p) => exists(p.partitionIndex));
    const missing = (t.partitions as any[]).filter((p) => !exists(p.partitionIndex)).map((p) => p.partitionIndex as number);
    if (parts.length > 0) known.push({ ...t, partitions: parts });
    if (missing.length > 0) unknown.set(t.name, missing);
  }
  if (unknown.size === 0) return broker.groups.offsetCommit(ctx.header.apiVersion, body, groupCtx);
  const response: any = known.length > 0 ? await broker.groups.offsetCommit(ctx.header.apiVersion, { ...body, topics: known }, groupCtx) : { throttleTimeMs: 0, topics: [] };
  const byName = new Map<string, any>((response.topics as any[]).map((t) => [t.name, t]));
  const topics = (body.topics as any[]).map((t) => {
    const answered = new Map<number, any>(((byName.get(t.name)?.partitions ?? []) as any[]).map((p) => [p.partitionIndex, p]));
    return {
      name: t.name,
      partitions: (t.partitions as any[]).map((p) => answered.get(p.partitionIndex) ?? { partitionIndex: p.partitionIndex, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION }),
    };
  });
  return { ...response, topics };
}

export const groupHandlers: [number, Handler][] = [
  [ApiKey.FindCoordinator, handleFindCoordinator],
  [ApiKey.JoinGroup, delegate('joinGroup')],
  [ApiKey.SyncGroup, delegate('syncGroup')],
  [ApiKey.Heartbeat, delegate('heartbeat')],
  [ApiKey.LeaveGroup, delegate('leaveGroup')],
  [ApiKey.OffsetCommit, handleOffsetCommit],
  [ApiKey.OffsetFetch, delegate('offsetFetch')],
  [ApiKey.DescribeGroups, delegate('describeGroups')],
  [ApiKey.ListGroups, delegate('listGroups')],
  [ApiKey.DeleteGroups, delegate('deleteGroups')],
  [ApiKey.OffsetDelete, delegate('offsetDelete')],
];
