/**
 * One group as `kafka-consumer-groups --describe` shows it: per partition the committed offset, the log
 * end offset, the lag, and the member that owns the partition; plus state, protocol and members.
 */
import { KafkaError } from '@tributary/client';
import type { CommandContext } from '../context.ts';
import { table } from '../format.ts';
import { byTopicPartition, logEndOffsets, tpKey } from '../groups.ts';

interface PartitionRow {
  topic: string;
  partition: number;
  currentOffset: number | null;
  logEndOffset: number | null;
  lag: number | null;
  memberId: string | null;
  clientId: string | null;
  host: string | null;
}

export async function groupDescribe(ctx: CommandContext, args: { group: string }): Promise<void> {
  const client = ctx.client();
  const [group] = await client.describeGroups([args.group]);
  if (group === undefined) throw new Error(`DescribeGroups returned nothing for group ${args.group}`);
  const committed = (await client.offsetFetch(args.group)).filter((c) => c.offset >= 0);
  if (group.state === 'Dead' && committed.length === 0) {
    throw new KafkaError(69, 'GROUP_ID_NOT_FOUND', `GROUP_ID_NOT_FOUND: group ${args.group} does not exist`);
  }

  // Partitions the group has offsets for, and those assigned to members (which may have none yet).
  const rows = new Map<string, PartitionRow>();
  const row = (topic: string, partition: number): PartitionRow => {
    const key = tpKey(topic, partition);
    let r = rows.get(key);
    if (r === undefined) {
      r = { topic, partition, currentOffset: null, logEndOffset: null, lag: null, memberId: null, clientId: null, host: null };
      rows.set(key, r);
    }
    return r;
  };
  for (const c of committed) row(c.topic, c.partition).currentOffset = c.offset;
  const members = group.members.map((m) => ({
    memberId: m.memberId,
    groupInstanceId: m.groupInstanceId,
    clientId: m.clientId,
    host: m.clientHost,
    subscription: m.subscription?.topics ?? null,
    assignment: m.assignment?.assignedPartitions.filter((tp) => tp.partitions.length > 0) ?? null,
  }));
  for (const m of members) {
    for (const tp of m.assignment ?? []) {
      for (const p of tp.partitions) Object.assign(row(tp.topic, p), { memberId: m.memberId, clientId: m.clientId, host: m.host });
    }
  }
  const partitions = [...rows.values()].sort(byTopicPartition);
  const ends = await logEndOffsets(client, partitions);
  for (const r of partitions) {
    r.logEndOffset = ends.get(tpKey(r.topic, r.partition)) ?? null;
    r.lag = r.logEndOffset !== null && r.currentOffset !== null ? r.logEndOffset - r.currentOffset : null;
  }

  if (ctx.json) {
    ctx.outJson({
      groupId: group.groupId,
      state: group.state,
      protocolType: group.protocolType,
      protocol: group.protocol,
      coordinator: { nodeId: group.coordinator.nodeId, host: group.coordinator.host, port: group.coordinator.port },
      members,
      partitions,
    });
    return;
  }
  const protocol = group.protocolType === '' ? '-' : `${group.protocolType}${group.protocol === '' ? '' : `/${group.protocol}`}`;
  const lines = [
    `Group: ${group.groupId}  State: ${group.state}  Protocol: ${protocol}  Members: ${members.length}  Coordinator: ${group.coordinator.nodeId} (${group.coordinator.host}:${group.coordinator.port})`,
  ];
  const dash = (v: string | number | null): string | number => (v === null || v === '' ? '-' : v);
  const tableRows: (string | number)[][] = partitions.map((r) => [r.topic, r.partition, dash(r.currentOffset), dash(r.logEndOffset), dash(r.lag), dash(r.memberId), dash(r.host), dash(r.clientId)]);
  // Members that own nothing still show, as kafka-consumer-groups does.
  for (const m of members) {
    if ((m.assignment ?? []).length === 0) tableRows.push(['-', '-', '-', '-', '-', m.memberId, dash(m.host), dash(m.clientId)]);
  }
  if (tableRows.length === 0) {
    lines.push('', 'The group has no members and no committed offsets.');
  } else {
    lines.push('', table(['TOPIC', 'PARTITION', 'CURRENT-OFFSET', 'LOG-END-OFFSET', 'LAG', 'CONSUMER-ID', 'HOST', 'CLIENT-ID'], tableRows));
  }
  ctx.out(lines.join('\n'));
}
