/**
 * Plans new committed offsets for a group and, with --execute, commits them. Like Kafka's tool, it
 * refuses to execute while the group has members: they would keep committing their own positions.
 */
import { OffsetSpec } from '@tributary/client';
import type { TopicPartitionsArg } from '../args.ts';
import type { CommandContext } from '../context.ts';
import { table } from '../format.ts';
import { offsetsAt, resolveTopicArgs, tpKey } from '../groups.ts';

export type ResetSpec =
  | { kind: 'earliest' }
  | { kind: 'latest' }
  | { kind: 'offset'; offset: number }
  | { kind: 'datetime'; timestampMs: number }
  | { kind: 'shift'; by: number };

export interface ResetOffsetsArgs {
  group: string;
  topics: TopicPartitionsArg[];
  spec: ResetSpec;
  execute: boolean;
}

const INACTIVE_STATES: ReadonlySet<string> = new Set(['Empty', 'Dead']);

export async function groupResetOffsets(ctx: CommandContext, args: ResetOffsetsArgs): Promise<void> {
  const client = ctx.client();
  const [group] = await client.describeGroups([args.group]);
  if (group === undefined) throw new Error(`DescribeGroups returned nothing for group ${args.group}`);
  const active = !INACTIVE_STATES.has(group.state);
  const activeNote = `group ${args.group} has ${group.members.length} active member${group.members.length === 1 ? '' : 's'} (state ${group.state})`;
  if (args.execute && active) {
    throw new Error(`cannot reset offsets: ${activeNote}; offsets can be reset only while a group is inactive, so stop its consumers first`);
  }

  const partitions = await resolveTopicArgs(ctx.client(), args.topics);
  const committed = new Map(
    (await client.offsetFetch(args.group, partitions.map((p) => ({ topic: p.topic, partitions: [p.partition] })))).map((c) => [tpKey(c.topic, c.partition), c.offset]),
  );
  const earliest = await offsetsAt(client, partitions, OffsetSpec.Earliest);
  const latest = await offsetsAt(client, partitions, OffsetSpec.Latest);
  const atTime = args.spec.kind === 'datetime' ? await offsetsAt(client, partitions, args.spec.timestampMs) : [];

  const plan = partitions.map((p, i) => {
    const current = committed.get(tpKey(p.topic, p.partition)) ?? -1;
    const lo = earliest[i] as number;
    const hi = latest[i] as number;
    // Targets outside the log are moved to its nearest end, as Kafka's tool does.
    const clamp = (o: number): number => Math.min(Math.max(o, lo), hi);
    let next: number;
    switch (args.spec.kind) {
      case 'earliest':
        next = lo;
        break;
      case 'latest':
        next = hi;
        break;
      case 'offset':
        next = clamp(args.spec.offset);
        break;
      case 'datetime': {
        // No record at or after the time: the end of the log.
        const o = atTime[i] as number;
        next = o < 0 ? hi : clamp(o);
        break;
      }
      case 'shift':
        if (current < 0) throw new Error(`cannot shift ${p.topic}-${p.partition}: group ${args.group} has no committed offset for it`);
        next = clamp(current + args.spec.by);
        break;
    }
    return { topic: p.topic, partition: p.partition, currentOffset: current < 0 ? null : current, newOffset: next };
  });

  if (args.execute) await client.offsetCommit(args.group, plan.map((p) => ({ topic: p.topic, partition: p.partition, offset: p.newOffset })));

  if (ctx.json) {
    ctx.outJson({ groupId: args.group, executed: args.execute, partitions: plan });
    return;
  }
  const lines = [args.execute ? `Reset offsets of group ${args.group}:` : `Dry run: offsets of group ${args.group} would be reset as follows (nothing changed; add --execute to apply):`];
  if (!args.execute && active) lines.push(`Note: ${activeNote}; --execute would be refused.`);
  lines.push(table(['TOPIC', 'PARTITION', 'CURRENT-OFFSET', 'NEW-OFFSET'], plan.map((p) => [p.topic, p.partition, p.currentOffset ?? '-', p.newOffset])));
  ctx.out(lines.join('\n'));
}
