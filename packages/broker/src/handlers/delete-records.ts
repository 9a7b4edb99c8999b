import { ErrorCode } from '@tributary/protocol';
import type { Broker, RequestContext } from '../broker.ts';
import { messageOf, servingPartition } from './common.ts';

export async function handleDeleteRecords(broker: Broker, _ctx: RequestContext, body: any): Promise<object> {
  const topics = [];
  for (const t of body.topics as any[]) {
    const partitions = [];
    for (const req of t.partitions as any[]) {
      const out = { partitionIndex: req.partitionIndex, lowWatermark: -1, errorCode: ErrorCode.NONE as number };
      partitions.push(out);
      const p = servingPartition(broker, t.name, req.partitionIndex);
      if (typeof p === 'number') {
        out.errorCode = p;
        continue;
      }
      // -1 means "up to the high watermark".
      const target: number = req.offset === -1 ? p.highWatermark : req.offset;
      if (target < 0 || target > p.highWatermark) {
        out.errorCode = ErrorCode.OFFSET_OUT_OF_RANGE;
        continue;
      }
      try {
        out.lowWatermark = target <= p.logStartOffset ? p.logStartOffset : await p.log.deleteRecordsBefore(target);
      } catch (err) {
        broker.logger.error({ topic: t.name, partition: req.partitionIndex, err: messageOf(err) }, 'delete records failed');
        out.errorCode = ErrorCode.KAFKA_STORAGE_ERROR;
      }
    }
    topics.push({ name: t.name, partitions });
  }
  return { throttleTimeMs: 0, topics };
}
