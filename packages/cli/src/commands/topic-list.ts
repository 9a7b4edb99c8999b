import type { CommandContext } from '../context.ts';
import { table } from '../format.ts';

export async function topicList(ctx: CommandContext): Promise<void> {
  const md = await ctx.client().metadata();
  const topics = md.topics
    .filter((t) => t.errorCode === 0)
    .map((t) => ({
      name: t.name,
      partitions: t.partitions.length,
      replicationFactor: t.partitions[0]?.replicas.length ?? 0,
      internal: t.isInternal,
    }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  if (ctx.json) {
    ctx.outJson(topics);
  } else if (topics.length === 0) {
    ctx.out('No topics.');
  } else {
    ctx.out(table(['TOPIC', 'PARTITIONS', 'REPLICATION-FACTOR'], topics.map((t) => [t.name, t.partitions, t.replicationFactor])));
  }
}
