import type { CommandContext } from '../context.ts';

export async function topicDelete(ctx: CommandContext, args: { name: string }): Promise<void> {
  await ctx.client().deleteTopics([args.name]);
  if (ctx.json) ctx.outJson({ deleted: args.name });
  else ctx.out(`Deleted topic ${args.name}.`);
}
