/**
 * Safety invariants, checked after every simulation event. Each check throws InvariantViolation with a
 * message naming the node, epoch and offset involved.
 *
 *  1. Election safety: at most one leader per epoch. Every node's belief "L leads epoch e" (a leader's own,
 *     a follower's) must agree across nodes and over time.
 *  2. Epochs never go back: within one incarnation a node's epoch never decreases; the epoch it has made
 *     durable never decreases (a crash may forget an in-memory epoch, but only one that no message carried,
 *     which check 3 holds); a restarted node starts at or above its durable epoch.
 *  3. Persist before send: every message carries an epoch <= its sender's durable epoch when it leaves.
 *  4. High watermark is monotonic per incarnation. A restarted node starts at its durable snapshot's end
 *     offset (0 without one) — it has forgotten the HW, not the entries — and only moves up from there.
 *  5. Committed entries are never lost or changed, and committed prefixes agree: every entry below a node's
 *     HW (in its log), every entry it applies, and every snapshot (a hash chain up to its end offset) must
 *     match the one global committed log, which only grows at its end (no gaps).
 *  6. Leader completeness: the leader of the highest epoch ever elected holds every committed entry (those
 *     below its log start are in its snapshot, which check 5 matches), re-checked as the committed log grows.
 *     Every committed entry was committed by a leader of some epoch T <= that epoch, and Raft guarantees every
 *     leader of an epoch > T holds it. A deposed leader that has not heard of a later epoch yet (isolated, say)
 *     may lack entries the later leader committed; that is allowed, and such a leader can commit nothing new.
 */
import type { Entry, RaftNode } from '@tributary/raft';
import { chainHash, EMPTY_CHAIN, entryHash, type SnapshotContent } from './state-machine.ts';

export class InvariantViolation extends Error {
  override name = 'InvariantViolation';
}

function fail(message: string): never {
  throw new InvariantViolation(message);
}

interface CommittedEntry {
  epoch: number;
  hash: number;
  /** Hash chain over [0, offset]. */
  chain: number;
}

interface NodeTrack {
  incarnation: number;
  epoch: number;
  highWatermark: number;
  durableEpoch: number;
  /** Offsets below this in the node's log have been matched against the committed log. */
  checkedTo: number;
}

export class InvariantChecker {
  readonly committed: CommittedEntry[] = [];
  readonly #leaderOfEpoch = new Map<number, number>();
  readonly #nodes = new Map<number, NodeTrack>();
  /** Per leader epoch: committed offsets below this were found in the leader's log. */
  readonly #leaderVerifiedTo = new Map<number, number>();
  #maxLeaderEpoch = 0;

  get committedLength(): number {
    return this.committed.length;
  }

  chainAt(endOffset: number): number {
    return endOffset === 0 ? EMPTY_CHAIN : this.committed[endOffset - 1]!.chain;
  }

  /** A node (re)started from its durable store. */
  onStart(nodeId: number, incarnation: number, node: RaftNode, durableEpoch: number, snapshotEnd: number): void {
    const previous = this.#nodes.get(nodeId);
    if (previous && durableEpoch < previous.durableEpoch) fail(`n${nodeId}: durable epoch went back ${previous.durableEpoch} -> ${durableEpoch}`);
    if (node.epoch < durableEpoch) fail(`n${nodeId}: restarted in epoch ${node.epoch} below its durable epoch ${durableEpoch}`);
    if (node.highWatermark !== snapshotEnd) fail(`n${nodeId}: restarted with hw ${node.highWatermark}, expected its snapshot end ${snapshotEnd}`);
    this.#nodes.set(nodeId, { incarnation, epoch: node.epoch, highWatermark: node.highWatermark, durableEpoch, checkedTo: node.log.startOffset });
  }

  onDurableEpoch(nodeId: number, epoch: number): void {
    const track = this.#nodes.get(nodeId)!;
    if (epoch < track.durableEpoch) fail(`n${nodeId}: durable epoch went back ${track.durableEpoch} -> ${epoch}`);
    track.durableEpoch = epoch;
  }

  onSend(nodeId: number, messageEpoch: number, description: string): void {
    const track = this.#nodes.get(nodeId)!;
    if (messageEpoch > track.durableEpoch) fail(`n${nodeId}: sent ${description} in epoch ${messageEpoch} before making it durable (durable ${track.durableEpoch})`);
  }

  /** Record or compare one committed entry. */
  #commit(offset: number, entry: Entry, who: string): void {
    if (entry.offset !== offset) fail(`${who}: entry at ${offset} claims offset ${entry.offset}`);
    const hash = entryHash(entry);
    if (offset < this.committed.length) {
      const known = this.committed[offset]!;
      if (known.hash !== hash || known.epoch !== entry.epoch) fail(`${who}: committed entry ${offset} is ${offset}@${entry.epoch}, but ${offset}@${known.epoch} was committed (hash ${known.hash} vs ${hash})`);
      return;
    }
    if (offset > this.committed.length) fail(`${who}: committed entry ${offset} leaves a gap (committed log ends at ${this.committed.length})`);
    this.committed.push({ epoch: entry.epoch, hash, chain: chainHash(this.chainAt(offset), entry) });
  }

  onApply(nodeId: number, entry: Entry, chainAfter: number): void {
    this.#commit(entry.offset, entry, `n${nodeId} apply`);
    if (this.committed[entry.offset]!.chain !== chainAfter) fail(`n${nodeId}: state machine chain at ${entry.offset} differs from the committed log`);
  }

  onSnapshot(nodeId: number, what: string, content: SnapshotContent, idEndOffset: number): void {
    if (content.endOffset !== idEndOffset) fail(`n${nodeId}: ${what} snapshot id ends at ${idEndOffset} but its content at ${content.endOffset}`);
    if (content.endOffset > this.committed.length) fail(`n${nodeId}: ${what} snapshot ends at ${content.endOffset}, beyond the committed log (${this.committed.length})`);
    if (this.chainAt(content.endOffset) !== content.chain) fail(`n${nodeId}: ${what} snapshot at ${content.endOffset} disagrees with the committed log`);
  }

  /** A node became leader (seen in its Ready's role changes, so even a leadership lasting one event counts). */
  onLeader(epoch: number): void {
    if (epoch > this.#maxLeaderEpoch) this.#maxLeaderEpoch = epoch;
  }

  /** After every event, for every live node. */
  checkNode(nodeId: number, node: RaftNode): void {
    const track = this.#nodes.get(nodeId)!;
    const role = node.role;
    if (role.epoch < track.epoch) fail(`n${nodeId}: epoch went back ${track.epoch} -> ${role.epoch}`);
    track.epoch = role.epoch;
    if (node.highWatermark < track.highWatermark) fail(`n${nodeId}: high watermark went back ${track.highWatermark} -> ${node.highWatermark}`);
    track.highWatermark = node.highWatermark;
    if (node.highWatermark > node.log.endOffset) fail(`n${nodeId}: high watermark ${node.highWatermark} beyond its log end ${node.log.endOffset}`);

    // 1. One leader per epoch, across all beliefs.
    if (role.leaderId !== null) {
      const known = this.#leaderOfEpoch.get(role.epoch);
      if (known === undefined) this.#leaderOfEpoch.set(role.epoch, role.leaderId);
      else if (known !== role.leaderId) fail(`two leaders in epoch ${role.epoch}: ${known} and ${role.leaderId} (n${nodeId}'s view)`);
    }

    // 5. Everything below the node's HW is committed.
    const log = node.log;
    if (track.checkedTo < log.startOffset) track.checkedTo = log.startOffset;
    const end = Math.min(node.highWatermark, log.endOffset);
    for (let offset = track.checkedTo; offset < end; offset++) this.#commit(offset, log.entryAt(offset), `n${nodeId} log below hw ${node.highWatermark}`);
    if (end > track.checkedTo) track.checkedTo = end;

    // 6. Leader completeness.
    if (role.kind === 'leader') this.onLeader(role.epoch);
    if (role.kind === 'leader' && role.epoch === this.#maxLeaderEpoch) {
      let verified = this.#leaderVerifiedTo.get(role.epoch) ?? 0;
      if (verified < log.startOffset) {
        if (log.startOffset > this.committed.length) fail(`leader n${nodeId}: log starts at ${log.startOffset}, beyond the committed log ${this.committed.length}`);
        verified = log.startOffset;
      }
      if (log.endOffset < this.committed.length) fail(`leader n${nodeId} (e${role.epoch}): log ends at ${log.endOffset}, committed log at ${this.committed.length}`);
      for (let offset = verified; offset < this.committed.length; offset++) {
        const entry = log.entryAt(offset);
        const known = this.committed[offset]!;
        if (entryHash(entry) !== known.hash) fail(`leader n${nodeId} (e${role.epoch}): entry ${offset}@${entry.epoch} differs from committed ${offset}@${known.epoch}`);
      }
      this.#leaderVerifiedTo.set(role.epoch, this.committed.length);
    }
  }
}
