import type { CommandContext } from '../context.ts';

export interface TopicCreateArgs {
  name: string;
  partitions: number | undefined;
  replicationFactor: number | undefined;
  configs: Record<string, string>;
}

export async function topicCreate(ctx: CommandContext, args: TopicCreateArgs): Promise<void> {
  await ctx.client().createTopics([
    { name: args.name, numPartitions: args.partitions, replicationFactor: args.replicationFactor, configs: args.configs },
  ]);
  if (ctx.json) ctx.outJson({ created: args.name });
  else ctx.out(`Created topic ${args.name}.`);
}
