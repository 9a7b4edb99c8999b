import { ConfigSource, KafkaError, ResourceType, type ConfigEntry } from '@tributary/client';
import type { CommandContext } from '../context.ts';
import { list, table } from '../format.ts';
import { matchesFilter, minIsrOf, needsMinIsr, type PartitionFilter } from '../partitions.ts';

/** Configs set on the topic itself, i.e. those that differ from the broker's defaults. */
function overridden(c: ConfigEntry): boolean {
  return c.source === ConfigSource.DynamicTopic || (c.source <= 0 && !c.isDefault);
}

/**
 * One topic (or all). With a filter, only the partitions that match it (kafka-topics.sh --describe
 * --under-replicated-partitions and friends), and only topics that have some.
 */
export async function topicDescribe(ctx: CommandContext, args: { name: string | undefined; filter?: PartitionFilter }): Promise<void> {
  const client = ctx.client();
  const md = await client.metadata(args.name === undefined ? undefined : [args.name]);
  const topics = md.topics.filter((t) => args.name !== undefined || t.errorCode === 0).sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const t of topics) {
    if (t.errorCode !== 0) throw new KafkaError(t.errorCode, t.errorName, `${t.errorName}: topic ${t.name}`);
  }
  const configs =
    topics.length === 0 ? [] : await client.describeConfigs(topics.map((t) => ({ type: ResourceType.Topic, name: t.name })));
  const byName = new Map(configs.map((c) => [c.name, c.configs.filter(overridden)]));
  const minIsr = new Map(configs.map((c) => [c.name, minIsrOf(c.configs.find((e) => e.name === 'min.insync.replicas')?.value)]));
  const live = new Set(md.brokers.map((b) => b.nodeId));
  const { filter } = args;
  const result = topics
    .map((t) => ({
      name: t.name,
      partitions: t.partitions
        .filter((p) => filter === undefined || matchesFilter(filter, p, minIsr.get(t.name) ?? 1, live))
        .map((p) => ({ partition: p.partition, leader: p.leader, replicas: p.replicas, isr: p.isr })),
      replicationFactor: t.partitions[0]?.replicas.length ?? 0,
      ...(needsMinIsr(filter) ? { minInsyncReplicas: minIsr.get(t.name) ?? 1 } : {}),
      configs: Object.fromEntries((byName.get(t.name) ?? []).map((c) => [c.name, c.isSensitive ? '(sensitive)' : c.value])),
    }))
    .filter((t) => filter === undefined || t.partitions.length > 0);
  if (ctx.json) {
    // With a filter the answer is a list even for one named topic: it may be empty.
    ctx.outJson(args.name === undefined || filter !== undefined ? result : result[0]);
    return;
  }
  if (result.length === 0) {
    ctx.out(filter === undefined ? 'No topics.' : `No ${filter} partitions.`);
    return;
  }
  const blocks = result.map((t) => {
    const cfg = Object.entries(t.configs).map(([k, v]) => `${k}=${v ?? ''}`);
    const count = filter === undefined ? `Partitions: ${t.partitions.length}` : `Partitions: ${t.partitions.length} (${filter})`;
    const minIsrText = 'minInsyncReplicas' in t ? `  MinInsyncReplicas: ${t.minInsyncReplicas}` : '';
    return [
      `Topic: ${t.name}  ${count}  ReplicationFactor: ${t.replicationFactor}${minIsrText}  Configs: ${cfg.length > 0 ? cfg.join(',') : '(none)'}`,
      table(
        ['PARTITION', 'LEADER', 'REPLICAS', 'ISR'],
        t.partitions.map((p) => [p.partition, p.leader < 0 ? 'none' : p.leader, list(p.replicas), list(p.isr)]),
      ),
    ].join('\n');
  });
  ctx.out(blocks.join('\n\n'));
}

