/**
 * One classic consumer group: its members, generation, selected protocol and committed offsets.
 *
 * State changes only in `transitionTo`. Legal transitions (Kafka's classic group state machine):
 *   Empty               → PreparingRebalance (first member joins), Dead (deleted, offsets expired, unloaded)
 *   PreparingRebalance  → CompletingRebalance (join phase done with members), Empty (done with none), Dead
 *   CompletingRebalance → Stable (leader's assignment persisted), PreparingRebalance (member change), Dead
 *   Stable              → PreparingRebalance (member joins, leaves, fails, changes protocols), Dead
 *   Dead                → Dead
 * Loading a group from `__consumer_offsets` constructs it directly in Empty or Stable.
 */
import { assert, type TimerHandle } from '@tributary/common';
import { CONSUMER_PROTOCOL_TYPE, parseConsumerSubscription } from './consumer-protocol.ts';
import type { JoinGroupResponse, SyncGroupResponse } from './messages.ts';

export const GroupState = {
  Empty: 'Empty',
  PreparingRebalance: 'PreparingRebalance',
  CompletingRebalance: 'CompletingRebalance',
  Stable: 'Stable',
  Dead: 'Dead',
} as const;
export type GroupState = (typeof GroupState)[keyof typeof GroupState];

const legalPrevious: Record<GroupState, readonly GroupState[]> = {
  Empty: ['PreparingRebalance'],
  PreparingRebalance: ['Empty', 'CompletingRebalance', 'Stable'],
  CompletingRebalance: ['PreparingRebalance'],
  Stable: ['CompletingRebalance'],
  Dead: ['Empty', 'PreparingRebalance', 'CompletingRebalance', 'Stable', 'Dead'],
};

/** A request the coordinator answers later: a JoinGroup or SyncGroup waiting for the rebalance. */
export interface Parked<R> {
  apiVersion: number;
  resolve(response: R): void;
}

export interface MemberProtocol {
  name: string;
  metadata: Buffer;
}

export interface Member {
  readonly memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  rebalanceTimeoutMs: number;
  sessionTimeoutMs: number;
  protocolType: string;
  /** In the member's preference order. */
  protocols: MemberProtocol[];
  assignment: Buffer;
  awaitingJoin: Parked<JoinGroupResponse> | null;
  awaitingSync: Parked<SyncGroupResponse> | null;
  /** Joined during the current rebalance (not carried over from the previous generation). */
  isNew: boolean;
  sessionTimer: TimerHandle | null;
}

export interface CommittedOffset {
  offset: number;
  leaderEpoch: number;
  metadata: string;
  commitTimestampMs: number;
  /** -1 unless the commit carried its own retention. */
  expireTimestampMs: number;
}

export class Group {
  readonly groupId: string;
  /** The `__consumer_offsets` partition that owns this group. */
  readonly partition: number;
  #state: GroupState;
  /** Wall-clock ms of the last state change; -1 when unknown (loaded from an old record). */
  currentStateTimestampMs: number;
  generationId = 0;
  /** null for a group only used to store offsets (a "simple consumer" group). */
  protocolType: string | null = null;
  protocolName: string | null = null;
  leaderId: string | null = null;
  /** Insertion-ordered: the first member becomes leader when the leader goes away. */
  readonly members = new Map<string, Member>();
  /** groupInstanceId → memberId of the static members. */
  readonly staticMembers = new Map<string, string>();
  /** Member ids handed out with MEMBER_ID_REQUIRED, waiting for the member's second JoinGroup. */
  readonly pendingMembers = new Map<string, TimerHandle>();
  /** Members of this generation that have not sent SyncGroup yet. */
  readonly pendingSyncMembers = new Set<string>();
  /** topic → partition → committed offset. */
  readonly offsets = new Map<string, Map<number, CommittedOffset>>();
  /** "topic\0partition" → commits being written; OffsetFetch with requireStable waits for none. */
  readonly pendingOffsetCommits = new Map<string, number>();
  /** The join-phase timer (rebalance timeout, or the initial delay of a new group). */
  joinTimer: TimerHandle | null = null;
  /** Set while the initial rebalance delay runs: new members extend it. */
  initialDelay: { remainingMs: number; newMemberAdded: boolean } | null = null;
  /** Removes members that do not SyncGroup within the rebalance timeout. */
  syncTimer: TimerHandle | null = null;

  constructor(groupId: string, partition: number, state: 'Empty' | 'Stable', nowMs: number) {
    this.groupId = groupId;
    this.partition = partition;
    this.#state = state;
    this.currentStateTimestampMs = nowMs;
  }

  get state(): GroupState {
    return this.#state;
  }

  is(state: GroupState): boolean {
    return this.#state === state;
  }

  /** The one place a group changes state; see the header for the legal transitions. */
  transitionTo(target: GroupState, nowMs: number): void {
    assert(legalPrevious[target].includes(this.#state), () => `group ${this.groupId}: illegal transition ${this.#state} → ${target}`);
    this.#state = target;
    this.currentStateTimestampMs = nowMs;
  }

  get size(): number {
    return this.members.size;
  }

  /** Members plus members that still owe their MEMBER_ID_REQUIRED rejoin, against `group.max.size`. */
  get occupancy(): number {
    return this.members.size + this.pendingMembers.size;
  }

  isLeader(memberId: string): boolean {
    return this.leaderId === memberId;
  }

  get rebalanceTimeoutMs(): number {
    let max = 0;
    for (const m of this.members.values()) max = Math.max(max, m.rebalanceTimeoutMs);
    return max;
  }

  addMember(member: Member): void {
    assert(!this.members.has(member.memberId), () => `group ${this.groupId}: member ${member.memberId} added twice`);
    if (this.members.size === 0) this.protocolType = member.protocolType;
    assert(this.protocolType === member.protocolType, 'member protocol type differs from the group');
    this.members.set(member.memberId, member);
    if (member.groupInstanceId !== null) this.staticMembers.set(member.groupInstanceId, member.memberId);
    this.leaderId ??= member.memberId;
  }

  removeMember(memberId: string): Member | undefined {
    const member = this.members.get(memberId);
    if (member === undefined) return undefined;
    member.sessionTimer?.cancel();
    member.sessionTimer = null;
    this.members.delete(memberId);
    this.pendingSyncMembers.delete(memberId);
    if (member.groupInstanceId !== null && this.staticMembers.get(member.groupInstanceId) === memberId) {
      this.staticMembers.delete(member.groupInstanceId);
    }
    if (this.leaderId === memberId) this.leaderId = this.#firstMember(true) ?? null;
    return member;
  }

  /** Replaces a static member's id (a restarted instance rejoined); returns the fenced old member. */
  replaceStaticMember(groupInstanceId: string, oldMemberId: string, newMember: Member): Member {
    const old = this.members.get(oldMemberId);
    assert(old !== undefined && old.groupInstanceId === groupInstanceId, 'replacing an unknown static member');
    old.sessionTimer?.cancel();
    old.sessionTimer = null;
    // Keep the member's position in the map so leadership order stays stable.
    const entries = [...this.members.entries()].map(([id, m]): [string, Member] => (id === oldMemberId ? [newMember.memberId, newMember] : [id, m]));
    this.members.clear();
    for (const [id, m] of entries) this.members.set(id, m);
    this.staticMembers.set(groupInstanceId, newMember.memberId);
    if (this.pendingSyncMembers.delete(oldMemberId)) this.pendingSyncMembers.add(newMember.memberId);
    if (this.leaderId === oldMemberId) this.leaderId = newMember.memberId;
    return old;
  }

  #firstMember(preferAwaitingJoin: boolean): string | undefined {
    if (preferAwaitingJoin) {
      for (const m of this.members.values()) if (m.awaitingJoin !== null) return m.memberId;
    }
    return this.members.keys().next().value;
  }

  /** Keeps the leader among the members that rejoined, as the leader must send the assignment. */
  electLeaderAmongJoined(): void {
    const leader = this.leaderId === null ? undefined : this.members.get(this.leaderId);
    if (leader === undefined || leader.awaitingJoin === null) this.leaderId = this.#firstMember(true) ?? null;
  }

  get numAwaitingJoin(): number {
    let n = 0;
    for (const m of this.members.values()) if (m.awaitingJoin !== null) n++;
    return n;
  }

  hasAllMembersJoined(): boolean {
    return this.members.size === this.numAwaitingJoin && this.pendingMembers.size === 0;
  }

  /**
   * Whether a member with these protocols may join: an Empty group takes any type; otherwise the
   * type must match and one protocol must be supported by every other member.
   */
  supportsProtocols(protocolType: string, protocols: MemberProtocol[], exceptMemberId: string | null): boolean {
    if (protocolType === '' || protocols.length === 0) return false;
    if (this.is(GroupState.Empty) || this.members.size === 0) return true;
    if (protocolType !== this.protocolType) return false;
    return protocols.some((p) => {
      for (const m of this.members.values()) {
        if (m.memberId === exceptMemberId) continue;
        if (!m.protocols.some((q) => q.name === p.name)) return false;
      }
      return true;
    });
  }

  /**
   * The protocol for the next generation: among those every member supports, the one most members
   * prefer (each votes for its first supported one); ties go to the earliest in the leader's order.
   */
  selectProtocol(): string {
    assert(this.members.size > 0, 'selecting a protocol for a group without members');
    const all = [...this.members.values()];
    const first = (this.leaderId !== null ? this.members.get(this.leaderId) : undefined) ?? (all[0] as Member);
    const candidates = first.protocols.map((p) => p.name).filter((name) => all.every((m) => m.protocols.some((p) => p.name === name)));
    assert(candidates.length > 0, () => `group ${this.groupId}: no protocol common to all members`);
    const votes = new Map<string, number>(candidates.map((c) => [c, 0]));
    for (const m of all) {
      const choice = m.protocols.find((p) => votes.has(p.name));
      assert(choice !== undefined, 'member supports no candidate protocol');
      votes.set(choice.name, (votes.get(choice.name) ?? 0) + 1);
    }
    let best = candidates[0] as string;
    for (const c of candidates) if ((votes.get(c) ?? 0) > (votes.get(best) ?? 0)) best = c;
    return best;
  }

  memberMetadata(member: Member, protocolName: string | null): Buffer {
    return member.protocols.find((p) => p.name === protocolName)?.metadata ?? Buffer.alloc(0);
  }

  /**
   * Topics the members subscribe to, read from the consumer protocol's metadata; null when unknown
   * (not a consumer group, no protocol chosen yet, or unreadable metadata), which means "maybe all".
   */
  subscribedTopics(): Set<string> | null {
    if (this.protocolType !== CONSUMER_PROTOCOL_TYPE || this.protocolName === null) return null;
    const topics = new Set<string>();
    for (const m of this.members.values()) {
      const subscription = parseConsumerSubscription(this.memberMetadata(m, this.protocolName));
      if (subscription === null) return null;
      for (const t of subscription.topics) topics.add(t);
    }
    return topics;
  }

  isSubscribedToTopic(topic: string): boolean {
    const topics = this.subscribedTopics();
    return topics === null ? this.members.size > 0 : topics.has(topic);
  }

  get offsetCount(): number {
    let n = 0;
    for (const partitions of this.offsets.values()) n += partitions.size;
    return n;
  }

  offset(topic: string, partition: number): CommittedOffset | undefined {
    return this.offsets.get(topic)?.get(partition);
  }

  setOffset(topic: string, partition: number, committed: CommittedOffset): void {
    let partitions = this.offsets.get(topic);
    if (partitions === undefined) {
      partitions = new Map();
      this.offsets.set(topic, partitions);
    }
    partitions.set(partition, committed);
  }

  deleteOffset(topic: string, partition: number): boolean {
    const partitions = this.offsets.get(topic);
    if (partitions === undefined || !partitions.delete(partition)) return false;
    if (partitions.size === 0) this.offsets.delete(topic);
    return true;
  }

  hasPendingCommit(topic: string, partition: number): boolean {
    return this.pendingOffsetCommits.has(`${topic}\0${partition}`);
  }

  cancelTimers(): void {
    this.joinTimer?.cancel();
    this.joinTimer = null;
    this.syncTimer?.cancel();
    this.syncTimer = null;
    this.initialDelay = null;
    for (const m of this.members.values()) {
      m.sessionTimer?.cancel();
      m.sessionTimer = null;
    }
    for (const t of this.pendingMembers.values()) t.cancel();
  }
}
