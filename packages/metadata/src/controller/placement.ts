/**
 * Replica placement for new partitions (Kafka's rack-aware assignment, as its StripedReplicaPlacer and
 * AdminUtils do it):
 *  - brokers are arranged rack-alternated: racks sorted by name, brokers in each rack by id, then one broker
 *    from each rack in turn (r1b1, r2b1, r1b2, r2b2, ...); brokers without a rack form one more rack;
 *  - partition i's first replica (its leader) is arranged[(start + i) mod n], so leaders spread round-robin
 *    from a random start; followers walk the list from there with a shift that also starts at random and grows
 *    each time the partitions wrap around the brokers, skipping a broker whose rack already holds a replica
 *    while a rack without one remains;
 *  - `start` and `shift` come from the injected Rng: seeded runs place identically.
 */
import { assert, type Rng } from '@tributary/common';

export interface PlacementBroker {
  readonly brokerId: number;
  readonly rack: string | null;
}

/** Distinct from any real rack name (those come from server.properties and cannot contain NUL). */
const NO_RACK = '\u0000';

export function rackAlternated(brokers: readonly PlacementBroker[]): number[] {
  const byRack = new Map<string, number[]>();
  for (const b of brokers) {
    const rack = b.rack ?? NO_RACK;
    let list = byRack.get(rack);
    if (list === undefined) byRack.set(rack, (list = []));
    list.push(b.brokerId);
  }
  const racks = [...byRack.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  for (const rack of racks) byRack.get(rack)!.sort((a, b) => a - b);
  const out: number[] = [];
  for (let round = 0; out.length < brokers.length; round++) {
    for (const rack of racks) {
      const id = byRack.get(rack)![round];
      if (id !== undefined) out.push(id);
    }
  }
  return out;
}

/**
 * Replica lists for `count` partitions of `replicationFactor` replicas over `brokers` (all usable).
 * The caller checks 1 <= replicationFactor <= brokers.length.
 */
export function placeReplicas(brokers: readonly PlacementBroker[], count: number, replicationFactor: number, rng: Rng): number[][] {
  const n = brokers.length;
  assert(replicationFactor >= 1 && replicationFactor <= n, `replication factor ${replicationFactor} with ${n} broker(s)`);
  assert(Number.isInteger(count) && count >= 0, `partition count ${count}`);
  assert(new Set(brokers.map((b) => b.brokerId)).size === n, 'duplicate broker ids');
  const rackOf = new Map(brokers.map((b) => [b.brokerId, b.rack ?? NO_RACK]));
  const numRacks = new Set(rackOf.values()).size;
  const arranged = rackAlternated(brokers);
  const start = rng.int(n);
  let shift = rng.int(n);
  const out: number[][] = [];
  for (let i = 0; i < count; i++) {
    if (i > 0 && i % n === 0) shift++;
    const first = (start + i) % n;
    const replicas = [arranged[first]!];
    const racksUsed = new Set([rackOf.get(arranged[first]!)!]);
    // Offsets 1..n-1 from `first` each visit every other broker once, so n - 1 steps per replica suffice.
    let k = 0;
    while (replicas.length < replicationFactor) {
      assert(k < replicationFactor * n, 'placement found no broker (bound)');
      const offset = 1 + ((shift * numRacks + k) % (n - 1));
      const candidate = arranged[(first + offset) % n]!;
      k++;
      if (replicas.includes(candidate)) continue;
      const rack = rackOf.get(candidate)!;
      if (racksUsed.has(rack) && racksUsed.size < numRacks) continue;
      replicas.push(candidate);
      racksUsed.add(rack);
    }
    out.push(replicas);
  }
  return out;
}
