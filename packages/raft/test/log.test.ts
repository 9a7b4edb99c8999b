import { AssertionError } from '@tributary/common';
import { describe, expect, it } from 'vitest';
import { MemoryRaftLog, type Entry } from '../src/index.ts';

const e = (offset: number, epoch: number): Entry => ({ offset, epoch, kind: 'data', data: new Uint8Array([offset]) });

/** Epochs 1 at [0,3), 3 at [3,5), 4 at [5,6). */
function sample(): MemoryRaftLog {
  return new MemoryRaftLog(null, [e(0, 1), e(1, 1), e(2, 1), e(3, 3), e(4, 3), e(5, 4)]);
}

describe('MemoryRaftLog', () => {
  it('answers endOffsetForEpoch like Kafka: largest epoch <= asked, and where it ends', () => {
    const log = sample();
    expect(log.endOffsetForEpoch(1)).toEqual({ epoch: 1, offset: 3 });
    expect(log.endOffsetForEpoch(2)).toEqual({ epoch: 1, offset: 3 });
    expect(log.endOffsetForEpoch(3)).toEqual({ epoch: 3, offset: 5 });
    expect(log.endOffsetForEpoch(4)).toEqual({ epoch: 4, offset: 6 });
    expect(log.endOffsetForEpoch(9)).toEqual({ epoch: 4, offset: 6 });
    expect(log.endOffsetForEpoch(0)).toEqual({ epoch: 0, offset: 0 });
  });

  it('keeps the epoch index right across truncation', () => {
    const log = sample();
    log.truncateTo(4);
    expect(log.endOffset).toBe(4);
    expect(log.lastEpoch()).toBe(3);
    expect(log.endOffsetForEpoch(3)).toEqual({ epoch: 3, offset: 4 });
    log.truncateTo(3);
    expect(log.lastEpoch()).toBe(1);
    expect(log.endOffsetForEpoch(3)).toEqual({ epoch: 1, offset: 3 });
    log.append([e(3, 5)]);
    expect(log.endOffsetForEpoch(4)).toEqual({ epoch: 1, offset: 3 });
  });

  it('after compaction, answers from the snapshot for older epochs and null when it cannot know', () => {
    const log = sample();
    log.compact({ endOffset: 4, epoch: 3 });
    expect(log.startOffset).toBe(4);
    expect(log.endOffsetForEpoch(3)).toEqual({ epoch: 3, offset: 5 });
    expect(log.endOffsetForEpoch(2)).toBeNull();
    const empty = new MemoryRaftLog({ endOffset: 6, epoch: 4 }, []);
    expect(empty.lastEpoch()).toBe(4);
    expect(empty.endOffsetForEpoch(4)).toEqual({ epoch: 4, offset: 6 });
    expect(empty.endOffsetForEpoch(5)).toEqual({ epoch: 4, offset: 6 });
    expect(empty.endOffsetForEpoch(3)).toBeNull();
    const tail = new MemoryRaftLog({ endOffset: 6, epoch: 4 }, [e(6, 6)]);
    expect(tail.endOffsetForEpoch(5)).toEqual({ epoch: 4, offset: 6 });
  });

  it('compacting the whole log leaves it empty at the snapshot', () => {
    const log = sample();
    log.compact({ endOffset: 6, epoch: 4 });
    expect([log.startOffset, log.endOffset, log.lastEpoch()]).toEqual([6, 6, 4]);
    log.append([e(6, 5)]);
    expect(log.endOffsetForEpoch(4)).toEqual({ epoch: 4, offset: 6 });
  });

  it('reads within bounds but always at least one entry', () => {
    const log = sample();
    expect(log.read(0, 2, 1 << 20).map((x) => x.offset)).toEqual([0, 1]);
    expect(log.read(1, 10, 1).map((x) => x.offset)).toEqual([1]);
    expect(log.read(6, 10, 100)).toEqual([]);
  });

  it('refuses appends that skip offsets or go back in epoch, and truncation below its start', () => {
    const log = sample();
    expect(() => log.append([e(7, 4)])).toThrow(AssertionError);
    expect(() => log.append([e(6, 3)])).toThrow(AssertionError);
    log.compact({ endOffset: 3, epoch: 1 });
    expect(() => log.truncateTo(2)).toThrow(AssertionError);
    expect(() => log.compact({ endOffset: 5, epoch: 1 })).toThrow(AssertionError);
  });
});
