/**
 * Prints records from one partition (or every partition of the topic), one value per line. Stops after
 * --max-messages, after --timeout-ms with no new record, or on SIGINT. With --group it consumes as a
 * member of a consumer group instead: partitions come from the group's assignment, reading starts at
 * the group's committed offsets, and the offsets of printed records are committed after each batch.
 */
import { GroupConsumer, KafkaError, OffsetSpec, type FetchedRecord, type KafkaClient } from '@tributary/client';
import type { CommandContext } from '../context.ts';

export type StartAt = { kind: 'earliest' } | { kind: 'latest' } | { kind: 'offset'; offset: number };

export interface ConsumeArgs {
  topic: string;
  partition: number | undefined;
  start: StartAt;
  maxMessages: number | undefined;
  timeoutMs: number | undefined;
  printKey: boolean;
  printOffset: boolean;
  keySeparator: string;
  maxBytes: number;
}

function text(b: Buffer | null): string {
  return b === null ? 'null' : b.toString('utf8');
}

async function topicPartitions(client: KafkaClient, topic: string): Promise<number[]> {
  const md = await client.metadata([topic]);
  const t = md.topics.find((x) => x.name === topic);
  if (t === undefined || t.errorCode !== 0) {
    const code = t?.errorCode ?? 3;
    const name = t?.errorName ?? 'UNKNOWN_TOPIC_OR_PARTITION';
    throw new KafkaError(code, name, `${name}: topic ${topic} (Metadata)`);
  }
  return t.partitions.map((p) => p.partition);
}

/** Prints one record as the options ask; `multiPartition` adds the partition to a printed offset. */
function printer(ctx: CommandContext, args: Pick<ConsumeArgs, 'printKey' | 'printOffset' | 'keySeparator'>, multiPartition: boolean): (partition: number, r: FetchedRecord) => void {
  return (partition, r) => {
    if (ctx.json) {
      ctx.outJson({
        partition,
        offset: r.offset,
        timestamp: r.timestamp,
        key: r.key === null ? null : r.key.toString('utf8'),
        value: r.value === null ? null : r.value.toString('utf8'),
        headers: Object.fromEntries(r.headers.map((h) => [h.key, h.value === null ? null : h.value.toString('utf8')])),
      });
      return;
    }
    let line = '';
    if (args.printOffset) line += `${multiPartition ? `${partition}:` : ''}${r.offset}${args.keySeparator}`;
    if (args.printKey) line += `${text(r.key)}${args.keySeparator}`;
    ctx.out(line + text(r.value));
  };
}

export async function consume(ctx: CommandContext, args: ConsumeArgs): Promise<void> {
  const client = ctx.client();
  const partitions = args.partition !== undefined ? [args.partition] : await topicPartitions(client, args.topic);

  const next = new Map<number, number>();
  for (const p of partitions) {
    if (args.start.kind === 'offset') next.set(p, args.start.offset);
    else {
      const spec = args.start.kind === 'earliest' ? OffsetSpec.Earliest : OffsetSpec.Latest;
      next.set(p, (await client.listOffsets(args.topic, p, spec)).offset);
    }
  }

  let printed = 0;
  let idleSinceMs = Date.now();
  const remaining = (): number => (args.maxMessages === undefined ? Infinity : args.maxMessages - printed);
  const print = printer(ctx, args, partitions.length > 1);

  // Each round fetches every partition once; it ends on the message budget, the idle timeout or SIGINT.
  while (remaining() > 0 && !ctx.signal.aborted) {
    let gotAny = false;
    for (const p of partitions) {
      if (remaining() <= 0 || ctx.signal.aborted) break;
      const idleLeftMs = args.timeoutMs === undefined ? Infinity : args.timeoutMs - (Date.now() - idleSinceMs);
      if (idleLeftMs <= 0) return;
      const maxWaitMs = Math.max(0, Math.min(partitions.length > 1 ? 100 : 500, idleLeftMs));
      const result = await client.fetch(args.topic, p, next.get(p) as number, { maxWaitMs, maxBytes: args.maxBytes });
      for (const r of result.records) {
        if (remaining() <= 0) break;
        print(p, r);
        printed++;
        next.set(p, r.offset + 1);
      }
      if (result.records.length > 0) gotAny = true;
    }
    if (gotAny) idleSinceMs = Date.now();
    else if (args.timeoutMs !== undefined && Date.now() - idleSinceMs >= args.timeoutMs) return;
    // A broker that answers an empty fetch at once must not turn this loop into a busy spin.
    else await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export interface GroupConsumeArgs extends Omit<ConsumeArgs, 'partition' | 'start'> {
  group: string;
  /** Where partitions without a committed offset start (auto.offset.reset). */
  reset: 'earliest' | 'latest';
}

/**
 * Consumes as a group member. After each batch is printed, the offsets of the printed records are
 * committed, so the next run (or another member after a rebalance) resumes right after them. On exit
 * (budget, idle timeout, SIGINT) the member leaves the group, so the others rebalance at once.
 */
export async function consumeGroup(ctx: CommandContext, args: GroupConsumeArgs): Promise<void> {
  // Fail early, and with the usual message, for a topic that does not exist.
  const partitions = await topicPartitions(ctx.client(), args.topic);
  const print = printer(ctx, args, partitions.length > 1);
  const consumer = new GroupConsumer(ctx.clientOptions(), {
    groupId: args.group,
    topics: [args.topic],
    autoOffsetReset: args.reset,
    maxBytesPerPartition: args.maxBytes,
  });
  let printed = 0;
  let idleSinceMs = Date.now();
  const remaining = (): number => (args.maxMessages === undefined ? Infinity : args.maxMessages - printed);
  try {
    while (remaining() > 0 && !ctx.signal.aborted) {
      const idleLeftMs = args.timeoutMs === undefined ? Infinity : args.timeoutMs - (Date.now() - idleSinceMs);
      if (idleLeftMs <= 0) return;
      const batches = await consumer.poll({ maxWaitMs: Math.max(0, Math.min(500, idleLeftMs)), signal: ctx.signal });
      // Commit every assigned partition's position, except that a batch cut short by --max-messages
      // commits only up to its last printed record. Unchanged offsets cost nothing (see commit()).
      const next = new Map(consumer.positions().map((p) => [p.partition, p.offset]));
      for (const batch of batches) {
        let nextOffset = batch.fetchOffset;
        for (const r of batch.records) {
          if (remaining() <= 0) break;
          print(batch.partition, r);
          printed++;
          nextOffset = r.offset + 1;
        }
        next.set(batch.partition, nextOffset);
      }
      if (batches.length > 0) idleSinceMs = Date.now();
      if (next.size > 0) {
        const committed = await consumer.commit([...next.entries()].map(([partition, offset]) => ({ topic: args.topic, partition, offset })));
        if (!committed) {
          // A rebalance took the partitions away first: whoever owns them now reads those records again.
          ctx.io.stderr.write(`trib: warning: group ${args.group} rebalanced before the offsets of the printed records were committed; they will be delivered again\n`);
        }
      }
    }
  } finally {
    await consumer.close();
  }
}
