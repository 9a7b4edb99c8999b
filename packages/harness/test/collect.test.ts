// collectHistory: a run's sends, unknown values and read-back merged in time order, as the checker needs them.
import { describe, expect, it } from 'vitest';
import { checkHistory, collectHistory, reportHtml, reportJson, type HistoryOp, type ProducerRecord, type SendOp } from '../src/index.ts';

const send = (value: string, offset: number, timeMs: number): SendOp => ({ type: 'send', process: 'p0', topic: 't', partition: 0, key: value, value, offset, outcome: 'ok', timeMs });
const poll = (value: string, offset: number, timeMs: number): HistoryOp => ({ type: 'poll', process: 'reader', topic: 't', partition: 0, offset, value, timeMs });

function producer(ops: SendOp[], sent: number | null, unreported: string[]): ProducerRecord {
  return { name: 'p0', ops, sent, unreported: () => unreported };
}

describe('collectHistory', () => {
  it('adds unreported values as unknown sends, and values read from an unfinished producer as unknown too', () => {
    const read = { ops: [{ type: 'assign', process: 'reader', partitions: [{ topic: 't', partition: 0, offset: 0 }], timeMs: 50 }, poll('p0-0', 0, 51), poll('p0-2', 1, 52), poll('p0-3', 2, 53), { type: 'drained', topic: 't', partition: 0, endOffset: 3, timeMs: 54 }] as HistoryOp[] };
    const history = collectHistory({ topic: 't', producers: [producer([send('p0-0', 0, 10)], null, ['p0-1', 'p0-2'])], read, endMs: 40, extra: [{ type: 'nemesis', fault: 'kill', phase: 'start', timeMs: 5 }] });
    const sends = history.filter((op): op is SendOp => op.type === 'send');
    expect(sends.map((op) => [op.value, op.outcome])).toEqual([['p0-0', 'ok'], ['p0-1', 'info'], ['p0-2', 'info'], ['p0-3', 'info']]);
    expect(history[0]).toMatchObject({ type: 'nemesis' });
    expect(history.map((op) => op.timeMs)).toEqual([...history.map((op) => op.timeMs)].sort((a, b) => a - b));
    const report = checkHistory(history, { drained: true });
    expect(report.counts).toMatchObject({ lostWrites: 0, unexpectedValues: 0, duplicates: 0, sendsOk: 1, sendsInfo: 3 });
  });

  it('leaves a value no producer could have made unexpected, and an acknowledged value never read lost', () => {
    const read = { ops: [{ type: 'assign', process: 'reader', partitions: [{ topic: 't', partition: 0, offset: 0 }], timeMs: 50 }, poll('zz-9', 0, 51), { type: 'drained', topic: 't', partition: 0, endOffset: 1, timeMs: 52 }] as HistoryOp[] };
    const history = collectHistory({ topic: 't', producers: [producer([send('p0-0', 0, 10)], 1, [])], read, endMs: 40 });
    const report = checkHistory(history, { drained: true });
    expect(report.counts.unexpectedValues).toBe(1);
    expect(report.counts.ackedNeverRead).toBe(1);
  });
  it('takes a 30-minute run: 600,000 ops through collectHistory, the checker and both reports', () => {
    // A 30-minute soak once died at the end on history.push(...ops) ("Maximum call stack size exceeded").
    const count = 300_000;
    const sends: SendOp[] = [];
    const reads: HistoryOp[] = [{ type: 'assign', process: 'reader', partitions: [{ topic: 't', partition: 0, offset: 0 }], timeMs: 2 * count }];
    for (let i = 0; i < count; i++) {
      sends.push(send(`p0-${i}`, i, i));
      reads.push(poll(`p0-${i}`, i, 2 * count + 1 + i));
    }
    reads.push({ type: 'drained', topic: 't', partition: 0, endOffset: count, timeMs: 3 * count + 1 });
    const history = collectHistory({ topic: 't', producers: [producer(sends, count, [])], read: { ops: reads }, endMs: count });
    expect(history).toHaveLength(2 * count + 2);
    const report = checkHistory(history, { drained: true });
    expect(report.counts).toMatchObject({ sendsOk: count, lostWrites: 0, duplicates: 0, inconsistentOffsets: 0 });
    expect(reportJson(report).length).toBeGreaterThan(0);
    expect(reportHtml(report).length).toBeGreaterThan(0);
  }, 120_000);
});
