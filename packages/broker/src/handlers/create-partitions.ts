import { ErrorCode } from '@tributary/protocol';
import type { CreatePartitionsTopic } from '@tributary/metadata';
import type { Broker, RequestContext } from '../broker.ts';
import { controllerErrorCode, isInternal, LOCAL_METADATA_WAIT_MS, messageOf } from './common.ts';

/** CreatePartitions goes to the active controller (counts, assignments and placement are checked there). */
export async function handleCreatePartitions(broker: Broker, _ctx: RequestContext, body: any): Promise<object> {
  const results = new Map<number, { name: string; errorCode: number; errorMessage: string | null }>();
  const forwarded: { i: number; topic: CreatePartitionsTopic }[] = [];
  (body.topics as any[]).forEach((t, i) => {
    results.set(i, { name: t.name, errorCode: ErrorCode.NONE, errorMessage: null });
    if (isInternal(t.name)) {
      results.set(i, { name: t.name, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `${t.name} is an internal topic` });
      return;
    }
    const assignments = t.assignments === null || t.assignments === undefined ? null : (t.assignments as any[]).map((a) => ({ brokerIds: a.brokerIds as number[] }));
    forwarded.push({ i, topic: { name: t.name, count: t.count, assignments } });
  });
  if (forwarded.length > 0) {
    const timeoutMs = Math.max(1, Math.min(typeof body.timeoutMs === 'number' && body.timeoutMs > 0 ? body.timeoutMs : 30_000, 60_000));
    try {
      const r = await broker.controller.createPartitions({ topics: forwarded.map((f) => f.topic), validateOnly: body.validateOnly === true }, { timeoutMs });
      r.results.forEach((res, k) => results.set(forwarded[k]!.i, { name: res.name, errorCode: res.errorCode, errorMessage: res.errorMessage }));
      if (body.validateOnly !== true) {
        const grown = forwarded.filter((f, k) => r.results[k]?.errorCode === ErrorCode.NONE).map((f) => f.topic);
        if (grown.length > 0) {
          await broker.metadata.waitFor((image) => grown.every((g) => (image.topic(g.name)?.partitions.length ?? 0) >= g.count), Math.min(timeoutMs, LOCAL_METADATA_WAIT_MS));
        }
      }
    } catch (err) {
      const code = controllerErrorCode(err);
      for (const f of forwarded) results.set(f.i, { name: f.topic.name, errorCode: code, errorMessage: `the controller did not add partitions to ${f.topic.name}: ${messageOf(err)}` });
    }
  }
  return { throttleTimeMs: 0, results: (body.topics as any[]).map((_, i) => results.get(i)!) };
}
