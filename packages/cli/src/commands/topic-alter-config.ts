import { ResourceType, type ConfigAlteration } from '@tributary/client';
import type { CommandContext } from '../context.ts';

export interface TopicAlterConfigArgs {
  name: string;
  set: Record<string, string>;
  delete: string[];
}

export async function topicAlterConfig(ctx: CommandContext, args: TopicAlterConfigArgs): Promise<void> {
  const alterations: ConfigAlteration[] = [
    ...Object.entries(args.set).map(([name, value]): ConfigAlteration => ({ name, op: 'set', value })),
    ...args.delete.map((name): ConfigAlteration => ({ name, op: 'delete' })),
  ];
  await ctx.client().incrementalAlterConfigs([{ type: ResourceType.Topic, name: args.name, alterations }]);
  if (ctx.json) {
    ctx.outJson({ topic: args.name, set: args.set, deleted: args.delete });
  } else {
    const parts = [
      ...Object.entries(args.set).map(([k, v]) => `set ${k}=${v}`),
      ...args.delete.map((k) => `deleted ${k}`),
    ];
    ctx.out(`Altered topic ${args.name}: ${parts.join(', ')}.`);
  }
}
