import { describe, expect, it } from 'vitest';
import { lastSequenceOf } from '../src/batch-format.ts';
import { ProducerStateManager, PRODUCER_BATCHES_RETAINED, type ProducerBatch } from '../src/producer-state.ts';

const T = 1_700_000_000_000;

function pb(producerId: number, producerEpoch: number, baseSequence: number, baseOffset: number, records = 1, maxTimestamp = T): ProducerBatch {
  return { producerId, producerEpoch, baseSequence, baseOffset, lastOffsetDelta: records - 1, maxTimestamp };
}

describe('ProducerStateManager.check', () => {
  it('accepts any sequence from an unknown producer id (KIP-360), then requires lastSeq + 1', () => {
    const s = new ProducerStateManager(10);
    expect(s.check(7, 0, 42, 44)).toEqual({ kind: 'ok' });
    s.update(pb(7, 0, 42, 100, 3));
    expect(s.check(7, 0, 45, 45)).toEqual({ kind: 'ok' });
    const gap = s.check(7, 0, 46, 46);
    expect(gap.kind === 'error' && gap.error).toBe('SEQUENCE_GAP');
    const behind = s.check(7, 0, 40, 41);
    expect(behind.kind === 'error' && behind.error).toBe('OUT_OF_ORDER_SEQUENCE_NUMBER');
  });

  it('reports a retained batch as a duplicate with its original offsets', () => {
    const s = new ProducerStateManager(10);
    let offset = 0;
    let seq = 0;
    for (let i = 0; i < 7; i++) {
      s.update(pb(1, 3, seq, offset, 2, T + i));
      offset += 2;
      seq += 2;
    }
    expect(s.entry(1)!.batches).toHaveLength(PRODUCER_BATCHES_RETAINED);
    // Batches 2..6 are retained: (seq 4-5 at offsets 4-5) ... (seq 12-13 at 12-13).
    expect(s.check(1, 3, 4, 5)).toEqual({ kind: 'duplicate', firstOffset: 4, lastOffset: 5, timestamp: T + 2 });
    expect(s.check(1, 3, 12, 13)).toEqual({ kind: 'duplicate', firstOffset: 12, lastOffset: 13, timestamp: T + 6 });
    // Older than the retained window: out of order, as in Kafka.
    const old = s.check(1, 3, 2, 3);
    expect(old.kind === 'error' && old.error).toBe('OUT_OF_ORDER_SEQUENCE_NUMBER');
    // A partial overlap is not a duplicate.
    const partial = s.check(1, 3, 12, 12);
    expect(partial.kind === 'error' && partial.error).toBe('OUT_OF_ORDER_SEQUENCE_NUMBER');
    expect(s.check(1, 3, 14, 20)).toEqual({ kind: 'ok' });
  });

  it('fences a lower epoch and requires sequence 0 after an epoch bump', () => {
    const s = new ProducerStateManager(10);
    s.update(pb(5, 2, 0, 0, 3));
    const fenced = s.check(5, 1, 3, 3);
    expect(fenced.kind === 'error' && fenced.error).toBe('INVALID_PRODUCER_EPOCH');
    // Even a retained batch's sequence range under an older epoch is fenced, not a duplicate.
    const fencedDup = s.check(5, 1, 0, 2);
    expect(fencedDup.kind === 'error' && fencedDup.error).toBe('INVALID_PRODUCER_EPOCH');
    // A later batch of the new epoch before its first one: a gap (retriable), not out of order.
    const bumpedMid = s.check(5, 3, 3, 3);
    expect(bumpedMid.kind === 'error' && bumpedMid.error).toBe('SEQUENCE_GAP');
    expect(s.check(5, 3, 0, 0)).toEqual({ kind: 'ok' });
    s.update(pb(5, 3, 0, 3));
    expect(s.entry(5)).toMatchObject({ producerEpoch: 3, batches: [{ firstSeq: 0, lastSeq: 0, lastOffset: 3 }] });
    // The old epoch's batch is no longer a duplicate candidate.
    const stale = s.check(5, 2, 0, 2);
    expect(stale.kind === 'error' && stale.error).toBe('INVALID_PRODUCER_EPOCH');
  });

  it('wraps sequences at 2^31-1', () => {
    const max = 0x7fffffff;
    expect(lastSequenceOf(max - 1, 3)).toBe(1);
    expect(lastSequenceOf(max, 0)).toBe(max);
    expect(lastSequenceOf(-1, 5)).toBe(-1);
    const s = new ProducerStateManager(10);
    s.update(pb(9, 0, max - 2, 0, 3)); // seqs max-2 .. max
    expect(s.entry(9)!.batches[0]!.lastSeq).toBe(max);
    expect(s.check(9, 0, 0, 1)).toEqual({ kind: 'ok' });
    s.update(pb(9, 0, max - 0, 3, 3)); // hypothetical: seq max, 0, 1
    expect(s.entry(9)!.batches[1]).toMatchObject({ firstSeq: max, lastSeq: 1, lastOffset: 5, offsetDelta: 2 });
    expect(s.check(9, 0, max, 1)).toEqual({ kind: 'duplicate', firstOffset: 3, lastOffset: 5, timestamp: T });
    expect(s.check(9, 0, 2, 2)).toEqual({ kind: 'ok' });
    // Across the wrap: ahead of the next sequence (2) is a gap, behind it is out of order.
    const ahead = s.check(9, 0, 4, 4);
    expect(ahead.kind === 'error' && ahead.error).toBe('SEQUENCE_GAP');
    const behind = s.check(9, 0, max - 5, max - 5);
    expect(behind.kind === 'error' && behind.error).toBe('OUT_OF_ORDER_SEQUENCE_NUMBER');
  });

  it('is bounded: check refuses a new id past the maximum, update evicts the idlest', () => {
    const s = new ProducerStateManager(3);
    s.update(pb(1, 0, 0, 0, 1, T + 5));
    s.update(pb(2, 0, 0, 1, 1, T + 1));
    s.update(pb(3, 0, 0, 2, 1, T + 9));
    const full = s.check(4, 0, 0, 0);
    expect(full.kind === 'error' && full.error).toBe('TOO_MANY_PRODUCERS');
    expect(s.check(1, 0, 1, 1)).toEqual({ kind: 'ok' });
    expect(s.update(pb(4, 0, 0, 3, 1, T + 10))).toBe(2);
    expect(s.entries().map((e) => e.producerId)).toEqual([1, 3, 4]);
  });

  it('expires producers idle for producerIdExpirationMs', () => {
    const s = new ProducerStateManager(10);
    s.update(pb(1, 0, 0, 0, 1, T));
    s.update(pb(2, 0, 0, 1, 1, T + 500));
    expect(s.removeExpired(T + 999, 1000)).toBe(0);
    expect(s.removeExpired(T + 1000, 1000)).toBe(1);
    expect(s.entries().map((e) => e.producerId)).toEqual([2]);
  });

  it('snapshots round-trip; every truncation or bit flip is refused', () => {
    const s = new ProducerStateManager(100);
    for (let id = 0; id < 4; id++) for (let i = 0; i < id + 4; i++) s.update(pb(1000 + id, id, i * 2, 10 * id + i, 2, T + i));
    const snap = s.encodeSnapshot(77);
    const decoded = ProducerStateManager.decodeSnapshot(snap, 77);
    expect(decoded).toEqual(s.entries().sort((a, b) => a.producerId - b.producerId));
    const other = new ProducerStateManager(100);
    other.load(decoded!);
    expect(other.entries()).toEqual(s.entries());
    expect(ProducerStateManager.decodeSnapshot(snap, 78)).toBeNull();
    for (let cut = 0; cut < snap.length; cut++) expect(ProducerStateManager.decodeSnapshot(snap.subarray(0, cut), 77)).toBeNull();
    for (let i = 0; i < snap.length; i++) {
      const flipped = Buffer.from(snap);
      flipped[i]! ^= 0x10;
      expect(ProducerStateManager.decodeSnapshot(flipped, 77), `flip at ${i}`).toBeNull();
    }
    expect(ProducerStateManager.decodeSnapshot(new ProducerStateManager(1).encodeSnapshot(0), 0)).toEqual([]);
  });
});
