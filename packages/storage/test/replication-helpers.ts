/**
 * Test helpers for the replication state: batches with producer fields and explicit offsets/leader epochs, and a
 * simple model that replays batches into the leader-epoch cache and producer state as Kafka defines them.
 */
import { expect } from 'vitest';
import { OFF_BASE_SEQUENCE, OFF_LEADER_EPOCH, OFF_PRODUCER_EPOCH, OFF_PRODUCER_ID, writeBatchCrc, writeInt64 } from '../src/batch-format.ts';
import type { EpochEndOffset, EpochEntry } from '../src/leader-epoch-cache.ts';
import type { PartitionLog } from '../src/partition-log.ts';
import type { ProducerEntry } from '../src/producer-state.ts';
import { makeBatch, readAll } from './helpers.ts';

export interface BatchOpts {
  records?: number;
  baseOffset?: number;
  leaderEpoch?: number;
  producerId?: number;
  producerEpoch?: number;
  baseSequence?: number;
  baseTimestamp?: number;
  valueBytes?: number;
  fill?: number;
}

/** A v2 batch with the given producer fields, base offset and leader epoch, and a valid CRC. */
export function batch(opts: BatchOpts = {}): Buffer {
  const buf = makeBatch({ records: opts.records ?? 1, baseTimestamp: opts.baseTimestamp ?? 1_700_000_000_000, valueBytes: opts.valueBytes ?? 10, fill: opts.fill });
  writeInt64(buf, opts.baseOffset ?? 0, 0);
  buf.writeInt32BE(opts.leaderEpoch ?? -1, OFF_LEADER_EPOCH);
  writeInt64(buf, opts.producerId ?? -1, OFF_PRODUCER_ID);
  buf.writeInt16BE(opts.producerEpoch ?? -1, OFF_PRODUCER_EPOCH);
  buf.writeInt32BE(opts.baseSequence ?? -1, OFF_BASE_SEQUENCE);
  writeBatchCrc(buf, 0);
  return buf;
}

export interface BatchFacts {
  base: number;
  last: number;
  leaderEpoch: number;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  maxTimestamp: number;
}

export function factsOf(b: Buffer): BatchFacts {
  const base = Number(b.readBigInt64BE(0));
  return {
    base,
    last: base + b.readInt32BE(23),
    leaderEpoch: b.readInt32BE(12),
    maxTimestamp: Number(b.readBigInt64BE(35)),
    producerId: Number(b.readBigInt64BE(43)),
    producerEpoch: b.readInt16BE(51),
    baseSequence: b.readInt32BE(53),
  };
}

/** Epoch entries from replaying the batches (Kafka's assign), clipped at the log start. */
export function modelEpochs(batches: readonly BatchFacts[], logStart: number): EpochEntry[] {
  let entries: EpochEntry[] = [];
  for (const b of batches) {
    if (b.leaderEpoch < 0) continue;
    const last = entries.at(-1);
    if (last !== undefined && last.epoch === b.leaderEpoch && b.base >= last.startOffset) continue;
    entries = entries.filter((e) => e.epoch < b.leaderEpoch && e.startOffset < b.base);
    entries.push({ epoch: b.leaderEpoch, startOffset: b.base });
  }
  const below = entries.filter((e) => e.startOffset <= logStart);
  if (below.length === 0) return entries;
  return [{ epoch: below.at(-1)!.epoch, startOffset: logStart }, ...entries.filter((e) => e.startOffset > logStart)];
}

/** OffsetsForLeaderEpoch by brute force over model entries. */
export function modelEndOffset(entries: readonly EpochEntry[], epoch: number, logEnd: number): EpochEndOffset {
  if (epoch === -1 || entries.length === 0) return { epoch: -1, endOffset: -1 };
  if (epoch === entries.at(-1)!.epoch) return { epoch, endOffset: logEnd };
  const next = entries.find((e) => e.epoch > epoch);
  if (next === undefined) return { epoch: -1, endOffset: -1 };
  const floor = entries.filter((e) => e.epoch <= epoch).at(-1);
  return { epoch: floor?.epoch ?? epoch, endOffset: next.startOffset };
}

/** Producer state from replaying the batches: per id the epoch, the last 5 batches and the last timestamp. */
export function modelProducers(batches: readonly BatchFacts[]): ProducerEntry[] {
  const map = new Map<number, ProducerEntry>();
  for (const b of batches) {
    if (b.producerId < 0) continue;
    let e = map.get(b.producerId);
    if (e === undefined) {
      e = { producerId: b.producerId, producerEpoch: b.producerEpoch, batches: [], lastTimestamp: b.maxTimestamp };
      map.set(b.producerId, e);
    }
    if (e.producerEpoch !== b.producerEpoch) {
      e.producerEpoch = b.producerEpoch;
      e.batches = [];
    }
    const delta = b.last - b.base;
    const lastSeq = b.baseSequence < 0 ? -1 : (b.baseSequence + delta) % 0x80000000;
    e.batches.push({ firstSeq: b.baseSequence, lastSeq, lastOffset: b.last, offsetDelta: delta, timestamp: b.maxTimestamp });
    if (e.batches.length > 5) e.batches.shift();
    e.lastTimestamp = b.maxTimestamp;
  }
  return [...map.values()].sort((a, b) => a.producerId - b.producerId);
}

/** The log's epoch cache and producer state equal what replaying its (readable) batches gives. */
export async function expectStateMatchesLog(log: PartitionLog, context = ''): Promise<BatchFacts[]> {
  const facts = (await readAll(log)).map(factsOf);
  expect(log.leaderEpochEntries(), `epochs ${context}`).toEqual(modelEpochs(facts, log.logStartOffset));
  expect(log.producerEntries(), `producers ${context}`).toEqual(modelProducers(facts));
  return facts;
}
