/**
 * Seeded simulation of a replica's log: leader appends by idempotent producers (checked first with
 * checkProducerBatch: in-order batches, retries, stale epochs, sequences left ahead of a truncated log), follower
 * fetches in newer epochs, refused follower appends (overlaps), truncations, truncateFullyAndStartAt, flushes,
 * clean restarts and power loss with torn writes, against a simple model (the batches). After every step: the log
 * holds the model's bytes, the epoch cache and producer state equal a replay of the model, OffsetsForLeaderEpoch
 * matches brute force, and the idempotence check agrees with the model. `REPLICATION_SIM_SEEDS=n`, `SEED=n`.
 */
import { describe, expect, it } from 'vitest';
import { seededRng, type Rng } from '@tributary/common';
import { lastSequenceOf } from '../src/batch-format.ts';
import { MemoryFileSystem } from '../src/fs/memory-file-system.ts';
import { UnexpectedAppendOffsetError, type PartitionLog } from '../src/partition-log.ts';
import type { ProducerCheck, ProducerEntry } from '../src/producer-state.ts';
import { openLog, readAll } from './helpers.ts';
import { batch, factsOf, modelEndOffset, modelEpochs, modelProducers, type BatchFacts } from './replication-helpers.ts';

const DIR = '/sim/rep-0';

interface ModelBatch {
  bytes: Buffer;
  facts: BatchFacts;
}

/** What Kafka's leader answers for a client batch, from the model's producer entry. */
function expectedCheck(entry: ProducerEntry | undefined, epoch: number, firstSeq: number, lastSeq: number): ProducerCheck['kind'] | string {
  if (entry === undefined) return 'ok';
  if (epoch === entry.producerEpoch && entry.batches.some((b) => b.firstSeq === firstSeq && b.lastSeq === lastSeq)) return 'duplicate';
  if (epoch < entry.producerEpoch) return 'INVALID_PRODUCER_EPOCH';
  if (epoch > entry.producerEpoch) return firstSeq === 0 ? 'ok' : 'SEQUENCE_GAP';
  const last = entry.batches.at(-1)!.lastSeq;
  if (firstSeq === last + 1 || (firstSeq === 0 && last === 0x7fffffff)) return 'ok';
  // Ahead of the next sequence (within half the wrapping space) is a gap; behind it, out of order.
  const distance = (firstSeq - last - 1 + 0x80000000) % 0x80000000;
  return distance < 0x40000000 ? 'SEQUENCE_GAP' : 'OUT_OF_ORDER_SEQUENCE_NUMBER';
}

function kindOf(check: ProducerCheck): string {
  return check.kind === 'error' ? check.error : check.kind;
}

async function checkMatches(log: PartitionLog, model: ModelBatch[], logStart: number, rng: Rng, where: string): Promise<void> {
  expect(log.logStartOffset, where).toBe(logStart);
  const end = model.at(-1) === undefined ? logStart : model.at(-1)!.facts.last + 1;
  expect(log.logEndOffset, where).toBe(end);
  const all = await readAll(log);
  expect(all.length, where).toBe(model.length);
  all.forEach((b, i) => expect(b.equals(model[i]!.bytes), `${where}: batch ${i}`).toBe(true));
  const facts = model.map((m) => m.facts);
  const epochs = modelEpochs(facts, logStart);
  expect(log.leaderEpochEntries(), where).toEqual(epochs);
  expect(log.latestEpoch, where).toBe(epochs.at(-1)?.epoch ?? -1);
  expect(log.producerEntries(), where).toEqual(modelProducers(facts));
  for (let k = 0; k < 3; k++) {
    const epoch = rng.int((epochs.at(-1)?.epoch ?? 0) + 3) - 1;
    expect(log.endOffsetForEpoch(epoch), `${where}: epoch ${epoch}`).toEqual(modelEndOffset(epochs, epoch, end));
  }
}

/** What the seeds exercised (checked to be non-zero, so the simulation cannot silently stop covering a case). */
const seen = new Map<string, number>();
function saw(what: string): void {
  seen.set(what, (seen.get(what) ?? 0) + 1);
}

async function runSeed(seed: number): Promise<void> {
  const rng = seededRng(seed);
  const fs = new MemoryFileSystem({ tornWrites: true, seed });
  const config = { segmentBytes: 400 + rng.int(1500), indexIntervalBytes: rng.int(300) };
  let log = await openLog(fs, DIR, config);
  let model: ModelBatch[] = [];
  let logStart = 0;
  let epoch = 0;
  let durable = 0;
  // What each client believes: its epoch and next sequence, and the last batch it sent (for retries).
  const clients = new Map<number, { epoch: number; seq: number; last: { seq: number; records: number } | null }>();
  const end = (): number => (model.at(-1) === undefined ? logStart : model.at(-1)!.facts.last + 1);
  const push = (bytes: Buffer): void => {
    const copy = Buffer.from(bytes);
    model.push({ bytes: copy, facts: factsOf(copy) });
  };
  for (let step = 0; step < 150; step++) {
    const op = rng.int(100);
    const where = `seed ${seed} step ${step} op ${op}`;
    if (op < 35) {
      // Leader: a client batch, checked first.
      if (rng.int(10) === 0) epoch++;
      const id = rng.int(4);
      const client = clients.get(id) ?? { epoch: 0, seq: 0, last: null };
      clients.set(id, client);
      const mode = rng.int(10);
      let producerEpoch = client.epoch;
      let seq = client.seq;
      let records = 1 + rng.int(3);
      if (mode === 0 && client.last !== null) {
        seq = client.last.seq; // a retry of the last batch
        records = client.last.records;
      } else if (mode === 1 && client.epoch > 0) {
        producerEpoch = client.epoch - 1; // a zombie with the previous epoch
      } else if (mode === 2) {
        seq = rng.int(0x7fffffff); // garbage sequence
      }
      const lastSeq = lastSequenceOf(seq, records - 1);
      const entry = modelProducers(model.map((m) => m.facts)).find((e) => e.producerId === id);
      const check = log.checkProducerBatch(id, producerEpoch, seq, lastSeq);
      expect(kindOf(check), `${where}: check`).toBe(expectedCheck(entry, producerEpoch, seq, lastSeq));
      saw(kindOf(check));
      if (check.kind === 'duplicate') {
        const original = entry!.batches.find((b) => b.firstSeq === seq && b.lastSeq === lastSeq)!;
        expect(check.lastOffset, where).toBe(original.lastOffset);
        expect(check.firstOffset, where).toBe(original.lastOffset - original.offsetDelta);
      } else if (check.kind === 'ok') {
        const b = batch({ records, producerId: id, producerEpoch, baseSequence: seq, valueBytes: rng.int(80), fill: step });
        const r = await log.append(b, { leaderEpoch: epoch, nowMs: step });
        expect(r.firstOffset, where).toBe(end());
        push(b);
        if (producerEpoch === client.epoch) {
          client.seq = lastSequenceOf(seq, records);
          client.last = { seq, records };
        }
      } else if (producerEpoch === client.epoch && mode !== 2) {
        // The log lost this producer's tail (truncation, crash): like a KIP-360 client, bump the epoch and restart.
        client.epoch++;
        client.seq = 0;
        client.last = null;
      }
      durable = Math.max(durable, model.filter((m) => m.facts.last < log.flushedOffset).length);
    } else if (op < 60) {
      // Follower: a fetch of one to three batches, the epoch possibly moving on inside it.
      const parts: Buffer[] = [];
      let next = end();
      for (let i = 1 + rng.int(3); i > 0; i--) {
        if (rng.int(4) === 0) epoch += 1 + rng.int(2);
        const records = 1 + rng.int(3);
        const id = rng.int(6);
        const idempotent = id < 4;
        parts.push(
          batch({
            baseOffset: next,
            leaderEpoch: epoch,
            records,
            producerId: idempotent ? 10 + id : -1,
            producerEpoch: idempotent ? rng.int(2) : -1,
            baseSequence: idempotent ? rng.int(1000) : -1,
            valueBytes: rng.int(80),
            fill: step,
          }),
        );
        next += records;
      }
      const fetched = Buffer.concat(parts);
      await log.appendAsFollower(fetched);
      saw('follower append');
      push(fetched.subarray(0, parts[0]!.length));
      let p = parts[0]!.length;
      for (const part of parts.slice(1)) {
        push(fetched.subarray(p, p + part.length));
        p += part.length;
      }
      durable = Math.max(durable, model.filter((m) => m.facts.last < log.flushedOffset).length);
    } else if (op < 64) {
      // A fetch that overlaps the log is refused and changes nothing (a gap is legal: compacted leader logs have them).
      if (end() > logStart) {
        const at = end() - 1 - rng.int(end() - logStart);
        await expect(log.appendAsFollower(batch({ baseOffset: at, leaderEpoch: epoch })), where).rejects.toBeInstanceOf(UnexpectedAppendOffsetError);
        saw('refused follower append');
      }
    } else if (op < 74) {
      const to = Math.max(logStart, end() - rng.int(15));
      await log.truncateTo(to);
      if (to < end()) {
        saw('truncation');
        model = model.filter((m) => m.facts.last < to);
        durable = Math.min(durable, model.length);
      }
    } else if (op < 76) {
      const to = end() + rng.int(4) - (rng.int(3) === 0 ? Math.min(end(), 3) : 0);
      await log.truncateFullyAndStartAt(to);
      model = [];
      logStart = to;
      durable = 0;
    } else if (op < 84) {
      await log.flush();
      durable = model.length;
    } else if (op < 90) {
      await log.close();
      log = await openLog(fs, DIR, config);
      durable = model.length;
    } else {
      fs.crash();
      saw('crash');
      log = await openLog(fs, DIR, config);
      const survived = await readAll(log);
      expect(survived.length, where).toBeGreaterThanOrEqual(durable);
      expect(survived.length, where).toBeLessThanOrEqual(model.length);
      survived.forEach((b, i) => expect(b.equals(model[i]!.bytes), `${where}: survivor ${i}`).toBe(true));
      if (survived.length < model.length) saw('crash lost batches');
      model = model.slice(0, survived.length);
      durable = model.length;
    }
    await checkMatches(log, model, logStart, rng, where);
  }
  await log.close();
}

describe('seeded replication simulation', () => {
  const only = process.env.SEED;
  const seeds = only !== undefined ? [Number(only)] : Array.from({ length: Number(process.env.REPLICATION_SIM_SEEDS ?? 15) }, (_, i) => i + 1);
  it(`matches the model over ${seeds.length} seeds`, async () => {
    for (const seed of seeds) {
      try {
        await runSeed(seed);
      } catch (err) {
        throw new Error(`seed ${seed}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      }
    }
    if (only === undefined) {
      for (const what of ['ok', 'duplicate', 'SEQUENCE_GAP', 'INVALID_PRODUCER_EPOCH', 'refused follower append', 'follower append', 'truncation', 'crash', 'crash lost batches']) {
        expect(seen.get(what) ?? 0, what).toBeGreaterThan(0);
      }
    }
  }, 120_000);
});
