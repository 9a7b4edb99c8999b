import { ConfigSource, KafkaError, ResourceType, type ConfigEntry } from '@tributary/client';
import type { CommandContext } from '../context.ts';
import { list, table } from '../format.ts';

/** Configs set on the topic itself, i.e. those that differ from the broker's defaults. */
function overridden(c: ConfigEntry): boolean {
  return c.source === ConfigSource.DynamicTopic || (c.source <= 0 && !c.isDefault);
}

export async function topicDescribe(ctx: CommandContext, args: { name: string | undefined }): Promise<void> {
  const client = ctx.client();
  const md = await client.metadata(args.name === undefined ? undefined : [args.name]);
  const topics = md.topics.filter((t) => args.name !== undefined || t.errorCode === 0).sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const t of topics) {
    if (t.errorCode !== 0) throw new KafkaError(t.errorCode, t.errorName, `${t.errorName}: topic ${t.name}`);
  }
  const configs =
    topics.length === 0 ? [] : await client.describeConfigs(topics.map((t) => ({ type: ResourceType.Topic, name: t.name })));
  const byName = new Map(configs.map((c) => [c.name, c.configs.filter(overridden)]));
  const result = topics.map((t) => ({
    name: t.name,
    partitions: t.partitions.map((p) => ({ partition: p.partition, leader: p.leader, replicas: p.replicas, isr: p.isr })),
    replicationFactor: t.partitions[0]?.replicas.length ?? 0,
    configs: Object.fromEntries((byName.get(t.name) ?? []).map((c) => [c.name, c.isSensitive ? '(sensitive)' : c.value])),
  }));
  if (ctx.json) {
    ctx.outJson(args.name === undefined ? result : result[0]);
    return;
  }
  if (result.length === 0) {
    ctx.out('No topics.');
    return;
  }
  const blocks = result.map((t) => {
    const cfg = Object.entries(t.configs).map(([k, v]) => `${k}=${v ?? ''}`);
    return [
      `Topic: ${t.name}  Partitions: ${t.partitions.length}  ReplicationFactor: ${t.replicationFactor}  Configs: ${cfg.length > 0 ? cfg.join(',') : '(none)'}`,
      table(
        ['PARTITION', 'LEADER', 'REPLICAS', 'ISR'],
        t.partitions.map((p) => [p.partition, p.leader < 0 ? 'none' : p.leader, list(p.replicas), list(p.isr)]),
      ),
    ].join('\n');
  });
  ctx.out(blocks.join('\n\n'));
}
