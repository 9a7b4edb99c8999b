import type { CommandContext } from '../context.ts';
import { table } from '../format.ts';

export async function clusterInfo(ctx: CommandContext): Promise<void> {
  const info = await ctx.client().describeCluster();
  const brokers = [...info.brokers].sort((a, b) => a.nodeId - b.nodeId);
  if (ctx.json) {
    ctx.outJson({ clusterId: info.clusterId, controllerId: info.controllerId, brokers });
    return;
  }
  ctx.out(
    [
      `Cluster ID: ${info.clusterId}`,
      `Controller: ${info.controllerId < 0 ? 'none' : info.controllerId}`,
      '',
      table(['ID', 'HOST', 'PORT', 'RACK'], brokers.map((b) => [b.nodeId, b.host, b.port, b.rack ?? ''])),
    ].join('\n'),
  );
}
