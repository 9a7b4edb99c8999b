import { ErrorCode } from '@tributary/protocol';
import type { DeleteTopicState } from '@tributary/metadata';
import type { Broker, RequestContext } from '../broker.ts';
import { controllerErrorCode, isInternal, LOCAL_METADATA_WAIT_MS, messageOf, ZERO_UUID } from './common.ts';

/** DeleteTopics goes to the active controller; every broker then deletes its replicas' logs as it applies the change. */
export async function handleDeleteTopics(broker: Broker, ctx: RequestContext, body: any): Promise<object> {
  const requests: { name: string | null; topicId: string }[] =
    ctx.header.apiVersion >= 6 ? body.topics : (body.topicNames as string[]).map((name) => ({ name, topicId: ZERO_UUID }));
  const results = new Map<number, { name: string | null; topicId: string; errorCode: number; errorMessage: string | null }>();
  const forwarded: { i: number; state: DeleteTopicState }[] = [];
  requests.forEach((req, i) => {
    const byName = req.name !== null && req.name !== undefined;
    const topic = byName ? broker.metadata.image.topic(req.name!) : broker.metadata.image.topicById(req.topicId);
    const out = { name: topic?.name ?? req.name ?? null, topicId: topic?.topicId ?? req.topicId ?? ZERO_UUID, errorCode: ErrorCode.NONE as number, errorMessage: null as string | null };
    if (!broker.config.bool('delete.topic.enable')) {
      out.errorCode = ErrorCode.TOPIC_DELETION_DISABLED;
      out.errorMessage = 'topic deletion is disabled (delete.topic.enable=false)';
    } else if (topic && isInternal(topic.name)) {
      out.errorCode = ErrorCode.INVALID_REQUEST;
      out.errorMessage = `${topic.name} is an internal topic and cannot be deleted`;
    } else {
      forwarded.push({ i, state: byName ? { name: req.name!, topicId: null } : { name: null, topicId: req.topicId } });
    }
    results.set(i, out);
  });
  if (forwarded.length > 0) {
    const timeoutMs = Math.max(1, Math.min(typeof body.timeoutMs === 'number' && body.timeoutMs > 0 ? body.timeoutMs : 30_000, 60_000));
    try {
      const r = await broker.controller.deleteTopics({ topics: forwarded.map((f) => f.state) }, { timeoutMs });
      r.responses.forEach((res, k) => {
        const out = results.get(forwarded[k]!.i)!;
        out.errorCode = res.errorCode;
        out.errorMessage = res.errorMessage;
        if (res.topicId !== ZERO_UUID) out.topicId = res.topicId;
        if (res.name !== null) out.name = res.name;
      });
      const deleted = r.responses.filter((t) => t.errorCode === ErrorCode.NONE).map((t) => t.topicId);
      if (deleted.length > 0) await broker.metadata.waitFor((image) => deleted.every((id) => image.topicById(id) === undefined), Math.min(timeoutMs, LOCAL_METADATA_WAIT_MS));
    } catch (err) {
      const code = controllerErrorCode(err);
      for (const f of forwarded) {
        const out = results.get(f.i)!;
        out.errorCode = code;
        out.errorMessage = `the controller did not delete ${out.name ?? out.topicId}: ${messageOf(err)}`;
      }
    }
  }
  return { throttleTimeMs: 0, responses: requests.map((_, i) => results.get(i)!) };
}
