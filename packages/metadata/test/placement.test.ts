import { seededRng } from '@tributary/common';
import { describe, expect, it } from 'vitest';
import { placeReplicas, rackAlternated, type PlacementBroker } from '../src/index.ts';

const brokers = (ids: number[], racks: (string | null)[] = []): PlacementBroker[] => ids.map((brokerId, i) => ({ brokerId, rack: racks[i] ?? null }));

function counts(lists: number[][], pick: (l: number[]) => number[]): Map<number, number> {
  const m = new Map<number, number>();
  for (const l of lists) for (const b of pick(l)) m.set(b, (m.get(b) ?? 0) + 1);
  return m;
}

describe('rackAlternated', () => {
  it('takes one broker from each rack in turn, racks by name, brokers by id', () => {
    expect(rackAlternated(brokers([6, 1, 2, 3, 4, 5], ['c', 'a', 'a', 'b', 'b', 'c']))).toEqual([1, 3, 5, 2, 4, 6]);
    expect(rackAlternated(brokers([1, 2, 3, 4], ['a', 'a', 'a', 'b']))).toEqual([1, 4, 2, 3]);
    expect(rackAlternated(brokers([3, 1, 2]))).toEqual([1, 2, 3]);
  });
});

describe('placeReplicas', () => {
  it('spreads leaders and replicas evenly without racks', () => {
    const lists = placeReplicas(brokers([1, 2, 3]), 6, 2, seededRng(7));
    expect(lists).toHaveLength(6);
    for (const l of lists) expect(new Set(l).size).toBe(2);
    expect([...counts(lists, (l) => [l[0]!]).values()]).toEqual([2, 2, 2]);
    expect([...counts(lists, (l) => l).values()]).toEqual([4, 4, 4]);
  });

  it('is a function of the seed, and the start moves with it', () => {
    const a = placeReplicas(brokers([1, 2, 3, 4, 5]), 10, 3, seededRng(1));
    expect(placeReplicas(brokers([1, 2, 3, 4, 5]), 10, 3, seededRng(1))).toEqual(a);
    const firsts = new Set<number>();
    for (let seed = 0; seed < 50; seed++) firsts.add(placeReplicas(brokers([1, 2, 3, 4, 5]), 1, 1, seededRng(seed))[0]![0]!);
    expect(firsts.size).toBe(5);
  });

  it('puts the replicas of each partition on as many racks as it can', () => {
    const six = brokers([1, 2, 3, 4, 5, 6], ['a', 'a', 'b', 'b', 'c', 'c']);
    const rackOf = (id: number): string => six.find((b) => b.brokerId === id)!.rack!;
    for (let seed = 0; seed < 20; seed++) {
      for (const rf of [1, 2, 3, 4, 6]) {
        const lists = placeReplicas(six, 12, rf, seededRng(seed));
        for (const l of lists) {
          expect(new Set(l).size).toBe(rf);
          expect(new Set(l.map(rackOf)).size).toBe(Math.min(rf, 3));
        }
        // leaders: every broker leads exactly twice (12 partitions, 6 brokers)
        expect([...counts(lists, (l) => [l[0]!]).values()].every((c) => c === 2)).toBe(true);
      }
    }
  });

  it('uneven racks: the lone rack gets a replica of every partition', () => {
    const set = brokers([1, 2, 3, 4], ['a', 'a', 'a', 'b']);
    for (let seed = 0; seed < 20; seed++) {
      for (const l of placeReplicas(set, 8, 2, seededRng(seed))) expect(l.includes(4)).toBe(true);
    }
  });

  it('brokers without a rack count as one more rack', () => {
    const set = brokers([1, 2, 3, 4], ['a', 'a', null, null]);
    for (const l of placeReplicas(set, 8, 2, seededRng(3))) {
      expect(l.filter((b) => b <= 2).length).toBe(1);
    }
  });

  it('handles one broker and refuses a replication factor above the broker count', () => {
    expect(placeReplicas(brokers([9]), 3, 1, seededRng(1))).toEqual([[9], [9], [9]]);
    expect(() => placeReplicas(brokers([1, 2]), 1, 3, seededRng(1))).toThrow(/replication factor 3 with 2 broker/);
    expect(placeReplicas(brokers([1, 2]), 0, 2, seededRng(1))).toEqual([]);
  });

  it('random broker sets: valid, rack-maximal placements (property)', () => {
    const rng = seededRng(99);
    for (let run = 0; run < 300; run++) {
      const n = 1 + rng.int(9);
      const ids = Array.from({ length: n }, (_, i) => i * 3 + rng.int(3));
      const racks = ids.map(() => (rng.int(4) === 0 ? null : `r${rng.int(3)}`));
      const set = brokers(ids, racks);
      const rf = 1 + rng.int(n);
      const lists = placeReplicas(set, rng.int(30), rf, rng);
      const numRacks = new Set(racks.map((r) => r ?? '')).size;
      for (const l of lists) {
        expect(new Set(l).size).toBe(rf);
        for (const b of l) expect(ids.includes(b)).toBe(true);
        expect(new Set(l.map((b) => racks[ids.indexOf(b)] ?? '')).size).toBe(Math.min(rf, numRacks));
      }
    }
  });
});
