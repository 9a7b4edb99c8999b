import { seededRng, type Rng } from '@tributary/common';
import { describe, expect, it } from 'vitest';
import { checkHistory, type HistoryOp, type PollOp } from '../src/index.ts';

const PARTITIONS = 3;
const TOPIC = 'orders';

/**
 * A correct system, simulated: sends append to per-partition logs (acked ones always, unknown ones
 * sometimes, failed ones never); consumers seek and read forward, crash and restart; at the end one
 * consumer drains every partition from offset 0.
 */
function randomCleanHistory(rng: Rng): HistoryOp[] {
  const logs: string[][] = Array.from({ length: PARTITIONS }, () => []);
  const ops: HistoryOp[] = [];
  let nowMs = 0;
  let nextValue = 0;
  const consumers = ['c1', 'c2'];
  const position = new Map<string, { partition: number; offset: number }>();
  const steps = 50 + rng.int(300);
  for (let step = 0; step < steps; step++) {
    nowMs += 1 + rng.int(40);
    const roll = rng.int(10);
    if (roll < 6) {
      const partition = rng.int(PARTITIONS);
      const value = `v${nextValue++}`;
      const o = rng.int(10);
      const outcome = o < 7 ? 'ok' : o < 9 ? 'info' : 'fail';
      const written = outcome === 'ok' || (outcome === 'info' && rng.int(2) === 0);
      const offset = logs[partition]!.length;
      if (written) logs[partition]!.push(value);
      const withOffset = outcome === 'ok' && rng.int(2) === 0;
      ops.push({ type: 'send', process: `p${rng.int(3)}`, topic: TOPIC, partition, key: `k${rng.int(20)}`, value, ...(withOffset ? { offset } : {}), outcome, timeMs: nowMs, latencyMs: rng.int(nowMs > 50 ? 50 : nowMs) });
    } else if (roll < 9) {
      const c = consumers[rng.int(consumers.length)]!;
      let pos = position.get(c);
      if (!pos || rng.int(8) === 0) {
        const partition = rng.int(PARTITIONS);
        pos = { partition, offset: rng.int(logs[partition]!.length + 1) };
        position.set(c, pos);
        ops.push({ type: 'assign', process: c, partitions: [{ topic: TOPIC, partition, offset: pos.offset }], timeMs: nowMs });
      }
      const log = logs[pos.partition]!;
      const n = rng.int(5);
      for (let i = 0; i < n && pos.offset < log.length; i++, pos.offset++) {
        ops.push({ type: 'poll', process: c, topic: TOPIC, partition: pos.partition, offset: pos.offset, value: log[pos.offset]!, timeMs: nowMs });
      }
    } else {
      const c = consumers[rng.int(consumers.length)]!;
      position.delete(c);
      ops.push({ type: rng.int(2) === 0 ? 'crash' : 'restart', process: c, timeMs: nowMs });
    }
  }
  nowMs += 100;
  for (let partition = 0; partition < PARTITIONS; partition++) {
    ops.push({ type: 'assign', process: 'drain', partitions: [{ topic: TOPIC, partition, offset: 0 }], timeMs: nowMs });
    logs[partition]!.forEach((value, offset) => ops.push({ type: 'poll', process: 'drain', topic: TOPIC, partition, offset, value, timeMs: nowMs }));
    ops.push({ type: 'drained', topic: TOPIC, partition, endOffset: logs[partition]!.length, timeMs: nowMs });
  }
  return ops;
}

const ANOMALIES = ['lostWrites', 'duplicates', 'inconsistentOffsets', 'nonmonotonicPolls', 'skips', 'unexpectedValues', 'failedButRead'] as const;

describe('checkHistory on seeded random histories', () => {
  it('a correct system yields zero anomalies; one planted anomaly is found, and only it', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const rng = seededRng(seed);
      const clean = randomCleanHistory(rng);
      const r = checkHistory(clean);
      for (const a of ANOMALIES) expect(r.counts[a], `seed ${seed}: ${a}`).toBe(0);
      expect(r.counts.ackedNeverRead, `seed ${seed}`).toBe(0);
      expect(r.valid).toBe(true);

      const drainPolls = clean.map((op, i) => [op, i] as const).filter(([op]) => op.type === 'poll' && op.process === 'drain') as [PollOp, number][];
      if (drainPolls.length < 2) continue;
      const [victim] = drainPolls[rng.int(drainPolls.length)]!;
      const acked = clean.some((op) => op.type === 'send' && op.value === victim.value && op.outcome === 'ok');

      // Lost write: every read of one value disappears.
      const lost = checkHistory(clean.filter((op) => !(op.type === 'poll' && op.value === victim.value)));
      expect(lost.counts.lostWrites, `seed ${seed}`).toBe(acked ? 1 : 0);
      if (acked) expect(lost.lostWrites[0]!.value).toBe(victim.value);
      // The drain session jumps over it only where the gap is known: the ack reported its offset and it was not last.
      const ackedAt = clean.some((op) => op.type === 'send' && op.value === victim.value && op.outcome === 'ok' && op.offset === victim.offset);
      const last = drainPolls.filter(([p]) => p.partition === victim.partition).at(-1)![0];
      expect(lost.skips.filter((k) => k.process === 'drain').length, `seed ${seed}`).toBe(ackedAt && last.offset > victim.offset ? 1 : 0);
      for (const k of lost.skips) expect(k.missing).toEqual([victim.offset]);
      if (!ackedAt) expect(lost.counts.skips).toBe(0);
      expect(lost.counts.duplicates + lost.counts.inconsistentOffsets + lost.counts.nonmonotonicPolls).toBe(0);

      // Duplicate: the victim is read again at a fresh offset past the end.
      const dup = checkHistory([...clean, { ...victim, process: 'late', offset: 1_000_000 }]);
      expect(dup.counts.duplicates, `seed ${seed}`).toBe(1);
      expect(dup.duplicates[0]!.value).toBe(victim.value);
      expect(dup.counts.inconsistentOffsets + dup.counts.lostWrites + dup.counts.skips).toBe(0);

      // Inconsistent offset: another consumer reads a never-read-elsewhere value at the victim's offset.
      const inc = checkHistory([...clean, { ...victim, process: 'late', value: `ghost-${seed}` }]);
      expect(inc.counts.inconsistentOffsets, `seed ${seed}`).toBe(1);
      expect(inc.counts.unexpectedValues).toBe(1);

      // Backwards: the drain session re-reads its first record at the very end.
      const first = drainPolls.find(([p]) => p.partition === victim.partition)![0];
      const back = checkHistory([...clean.filter((op) => op.type !== 'drained' || op.partition !== victim.partition), first]);
      expect(back.counts.nonmonotonicPolls, `seed ${seed}`).toBe(first.partition === drainPolls.at(-1)![0].partition ? 1 : 0);
    }
  });

  it('is deterministic: the same history gives the same report', () => {
    const h = randomCleanHistory(seededRng(7));
    expect(JSON.stringify(checkHistory(h))).toBe(JSON.stringify(checkHistory(h)));
  });
});
