/**
 * Reads lines from stdin and produces each as one record. Lines are grouped into batches (bounded by
 * record count and bytes) so a large input becomes a few record batches, not one request per line.
 */
import readline from 'node:readline';
import type { Compression, ProducerRecord, RecordHeader } from '@tributary/client';
import { UsageError, type CommandContext } from '../context.ts';

export interface ProduceArgs {
  topic: string;
  partition: number;
  keySeparator: string | undefined;
  compression: Compression;
  acks: number;
  headers: Record<string, string>;
  batchSize: number;
  batchBytes: number;
}

export async function produce(ctx: CommandContext, args: ProduceArgs): Promise<void> {
  const client = ctx.client();
  const headers: RecordHeader[] = Object.entries(args.headers).map(([key, value]) => ({ key, value: Buffer.from(value) }));
  let batch: ProducerRecord[] = [];
  let batchBytes = 0;
  let records = 0;
  let batches = 0;
  let firstOffset = -1;
  let lastOffset = -1;

  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    const base = await client.produce(args.topic, args.partition, batch, { acks: args.acks, compression: args.compression });
    if (base >= 0) {
      if (firstOffset < 0) firstOffset = base;
      lastOffset = base + batch.length - 1;
    }
    records += batch.length;
    batches++;
    batch = [];
    batchBytes = 0;
  };

  const lines = readline.createInterface({ input: ctx.io.stdin, crlfDelay: Infinity });
  let lineNumber = 0;
  for await (const line of lines) {
    lineNumber++;
    let key: string | null = null;
    let value = line;
    if (args.keySeparator !== undefined) {
      const at = line.indexOf(args.keySeparator);
      if (at < 0) {
        lines.close();
        throw new UsageError(`line ${lineNumber} has no key separator "${args.keySeparator}"`);
      }
      key = line.slice(0, at);
      value = line.slice(at + args.keySeparator.length);
    }
    batch.push({ key, value, headers });
    batchBytes += value.length + (key?.length ?? 0);
    if (batch.length >= args.batchSize || batchBytes >= args.batchBytes) await flush();
  }
  await flush();

  const summary = { topic: args.topic, partition: args.partition, records, batches, firstOffset, lastOffset };
  if (ctx.json) {
    ctx.outJson(summary);
  } else if (records === 0) {
    ctx.out(`No input: produced nothing to ${args.topic}-${args.partition}.`);
  } else if (firstOffset < 0) {
    ctx.out(`Sent ${records} records in ${batches} batches to ${args.topic}-${args.partition} (acks=0: offsets unknown).`);
  } else {
    ctx.out(`Produced ${records} records in ${batches} batches to ${args.topic}-${args.partition} at offsets ${firstOffset}..${lastOffset}.`);
  }
}
