import { describe, expect, it } from 'vitest';
import { checkHistory, HistoryError, type HistoryOp, type PollOp, type SendOp } from '../src/index.ts';

const T = 't';

function send(value: string, offset: number | undefined, timeMs: number, extra: Partial<SendOp> = {}): SendOp {
  return { type: 'send', process: 'p1', topic: T, partition: 0, key: `k-${value}`, value, ...(offset === undefined ? {} : { offset }), outcome: 'ok', timeMs, latencyMs: 5, ...extra };
}
function poll(value: string, offset: number, timeMs: number, extra: Partial<PollOp> = {}): PollOp {
  return { type: 'poll', process: 'c1', topic: T, partition: 0, offset, value, timeMs, ...extra };
}

/** Ten acked writes at offsets 0..9 and one consumer reading them in order. */
function cleanHistory(): HistoryOp[] {
  const ops: HistoryOp[] = [{ type: 'assign', process: 'c1', partitions: [{ topic: T, partition: 0, offset: 0 }], timeMs: 0 }];
  for (let i = 0; i < 10; i++) ops.push(send(`v${i}`, i, 100 * i + 10));
  for (let i = 0; i < 10; i++) ops.push(poll(`v${i}`, i, 2000 + 10 * i));
  return ops;
}

const ZERO = {
  lostWrites: 0, unseenWrites: 0, ackedNeverRead: 0, duplicates: 0, inconsistentOffsets: 0, nonmonotonicPolls: 0,
  skips: 0, unexpectedValues: 0, failedButRead: 0, unavailabilityWindows: 0,
};

describe('checkHistory', () => {
  it('reports zero everything for a clean history', () => {
    const r = checkHistory(cleanHistory());
    expect(r.valid).toBe(true);
    expect(r.counts).toMatchObject({ ...ZERO, sends: 10, sendsOk: 10, polls: 10, distinctValuesRead: 10 });
    expect(r.lostWrites).toEqual([]);
    expect(r.series.buckets.length).toBe(3);
    expect(r.series.buckets[0]).toMatchObject({ sendsOk: 10, polls: 0, latencyP50Ms: 5, latencyMaxMs: 5 });
    expect(r.series.buckets[2]).toMatchObject({ sendsOk: 0, polls: 10, latencyP50Ms: null });
  });

  it('finds a planted lost write: acked at offset 4, offsets after it were read', () => {
    const h = cleanHistory().filter((op) => !(op.type === 'poll' && op.value === 'v4'));
    const r = checkHistory(h);
    expect(r.valid).toBe(false);
    expect(r.counts).toMatchObject({ ...ZERO, lostWrites: 1, ackedNeverRead: 1, skips: 1 });
    expect(r.lostWrites).toEqual([{ process: 'p1', topic: T, partition: 0, offset: 4, key: 'k-v4', value: 'v4', ackTimeMs: 410, coveredBy: 'offset 9 was read' }]);
    expect(r.skips).toEqual([{ process: 'c1', topic: T, partition: 0, prevOffset: 3, offset: 5, timeMs: 2050, missing: [4], missingCount: 1 }]);
  });

  it('tells a lost write from an unseen one when acks carry no offset', () => {
    const h: HistoryOp[] = [
      send('a', undefined, 10), send('b', undefined, 20), send('c', undefined, 100),
      poll('a', 0, 200), // b missing, c (sent after b's ack) not read either: b and c are unseen
    ];
    let r = checkHistory(h);
    expect(r.counts).toMatchObject({ lostWrites: 0, unseenWrites: 2, ackedNeverRead: 2 });
    expect(r.valid).toBe(true);
    r = checkHistory([...h, poll('c', 1, 210)]); // c was invoked after b was acked, and c was read: b is lost
    expect(r.counts).toMatchObject({ lostWrites: 1, unseenWrites: 0 });
    expect(r.lostWrites[0]).toMatchObject({ value: 'b', offset: null, coveredBy: 'a value sent after this ack was read' });
    r = checkHistory(h, { drained: true });
    expect(r.counts).toMatchObject({ lostWrites: 2, unseenWrites: 0 });
    r = checkHistory([...h, { type: 'drained', topic: T, partition: 0, endOffset: 1, timeMs: 300 }]);
    expect(r.lostWrites.map((w) => w.value)).toEqual(['b', 'c']);
  });

  it('finds a planted duplicate: one value at two offsets', () => {
    const h = cleanHistory();
    h.push(send('v10', 10, 1000), poll('v10', 10, 2100), poll('v3', 11, 2110));
    const r = checkHistory(h);
    expect(r.counts).toMatchObject({ ...ZERO, duplicates: 1 });
    expect(r.duplicates).toEqual([{
      value: 'v3',
      positions: [
        { topic: T, partition: 0, offset: 3, sources: ['ack p1', 'poll c1'] },
        { topic: T, partition: 0, offset: 11, sources: ['poll c1'] },
      ],
    }]);
  });

  it('finds a planted inconsistent offset: a read disagrees with the ack', () => {
    const h = cleanHistory().map((op) => (op.type === 'poll' && op.value === 'v6' ? { ...op, value: 'v7', process: 'c2' } : op));
    // c2 read v7 at offset 6; c1 still reads v7 at 7. v6 is never read but 7 was: lost too; v7 sits at two offsets.
    const r = checkHistory(h);
    expect(r.counts.inconsistentOffsets).toBe(1);
    expect(r.inconsistentOffsets).toEqual([{ topic: T, partition: 0, offset: 6, values: [{ value: 'v6', sources: ['ack p1'] }, { value: 'v7', sources: ['poll c2'] }] }]);
    expect(r.counts).toMatchObject({ duplicates: 1, lostWrites: 1 });
  });

  it('finds two values at one offset across reads alone', () => {
    const h: HistoryOp[] = [send('a', undefined, 1), send('b', undefined, 2), poll('a', 0, 10), poll('b', 0, 11, { process: 'c2' })];
    const r = checkHistory(h);
    expect(r.counts).toMatchObject({ inconsistentOffsets: 1, duplicates: 0 });
    expect(r.inconsistentOffsets[0]!.values).toEqual([{ value: 'a', sources: ['poll c1'] }, { value: 'b', sources: ['poll c2'] }]);
  });

  it('finds a planted backwards poll within a session, and forgives it after a new session', () => {
    const h = cleanHistory();
    h.push(poll('v5', 5, 2200));
    let r = checkHistory(h);
    expect(r.counts).toMatchObject({ ...ZERO, nonmonotonicPolls: 1 });
    expect(r.nonmonotonicPolls).toEqual([{ process: 'c1', topic: T, partition: 0, prevOffset: 9, offset: 5, timeMs: 2200 }]);
    for (const reset of ['crash', 'restart'] as const) {
      r = checkHistory([...cleanHistory(), { type: reset, process: 'c1', timeMs: 2150 }, poll('v5', 5, 2200)]);
      expect(r.counts).toMatchObject(ZERO);
    }
    r = checkHistory([...cleanHistory(), { type: 'subscribe', process: 'c1', topics: [T], timeMs: 2150 }, poll('v5', 5, 2200)]);
    expect(r.counts).toMatchObject(ZERO);
    // A re-read of the same offset is nonmonotonic too.
    r = checkHistory([...cleanHistory(), poll('v9', 9, 2200)]);
    expect(r.counts.nonmonotonicPolls).toBe(1);
  });

  it('finds a planted skip, counting every known record jumped over', () => {
    const h = cleanHistory().filter((op) => !(op.type === 'poll' && op.offset >= 2 && op.offset <= 6));
    const r = checkHistory(h);
    expect(r.counts).toMatchObject({ skips: 1, lostWrites: 5, nonmonotonicPolls: 0 });
    expect(r.skips[0]).toMatchObject({ prevOffset: 1, offset: 7, missing: [2, 3, 4, 5, 6], missingCount: 5 });
  });

  it('detects a skip right after a seek, and not for the first read without one', () => {
    const h = cleanHistory().filter((op) => !(op.type === 'poll' && op.offset === 0));
    expect(checkHistory(h).counts.skips).toBe(1);
    const noSeek = h.map((op) => (op.type === 'assign' ? { ...op, partitions: [{ topic: T, partition: 0 }] } : op));
    expect(checkHistory(noSeek).counts).toMatchObject({ skips: 0, lostWrites: 1 });
  });

  it('does not call a gap a skip when nothing is known there (transaction markers, failed sends)', () => {
    const h: HistoryOp[] = [send('a', 0, 1), send('b', 5, 2), poll('a', 0, 10), poll('b', 5, 11)];
    expect(checkHistory(h).counts).toMatchObject(ZERO);
  });

  it('explains gaps and unread writes by the log start and by compaction', () => {
    const h = cleanHistory().filter((op) => !(op.type === 'poll' && op.offset >= 1 && op.offset <= 3));
    h.splice(11, 0, { type: 'log-start', topic: T, partition: 0, offset: 4, timeMs: 1500 });
    let r = checkHistory(h);
    expect(r.counts).toMatchObject({ ...ZERO, explainedUnread: 3 });
    // Compaction: v2 and v3 share a key with v8 and v9.
    const c = cleanHistory()
      .map((op) => (op.type === 'send' && (op.value === 'v2' || op.value === 'v8') ? { ...op, key: 'same' } : op))
      .filter((op) => !(op.type === 'poll' && op.offset === 2));
    r = checkHistory(c);
    expect(r.counts).toMatchObject({ skips: 1, lostWrites: 1 });
    r = checkHistory(c, { compactedTopics: [T] });
    expect(r.counts).toMatchObject({ ...ZERO, explainedUnread: 1 });
  });

  it('reports values read but never sent, and definite failures that were read', () => {
    const h = cleanHistory();
    h.push(send('f', undefined, 1000, { outcome: 'fail' }), send('i', undefined, 1001, { outcome: 'info' }));
    h.push(poll('f', 10, 2200), poll('i', 11, 2210), poll('ghost', 12, 2220));
    const r = checkHistory(h);
    expect(r.counts).toMatchObject({ ...ZERO, failedButRead: 1, unexpectedValues: 1, sendsFail: 1, sendsInfo: 1 });
    expect(r.failedButRead[0]).toMatchObject({ value: 'f', offset: 10 });
    expect(r.unexpectedValues[0]).toMatchObject({ value: 'ghost', offset: 12 });
    expect(r.valid).toBe(false);
  });

  it('finds unavailability windows longer than the threshold, and fault windows', () => {
    const h: HistoryOp[] = [
      send('a', 0, 1000),
      { type: 'nemesis', fault: 'kill', phase: 'start', detail: 'n1', timeMs: 1500 },
      send('b', undefined, 3000, { outcome: 'info' }),
      send('c', undefined, 7000, { outcome: 'fail' }),
      { type: 'nemesis', fault: 'kill', phase: 'stop', timeMs: 8000 },
      send('d', 1, 9000),
      send('e', 2, 9500),
      { type: 'nemesis', fault: 'partition', phase: 'start', timeMs: 9600 },
    ];
    const r = checkHistory(h, { unavailabilityThresholdMs: 5000 });
    expect(r.unavailability).toEqual([{ startMs: 1000, endMs: 9000, durationMs: 8000 }]);
    expect(r.faults).toEqual([
      { fault: 'kill', detail: 'n1', startMs: 1500, endMs: 8000, durationMs: 6500, open: false },
      { fault: 'partition', detail: null, startMs: 9600, endMs: 9600, durationMs: 0, open: true },
    ]);
    expect(checkHistory(h, { unavailabilityThresholdMs: 10_000 }).unavailability).toEqual([]);
  });

  it('caps example lists but keeps exact counts', () => {
    const h: HistoryOp[] = [];
    for (let i = 0; i < 50; i++) h.push(send(`v${i}`, i, i));
    h.push(poll('v49', 49, 100, { process: 'c1' }));
    const r = checkHistory(h, { maxExamples: 3 });
    expect(r.counts.lostWrites).toBe(49);
    expect(r.lostWrites.length).toBe(3);
  });

  it('rejects malformed histories with the op index', () => {
    expect(() => checkHistory([send('a', 0, 1), send('a', 1, 2)])).toThrow(/history\[1\].*already sent/);
    expect(() => checkHistory([{ type: 'bogus', timeMs: 1 } as unknown as HistoryOp])).toThrow(HistoryError);
    expect(() => checkHistory([poll('a', -1, 1)])).toThrow(/history\[0\] \(poll\): offset must be an integer >= 0/);
    expect(() => checkHistory([send('a', 0, Number.NaN)])).toThrow(/timeMs/);
    expect(() => checkHistory([send('a', 0, 0), send('b', 0, 1e12)], { bucketMs: 1 })).toThrow(/buckets/);
  });

  it('handles an empty history', () => {
    const r = checkHistory([]);
    expect(r.valid).toBe(true);
    expect(r.series.buckets).toEqual([]);
  });
});
