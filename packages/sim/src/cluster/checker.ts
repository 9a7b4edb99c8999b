/**
 * Cluster invariants, checked after every event (and the reference ones as each committed entry is applied):
 *
 *  Q. Raft safety of the controller quorum: the quorum simulation's InvariantChecker (one leader per epoch,
 *     epochs never go back, persist before send, committed entries never lost or changed, leader completeness).
 *  1. At most one active controller per Raft epoch (a controller is active once its own leader-change entry of the
 *     current epoch has been applied; the epoch is recorded at that moment, right after the apply).
 *  2. Reference images: the committed log, replayed once in offset order, gives one image per offset. In every one:
 *     each partition's leader is -1 or in its ISR and a registered, unfenced broker; the ISR is non-empty and a
 *     subset of the replicas; and @tributary/metadata's own imageInvariantViolations (every ISR member of a led
 *     partition usable, a leaderless partition has no usable ISR member, ...). From one image to the next, per
 *     partition, leader epoch and partition epoch never decrease, broker epochs only grow, nextBrokerEpoch too.
 *  3. Every controller's committed image and every broker's image equals the reference image at the offset it has
 *     applied (imagesEqual), so images at the same offset are identical everywhere; no broker's image is at an
 *     offset beyond the quorum's committed log (the global high watermark).
 *  4. Per node (each controller and broker, per incarnation): the applied offset never goes back, and as it grows
 *     leader and partition epochs per partition never decrease and broker epochs never go back.
 *  5. Acknowledged writes are committed: a CreateTopics success names a topic id a committed entry created.
 */
import {
  MetadataDelta,
  MetadataImage,
  NO_LEADER,
  decodeRecordBatch,
  decodeSnapshot,
  imageInvariantViolations,
  imagesEqual,
} from '@tributary/metadata';
import type { Entry, RaftNode, Snapshot } from '@tributary/raft';
import { InvariantChecker, InvariantViolation } from '../invariants.ts';
import type { HashChainStateMachine } from '../state-machine.ts';

function fail(message: string): never {
  throw new InvariantViolation(message);
}

/** Reference images kept (one per committed offset); a run longer than this is a configuration mistake. */
export const MAX_REFERENCE_OFFSETS = 2_000_000;

/** The brief's partition rules, by name, for one image. */
export function partitionProblems(image: MetadataImage): string[] {
  const out: string[] = [];
  for (const topic of image.sortedTopics()) {
    for (const p of topic.partitions) {
      const at = `${topic.name}-${p.partitionId}`;
      if (p.isr.length === 0) out.push(`${at}: empty ISR`);
      for (const r of p.isr) if (!p.replicas.includes(r)) out.push(`${at}: ISR member ${r} is not a replica [${p.replicas.join(',')}]`);
      if (p.leader === NO_LEADER) continue;
      if (!p.isr.includes(p.leader)) out.push(`${at}: leader ${p.leader} not in ISR [${p.isr.join(',')}]`);
      const b = image.broker(p.leader);
      if (b === undefined) out.push(`${at}: leader ${p.leader} is not registered`);
      else if (b.fenced) out.push(`${at}: leader ${p.leader} is fenced (broker epoch ${b.brokerEpoch})`);
    }
  }
  return out;
}

interface NodeTrack {
  incarnation: number;
  offset: number;
  image: MetadataImage;
  /** topicId/partition -> [leaderEpoch, partitionEpoch] */
  readonly epochs: Map<string, [number, number]>;
  readonly brokerEpochs: Map<number, number>;
}

function trackEpochs(who: string, track: Pick<NodeTrack, 'epochs' | 'brokerEpochs'>, image: MetadataImage): void {
  for (const topic of image.topicsById.values()) {
    for (const p of topic.partitions) {
      const key = `${topic.topicId}/${p.partitionId}`;
      const seen = track.epochs.get(key);
      if (seen !== undefined) {
        if (p.leaderEpoch < seen[0]) fail(`${who}: ${topic.name}-${p.partitionId} leader epoch went back ${seen[0]} -> ${p.leaderEpoch}`);
        if (p.partitionEpoch < seen[1]) fail(`${who}: ${topic.name}-${p.partitionId} partition epoch went back ${seen[1]} -> ${p.partitionEpoch}`);
        seen[0] = p.leaderEpoch;
        seen[1] = p.partitionEpoch;
      } else {
        track.epochs.set(key, [p.leaderEpoch, p.partitionEpoch]);
      }
    }
  }
  for (const b of image.brokers.values()) {
    const seen = track.brokerEpochs.get(b.brokerId);
    if (seen !== undefined && b.brokerEpoch < seen) fail(`${who}: broker ${b.brokerId}'s epoch went back ${seen} -> ${b.brokerEpoch}`);
    track.brokerEpochs.set(b.brokerId, b.brokerEpoch);
  }
}

export class ClusterChecker {
  /** Raft safety of the controller quorum. */
  readonly quorum = new InvariantChecker();
  /** images[i]: the metadata after applying the committed entries below offset i. */
  readonly #images: MetadataImage[] = [MetadataImage.EMPTY];
  readonly #reference: Pick<NodeTrack, 'epochs' | 'brokerEpochs'> = { epochs: new Map(), brokerEpochs: new Map() };
  readonly #activeByEpoch = new Map<number, number>();
  readonly #nodes = new Map<string, NodeTrack>();
  /** Every topic id a committed entry ever created (deleted ones included). */
  readonly #committedTopicIds = new Set<string>();
  readonly stats = { imagesCompared: 0, activations: 0, fences: 0, unfences: 0, leaderlessPartitions: 0 };

  /** Exclusive end of the committed metadata replayed into reference images. */
  get referenceEnd(): number {
    return this.#images.length - 1;
  }

  imageAt(offset: number): MetadataImage | undefined {
    return this.#images[offset];
  }

  get latestImage(): MetadataImage {
    return this.#images[this.#images.length - 1]!;
  }

  /** A controller is about to apply committed entries: hash chain, global committed log, reference images. */
  onCommitted(nodeId: number, entries: readonly Entry[], chain: HashChainStateMachine): void {
    for (const entry of entries) {
      chain.apply(entry);
      this.quorum.onApply(nodeId, entry, chain.chain);
      const end = this.referenceEnd;
      if (entry.offset < end) continue; // already replayed; the hash chain above matched its bytes
      if (entry.offset > end) fail(`c${nodeId}: applies committed entry ${entry.offset} but the reference replay ends at ${end} (a gap)`);
      if (this.#images.length > MAX_REFERENCE_OFFSETS) fail(`more than ${MAX_REFERENCE_OFFSETS} committed offsets: run fewer steps`);
      const previous = this.#images[end]!;
      let image = previous;
      if (entry.kind === 'data') {
        const delta = new MetadataDelta(previous);
        try {
          const records = decodeRecordBatch(entry.data);
          for (const r of records) if (r.type === 'topic') this.#committedTopicIds.add(r.topicId);
          delta.replayAll(records);
        } catch (err) {
          fail(`committed entry ${entry.offset}@${entry.epoch} does not replay on the committed image: ${String(err)}`);
        }
        image = delta.apply();
        this.#checkReference(entry.offset, previous, image);
      }
      this.#images.push(image);
    }
  }

  #checkReference(offset: number, previous: MetadataImage, image: MetadataImage): void {
    const problems = [...partitionProblems(image), ...imageInvariantViolations(image)];
    if (problems.length > 0) fail(`committed image at offset ${offset + 1}: ${problems.slice(0, 4).join('; ')}`);
    if (image.nextBrokerEpoch < previous.nextBrokerEpoch) fail(`committed entry ${offset}: nextBrokerEpoch went back ${previous.nextBrokerEpoch} -> ${image.nextBrokerEpoch}`);
    trackEpochs(`committed entry ${offset}`, this.#reference, image);
    for (const b of image.brokers.values()) {
      const was = previous.broker(b.brokerId);
      if (b.fenced && was !== undefined && !was.fenced) this.stats.fences++;
      if (!b.fenced && (was === undefined || was.fenced)) this.stats.unfences++;
    }
    for (const topic of image.topicsById.values()) {
      for (const p of topic.partitions) if (p.leader === NO_LEADER && previous.partition(topic.topicId, p.partitionId)?.leader !== NO_LEADER) this.stats.leaderlessPartitions++;
    }
  }

  /** A snapshot a controller created or installed must be the reference image at its end offset. */
  onSnapshot(nodeId: number, what: string, snapshot: Snapshot): void {
    const end = snapshot.id.endOffset;
    const reference = this.#images[end];
    if (reference === undefined) fail(`c${nodeId}: ${what} snapshot ends at ${end}, beyond the committed metadata (${this.referenceEnd})`);
    if (!imagesEqual(decodeSnapshot(snapshot.data), reference)) fail(`c${nodeId}: ${what} snapshot at ${end} differs from the committed image at that offset`);
  }

  /** A client got CreateTopics' success for `topicId`: answers leave only after commit, so it must be committed. */
  onTopicAcknowledged(name: string, topicId: string): void {
    if (!this.#committedTopicIds.has(topicId)) fail(`CreateTopics answered ${name} created (id ${topicId}), but no committed entry created it`);
  }

  /** Right after a controller applied entries (activation happens there). */
  onActive(nodeId: number, raftEpoch: number): void {
    const known = this.#activeByEpoch.get(raftEpoch);
    if (known !== undefined && known !== nodeId) fail(`two active controllers in epoch ${raftEpoch}: c${known} and c${nodeId}`);
    if (known === undefined) this.stats.activations++;
    this.#activeByEpoch.set(raftEpoch, nodeId);
  }

  /** After every event, for every live controller (its Raft node and committed image). */
  checkController(nodeId: number, incarnation: number, raft: RaftNode, image: MetadataImage, appliedOffset: number): void {
    this.quorum.checkNode(nodeId, raft);
    if (appliedOffset > raft.highWatermark) fail(`c${nodeId}: applied metadata up to ${appliedOffset}, beyond its high watermark ${raft.highWatermark}`);
    this.#checkImage(`c${nodeId}`, incarnation, image, appliedOffset);
  }

  /** After every event, for every live broker. */
  checkBroker(brokerId: number, incarnation: number, image: MetadataImage, nextOffset: number): void {
    const committed = this.quorum.committedLength;
    if (nextOffset > committed) fail(`b${brokerId}: holds metadata up to offset ${nextOffset}, beyond the quorum's committed log (${committed})`);
    this.#checkImage(`b${brokerId}`, incarnation, image, nextOffset);
  }

  #checkImage(who: string, incarnation: number, image: MetadataImage, offset: number): void {
    let track = this.#nodes.get(who);
    if (track !== undefined && track.incarnation === incarnation && track.image === image && track.offset === offset) return;
    if (track === undefined || track.incarnation !== incarnation) {
      track = { incarnation, offset, image: MetadataImage.EMPTY, epochs: new Map(), brokerEpochs: new Map() };
      this.#nodes.set(who, track);
    }
    if (offset < track.offset) fail(`${who}: applied metadata offset went back ${track.offset} -> ${offset}`);
    const reference = this.#images[offset];
    if (reference === undefined) fail(`${who}: image at offset ${offset}, beyond the committed metadata replayed so far (${this.referenceEnd})`);
    this.stats.imagesCompared++;
    if (image !== reference && !imagesEqual(image, reference)) fail(`${who}: image at offset ${offset} differs from the committed image at that offset`);
    trackEpochs(who, track, image);
    track.offset = offset;
    track.image = image;
  }
}
