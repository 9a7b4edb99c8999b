// The auto-rebalance rule on hand-made images: which brokers are over the threshold and which of their partitions
// may go back to them (preferred replica usable and in the ISR), in order and bounded.
import type { MetadataImage, PartitionImage } from '@tributary/metadata';
import { describe, expect, it } from 'vitest';
import { leaderImbalance } from '../src/leader-balance.ts';

/** Only what the rule reads of an image: topics in name order and which brokers are usable. */
function image(topics: Record<string, [leader: number, replicas: number[], isr: number[]][]>, unusable: number[] = []): MetadataImage {
  const sorted = Object.keys(topics)
    .sort()
    .map((name) => ({
      name,
      topicId: `id-${name}`,
      partitions: topics[name]!.map(([leader, replicas, isr], partitionId): PartitionImage => ({ topicId: `id-${name}`, partitionId, leader, replicas, isr, leaderEpoch: 0, partitionEpoch: 0, addingReplicas: [], removingReplicas: [] })),
    }));
  return { sortedTopics: () => sorted, isUsable: (id: number) => !unusable.includes(id) } as unknown as MetadataImage;
}

describe('leaderImbalance', () => {
  it('a balanced cluster elects nothing', () => {
    const r = leaderImbalance(image({ t: [[1, [1, 2], [1, 2]], [2, [2, 1], [2, 1]]] }), 10);
    expect(r).toEqual({ imbalanced: [], partitions: [], remaining: false });
  });

  it("elects a broker's preferred partitions back when its share led elsewhere exceeds the percentage, only where it is in the ISR", () => {
    // Broker 1 prefers 4 partitions and leads 1 of them: 3/4 = 75% > 10%. Partition 3 has 1 outside the ISR.
    const img = image({
      a: [[1, [1, 2], [1, 2]], [2, [1, 2], [1, 2]], [2, [1, 2], [2, 1]], [2, [1, 2], [2]]],
      b: [[2, [2, 1], [2, 1]]],
    });
    const r = leaderImbalance(img, 10);
    expect(r.imbalanced).toEqual([{ brokerId: 1, preferred: 4, notLeading: 3 }]);
    expect(r.partitions).toEqual([{ topic: 'a', partitions: [1, 2] }]);
    expect(r.remaining).toBe(false);
  });

  it('compares strictly: exactly at the percentage is balanced enough', () => {
    // Broker 1: 1 of 4 preferred partitions led elsewhere = 25%.
    const img = image({ a: [[2, [1, 2], [1, 2]], [1, [1, 2], [1, 2]], [1, [1, 2], [1, 2]], [1, [1, 2], [1, 2]]] });
    expect(leaderImbalance(img, 25).partitions).toEqual([]);
    expect(leaderImbalance(img, 24).partitions).toEqual([{ topic: 'a', partitions: [0] }]);
  });

  it('leaves a broker that is fenced or shutting down alone, and counts leaderless partitions as not led', () => {
    const img = image({ a: [[-1, [3, 2], [3, 2]], [2, [3, 2], [3, 2]]] }, [3]);
    const r = leaderImbalance(img, 10);
    expect(r.imbalanced).toEqual([{ brokerId: 3, preferred: 2, notLeading: 2 }]);
    expect(r.partitions).toEqual([]);
  });

  it('takes at most maxPartitions per round, grouped by topic in name order, and says more remain', () => {
    const img = image({
      z: [[2, [1, 2], [1, 2]], [2, [1, 2], [1, 2]]],
      a: [[1, [2, 1], [1, 2]], [2, [1, 2], [1, 2]]],
    });
    const r = leaderImbalance(img, 0, 2);
    expect(r.partitions).toEqual([
      { topic: 'a', partitions: [1] },
      { topic: 'z', partitions: [0] },
    ]);
    expect(r.remaining).toBe(true);
    expect(leaderImbalance(img, 0, 4)).toMatchObject({ remaining: false });
  });
});
