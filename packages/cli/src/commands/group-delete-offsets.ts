/** Deletes a group's committed offsets for whole topics or some of their partitions (OffsetDelete). */
import { KafkaError } from '@tributary/client';
import type { TopicPartitionsArg } from '../args.ts';
import type { CommandContext } from '../context.ts';
import { table } from '../format.ts';
import { byTopicPartition } from '../groups.ts';

export async function groupDeleteOffsets(ctx: CommandContext, args: { group: string; topics: TopicPartitionsArg[] }): Promise<void> {
  const client = ctx.client();
  // A bare topic means the partitions the group has offsets for (the topic itself may be gone).
  const needCommitted = args.topics.some((t) => t.partitions === null);
  const committed = needCommitted ? await client.offsetFetch(args.group) : [];
  const selection = args.topics.map((t) => ({
    topic: t.topic,
    partitions: t.partitions ?? committed.filter((c) => c.topic === t.topic && c.offset >= 0).map((c) => c.partition),
  }));
  // Sent even when there is nothing to delete: the coordinator still says whether the group exists.
  const results = (await client.offsetDelete(args.group, selection)).sort(byTopicPartition);
  if (ctx.json) {
    ctx.outJson({ groupId: args.group, partitions: results.map((r) => ({ topic: r.topic, partition: r.partition, deleted: r.error === null, error: r.error?.name ?? null })) });
  } else if (results.length === 0) {
    ctx.out(`Group ${args.group} has no committed offsets for ${args.topics.map((t) => t.topic).join(', ')}.`);
  } else {
    ctx.out(table(['TOPIC', 'PARTITION', 'STATUS'], results.map((r) => [r.topic, r.partition, r.error === null ? 'deleted' : r.error.name])));
  }
  const failed = results.filter((r): r is typeof r & { error: KafkaError } => r.error !== null);
  const first = failed[0];
  if (first !== undefined) {
    const more = failed.length > 1 ? ` (and ${failed.length - 1} more partition${failed.length === 2 ? '' : 's'})` : '';
    throw new KafkaError(first.error.code, first.error.name, `${first.error.message}${more}`);
  }
}
