/**
 * Prints records from one partition (or every partition of the topic), one value per line. Stops after
 * --max-messages, after --timeout-ms with no new record, or on SIGINT.
 */
import { KafkaError, OffsetSpec, type FetchedRecord } from '@tributary/client';
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

export async function consume(ctx: CommandContext, args: ConsumeArgs): Promise<void> {
  const client = ctx.client();
  let partitions: number[];
  if (args.partition !== undefined) {
    partitions = [args.partition];
  } else {
    const md = await client.metadata([args.topic]);
    const t = md.topics.find((x) => x.name === args.topic);
    if (t === undefined || t.errorCode !== 0) {
      const code = t?.errorCode ?? 3;
      const name = t?.errorName ?? 'UNKNOWN_TOPIC_OR_PARTITION';
      throw new KafkaError(code, name, `${name}: topic ${args.topic} (Metadata)`);
    }
    partitions = t.partitions.map((p) => p.partition);
  }

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
  const print = (partition: number, r: FetchedRecord): void => {
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
    if (args.printOffset) line += `${partitions.length > 1 ? `${partition}:` : ''}${r.offset}${args.keySeparator}`;
    if (args.printKey) line += `${text(r.key)}${args.keySeparator}`;
    ctx.out(line + text(r.value));
  };

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
