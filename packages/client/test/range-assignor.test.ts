import { describe, expect, it } from 'vitest';
import { rangeAssign } from '../src/consumer-protocol.ts';

describe('range assignor', () => {
  const subs = (entries: [string, string[]][]): Map<string, string[]> => new Map(entries);

  it('gives each member a contiguous range, the first ones one extra', () => {
    const out = rangeAssign(subs([['m2', ['t']], ['m1', ['t']], ['m3', ['t']]]), new Map([['t', 8]]));
    expect(out.get('m1')).toEqual([{ topic: 't', partitions: [0, 1, 2] }]);
    expect(out.get('m2')).toEqual([{ topic: 't', partitions: [3, 4, 5] }]);
    expect(out.get('m3')).toEqual([{ topic: 't', partitions: [6, 7] }]);
  });

  it('splits each topic separately among its own subscribers, and skips unknown topics', () => {
    const out = rangeAssign(subs([['a', ['x', 'y', 'gone']], ['b', ['x']]]), new Map([['x', 4], ['y', 1]]));
    expect(out.get('a')).toEqual([
      { topic: 'x', partitions: [0, 1] },
      { topic: 'y', partitions: [0] },
    ]);
    expect(out.get('b')).toEqual([{ topic: 'x', partitions: [2, 3] }]);
  });

  it('leaves members beyond the partition count empty and assigns every partition exactly once', () => {
    const out = rangeAssign(subs([['a', ['t']], ['b', ['t']], ['c', ['t']]]), new Map([['t', 2]]));
    expect([...out.values()].map((tps) => tps.flatMap((tp) => tp.partitions))).toEqual([[0], [1], []]);
    for (let members = 1; members <= 7; members++) {
      for (let partitions = 0; partitions <= 13; partitions++) {
        const m = new Map(Array.from({ length: members }, (_, i) => [`m${i}`, ['t']] as [string, string[]]));
        const all = [...rangeAssign(m, new Map([['t', partitions]])).values()].flatMap((tps) => tps.flatMap((tp) => tp.partitions));
        expect(all.sort((x, y) => x - y)).toEqual(Array.from({ length: partitions }, (_, i) => i));
      }
    }
  });
});
