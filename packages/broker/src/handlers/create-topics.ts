import { ErrorCode } from '@tributary/protocol';
import type { CreatableTopic } from '@tributary/metadata';
import type { Broker, RequestContext } from '../broker.ts';
import { controllerErrorCode, isInternal, LOCAL_METADATA_WAIT_MS, messageOf, ZERO_UUID } from './common.ts';
import { sourceCode, topicConfigViews } from './config-views.ts';

/**
 * CreateTopics goes to the active controller, which validates names, counts, assignments and configs and
 * places replicas across brokers. The answer waits (bounded) until this broker has applied the new topics,
 * so a client that creates and then asks this broker for metadata finds them.
 */
export async function handleCreateTopics(broker: Broker, ctx: RequestContext, body: any): Promise<object> {
  const version = ctx.header.apiVersion;
  const validateOnly = body.validateOnly === true;
  const results = new Map<number, object>();
  const forwarded: { i: number; topic: CreatableTopic }[] = [];
  (body.topics as any[]).forEach((t, i) => {
    if (isInternal(t.name)) {
      results.set(i, failed(t.name, ErrorCode.INVALID_REQUEST, `${t.name} is an internal topic name`));
      return;
    }
    forwarded.push({
      i,
      topic: {
        name: t.name,
        numPartitions: t.numPartitions,
        replicationFactor: t.replicationFactor,
        assignments: ((t.assignments ?? []) as any[]).map((a) => ({ partitionIndex: a.partitionIndex, brokerIds: a.brokerIds })),
        configs: ((t.configs ?? []) as any[]).map((c) => ({ name: c.name, value: c.value })),
      },
    });
  });
  if (forwarded.length > 0) {
    const timeoutMs = Math.max(1, Math.min(typeof body.timeoutMs === 'number' && body.timeoutMs > 0 ? body.timeoutMs : 30_000, 60_000));
    try {
      const r = await broker.controller.createTopics({ topics: forwarded.map((f) => f.topic), validateOnly }, { timeoutMs });
      r.topics.forEach((res, k) => {
        const f = forwarded[k]!;
        const ok = res.errorCode === ErrorCode.NONE;
        const overrides: Record<string, string> = {};
        for (const c of f.topic.configs) if (c.value !== null) overrides[c.name] = c.value;
        results.set(f.i, {
          name: res.name,
          topicId: ok && !validateOnly ? res.topicId : ZERO_UUID,
          errorCode: res.errorCode,
          errorMessage: res.errorMessage,
          topicConfigErrorCode: ErrorCode.NONE,
          numPartitions: res.numPartitions,
          replicationFactor: res.replicationFactor,
          configs:
            ok && version >= 5
              ? topicConfigViews(broker, overrides).map((v) => ({ name: v.name, value: v.value, readOnly: v.readOnly, configSource: sourceCode(v), isSensitive: v.sensitive }))
              : null,
        });
      });
      const created = r.topics.filter((t) => t.errorCode === ErrorCode.NONE && !validateOnly).map((t) => t.topicId);
      if (created.length > 0) {
        await broker.metadata.waitFor((image) => created.every((id) => image.topicById(id) !== undefined), Math.min(timeoutMs, LOCAL_METADATA_WAIT_MS));
      }
    } catch (err) {
      const code = controllerErrorCode(err);
      for (const f of forwarded) results.set(f.i, failed(f.topic.name, code, `the controller did not create ${f.topic.name}: ${messageOf(err)}`));
    }
  }
  return { throttleTimeMs: 0, topics: (body.topics as any[]).map((_, i) => results.get(i)!) };
}

function failed(name: string, errorCode: number, errorMessage: string): object {
  return { name, topicId: ZERO_UUID, errorCode, errorMessage, topicConfigErrorCode: ErrorCode.NONE, numPartitions: -1, replicationFactor: -1, configs: null };
}
