/**
 * The automatic preferred-leader rebalance (auto.leader.rebalance.enable), Kafka's rule: group partitions by their
 * preferred replica (the first of the replica list); a broker whose share of those partitions led by someone else
 * exceeds leader.imbalance.per.broker.percentage gets them back, for each one whose preferred replica is usable
 * (registered, unfenced, not shutting down) and in the ISR. Pure: the image in, the partitions to elect out.
 */
import type { ElectLeadersTopicPartitions, MetadataImage } from '@tributary/metadata';

/** At most this many partitions per automatic election: one metadata entry stays far below its 1 MiB bound. */
export const MAX_AUTO_ELECTIONS_PER_ROUND = 1000;

export interface BrokerImbalance {
  readonly brokerId: number;
  /** Partitions whose preferred replica is this broker. */
  readonly preferred: number;
  /** Of those, led by another broker (or by none). */
  readonly notLeading: number;
}

export interface LeaderImbalance {
  /** The brokers over the threshold, by id. */
  readonly imbalanced: readonly BrokerImbalance[];
  /** What to elect now (at most `maxPartitions`), grouped by topic in name order. */
  readonly partitions: readonly ElectLeadersTopicPartitions[];
  /** More candidates than `maxPartitions`: check again soon rather than after a whole interval. */
  readonly remaining: boolean;
}

export function leaderImbalance(image: MetadataImage, imbalancePercentage: number, maxPartitions = MAX_AUTO_ELECTIONS_PER_ROUND): LeaderImbalance {
  const byBroker = new Map<number, { preferred: number; candidates: { topic: string; partition: number }[]; notLeading: number }>();
  for (const t of image.sortedTopics()) {
    for (const p of t.partitions) {
      const preferred = p.replicas[0];
      if (preferred === undefined) continue;
      let s = byBroker.get(preferred);
      if (s === undefined) byBroker.set(preferred, (s = { preferred: 0, candidates: [], notLeading: 0 }));
      s.preferred++;
      if (p.leader === preferred) continue;
      s.notLeading++;
      if (p.isr.includes(preferred)) s.candidates.push({ topic: t.name, partition: p.partitionId });
    }
  }
  const imbalanced: BrokerImbalance[] = [];
  const chosen: { topic: string; partition: number }[] = [];
  let remaining = false;
  for (const brokerId of [...byBroker.keys()].sort((a, b) => a - b)) {
    const s = byBroker.get(brokerId)!;
    // Kafka compares the ratio with the percentage strictly: exactly at the threshold is balanced enough.
    if (s.notLeading * 100 <= imbalancePercentage * s.preferred) continue;
    imbalanced.push({ brokerId, preferred: s.preferred, notLeading: s.notLeading });
    if (!image.isUsable(brokerId)) continue;
    for (const c of s.candidates) {
      if (chosen.length >= maxPartitions) {
        remaining = true;
        break;
      }
      chosen.push(c);
    }
  }
  const grouped = new Map<string, number[]>();
  for (const c of chosen) {
    const list = grouped.get(c.topic);
    if (list === undefined) grouped.set(c.topic, [c.partition]);
    else list.push(c.partition);
  }
  const partitions = [...grouped].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([topic, ps]) => ({ topic, partitions: ps }));
  return { imbalanced, partitions, remaining };
}
