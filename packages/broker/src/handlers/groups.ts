import { ApiKey, ErrorCode } from '@tributary/protocol';
import type { Broker, HandlerResult, RequestContext } from '../broker.ts';
import type { Handler } from './index.ts';
import { brokerEntry } from './common.ts';

const GROUP_KEY = 0;

/** FindCoordinator: this broker leads every __consumer_offsets partition, so it coordinates every group. */
async function handleFindCoordinator(broker: Broker, ctx: RequestContext, body: any): Promise<object> {
  const self = brokerEntry(broker);
  const answer = (key: string): { key: string; nodeId: number; host: string; port: number; errorCode: number; errorMessage: string | null } => {
    if (body.keyType !== GROUP_KEY) {
      return { key, nodeId: -1, host: '', port: -1, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, errorMessage: 'transactions are not supported yet' };
    }
    return { key, nodeId: self.nodeId, host: self.host, port: self.port, errorCode: ErrorCode.NONE, errorMessage: null };
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
    const parts = (t.partitions as any[]).filter((p) => broker.replicas.partition(t.name, p.partitionIndex) !== undefined);
    const missing = (t.partitions as any[]).filter((p) => broker.replicas.partition(t.name, p.partitionIndex) === undefined).map((p) => p.partitionIndex as number);
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
