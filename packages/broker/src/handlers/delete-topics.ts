import { ErrorCode } from '@tributary/protocol';
import type { Broker, RequestContext } from '../broker.ts';
import { isInternal, messageOf, ZERO_UUID } from './common.ts';

export async function handleDeleteTopics(broker: Broker, ctx: RequestContext, body: any): Promise<object> {
  const requests: { name: string | null; topicId: string }[] =
    ctx.header.apiVersion >= 6 ? body.topics : (body.topicNames as string[]).map((name) => ({ name, topicId: ZERO_UUID }));
  const responses = [];
  for (const req of requests) {
    const topic = req.name !== null && req.name !== undefined ? broker.registry.get(req.name) : broker.registry.byId(req.topicId);
    const out = { name: topic?.name ?? req.name ?? null, topicId: topic?.topicId ?? req.topicId ?? ZERO_UUID, errorCode: ErrorCode.NONE as number, errorMessage: null as string | null };
    responses.push(out);
    if (!broker.config.bool('delete.topic.enable')) {
      out.errorCode = ErrorCode.TOPIC_DELETION_DISABLED;
      out.errorMessage = 'topic deletion is disabled (delete.topic.enable=false)';
    } else if (!topic) {
      out.errorCode = req.name ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION : ErrorCode.UNKNOWN_TOPIC_ID;
      out.errorMessage = `topic ${req.name ?? req.topicId} does not exist`;
    } else if (isInternal(topic.name)) {
      out.errorCode = ErrorCode.INVALID_REQUEST;
      out.errorMessage = `${topic.name} is an internal topic and cannot be deleted`;
    } else {
      try {
        await broker.replicas.deleteTopic(topic.name);
      } catch (err) {
        broker.logger.error({ topic: topic.name, err: messageOf(err) }, 'topic deletion failed');
        out.errorCode = ErrorCode.KAFKA_STORAGE_ERROR;
        out.errorMessage = `deleting ${topic.name} failed: ${messageOf(err)}`;
      }
    }
  }
  return { throttleTimeMs: 0, responses };
}
