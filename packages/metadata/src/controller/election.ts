/**
 * Leader and ISR changes: the one place that decides a partition's leader and ISR (Kafka's
 * generateLeaderAndIsrUpdates / PartitionChangeBuilder, without ELR). Rules:
 *  - A leader that stays in the ISR stays leader.
 *  - Otherwise the new leader is the first replica, in preferred order, that is in the ISR and acceptable
 *    (registered, unfenced, not shutting down, not the broker being removed).
 *  - If none: with unclean election allowed, the first acceptable replica leads and the ISR becomes [leader];
 *    else the partition has no leader (-1).
 *  - The ISR is never emptied: removing its last member keeps the ISR as it was (the partition is then
 *    leaderless until that member comes back).
 * Records carry no epochs; replay bumps them (leader change → leaderEpoch + 1; any change → partitionEpoch + 1).
 */
import { applyAll } from '../delta.ts';
import { isReassigning, targetReplicas, type MetadataImage, type PartitionImage } from '../image.ts';
import { NO_LEADER, NO_LEADER_CHANGE, type MetadataRecord, type PartitionChangeRecord } from '../records.ts';

export interface LeaderAndIsrOptions {
  /** The broker leaving every ISR and leadership (fenced, shutting down, unregistered); -1 for none. */
  readonly brokerToRemove: number;
  /** The broker that may lead although the image still has it fenced (being unfenced); -1 for none. */
  readonly brokerToAdd: number;
  readonly uncleanOk: boolean;
}

function sameMembers(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * The change record taking a partition to (leader, isr), or null when that is where it is. A reassignment in
 * progress completes in the same record once every target replica is in the new ISR (Kafka's
 * completeReassignmentIfNeeded): replicas = target, the ISR keeps only target replicas, and a leader being
 * removed hands over to the first target replica in the ISR that `acceptable` allows.
 */
export function partitionChange(
  partition: PartitionImage,
  leader: number,
  isr: readonly number[],
  acceptable: (brokerId: number) => boolean = () => true,
): PartitionChangeRecord | null {
  if (isReassigning(partition)) {
    const target = targetReplicas(partition);
    if (target.every((r) => isr.includes(r))) return completedReassignment(partition, target, leader, isr, acceptable);
  }
  const leaderChanged = leader !== partition.leader;
  const isrChanged = !sameMembers(isr, partition.isr);
  if (!leaderChanged && !isrChanged) return null;
  return {
    type: 'partition-change',
    topicId: partition.topicId,
    partitionId: partition.partitionId,
    leader: leaderChanged ? leader : NO_LEADER_CHANGE,
    isr: isrChanged ? [...isr] : null,
    replicas: null,
  };
}

function completedReassignment(
  partition: PartitionImage,
  target: readonly number[],
  leader: number,
  isr: readonly number[],
  acceptable: (brokerId: number) => boolean,
): PartitionChangeRecord {
  const newIsr = isr.filter((r) => target.includes(r));
  const newLeader = leader === NO_LEADER || target.includes(leader) ? leader : bestLeader(target, newIsr, false, acceptable);
  return {
    type: 'partition-change',
    topicId: partition.topicId,
    partitionId: partition.partitionId,
    leader: newLeader !== partition.leader ? newLeader : NO_LEADER_CHANGE,
    isr: sameMembers(newIsr, partition.isr) ? null : newIsr,
    replicas: sameMembers(target, partition.replicas) ? null : [...target],
    addingReplicas: [],
    removingReplicas: [],
  };
}

/** Kafka's bestLeader: first replica in the ISR that may lead; with unclean election, first replica that may lead. */
export function bestLeader(
  replicas: readonly number[],
  isr: readonly number[],
  uncleanOk: boolean,
  acceptable: (brokerId: number) => boolean,
): number {
  for (const r of replicas) if (isr.includes(r) && acceptable(r)) return r;
  if (uncleanOk) for (const r of replicas) if (acceptable(r)) return r;
  return NO_LEADER;
}

export function acceptableLeader(image: MetadataImage, opts: Pick<LeaderAndIsrOptions, 'brokerToRemove' | 'brokerToAdd'>): (brokerId: number) => boolean {
  return (r) => r !== opts.brokerToRemove && (r === opts.brokerToAdd || image.isUsable(r));
}

/** The leader/ISR change for one partition when a broker leaves or becomes usable; null if none. */
export function leaderAndIsrChange(image: MetadataImage, partition: PartitionImage, opts: LeaderAndIsrOptions): PartitionChangeRecord | null {
  const acceptable = acceptableLeader(image, opts);
  let isr: readonly number[] = partition.isr.filter((r) => r !== opts.brokerToRemove);
  const leader =
    partition.leader !== NO_LEADER && isr.includes(partition.leader)
      ? partition.leader
      : bestLeader(partition.replicas, isr, opts.uncleanOk, acceptable);
  if (leader !== NO_LEADER && !isr.includes(leader)) isr = [leader]; // unclean: the ISR restarts from the new leader
  else if (isr.length === 0) isr = partition.isr; // never empty
  return partitionChange(partition, leader, isr, acceptable);
}

/** Accumulates an operation's records on a working image, so later steps see earlier ones (and bad records fail now). */
export class RecordBuilder {
  #image: MetadataImage;
  readonly #records: MetadataRecord[] = [];

  constructor(image: MetadataImage) {
    this.#image = image;
  }

  get image(): MetadataImage {
    return this.#image;
  }

  get records(): readonly MetadataRecord[] {
    return this.#records;
  }

  add(...records: MetadataRecord[]): void {
    if (records.length === 0) return;
    for (const r of records) this.#records.push(r);
    this.#image = applyAll(this.#image, records);
  }
}
