/**
 * The classic group coordinator: JoinGroup/SyncGroup/Heartbeat/LeaveGroup membership with
 * rebalances, and committed offsets, for the groups whose `__consumer_offsets` partition this
 * broker leads. One method per API; each takes the request version, the decoded body and the
 * client's identity, and resolves to the response body. JoinGroup and SyncGroup may park until the
 * rebalance moves on; everything else answers as soon as its writes are durable.
 *
 * State of one group changes only through `Group.transitionTo` (legal transitions in group.ts).
 * Persistence is write-then-ack through `GroupStorePort`; `loadPartition` rebuilds state from it.
 * Single-threaded: after every `await` the code re-checks that the group and generation it worked
 * on are still current.
 */
import { assert, silentLogger, type Clock, type Logger, type Rng, type Timer } from '@tributary/common';
import { groupConfig, type GroupConfig } from './config.ts';
import { CONSUMER_PROTOCOL_TYPE } from './consumer-protocol.ts';
import { ErrorCode } from './errors.ts';
import { Group, GroupState, type CommittedOffset, type Member, type MemberProtocol } from './group.ts';
import type {
  DeleteGroupsRequest,
  DeleteGroupsResponse,
  DescribedGroup,
  DescribeGroupsRequest,
  DescribeGroupsResponse,
  HeartbeatRequest,
  HeartbeatResponse,
  JoinGroupRequest,
  JoinGroupResponse,
  LeaveGroupRequest,
  LeaveGroupResponse,
  ListGroupsRequest,
  ListGroupsResponse,
  OffsetCommitRequest,
  OffsetCommitResponse,
  OffsetDeleteRequest,
  OffsetDeleteResponse,
  OffsetFetchRequest,
  OffsetFetchRequestTopic,
  OffsetFetchResponse,
  OffsetFetchResponseTopic,
  RequestContext,
  SyncGroupRequest,
  SyncGroupResponse,
} from './messages.ts';
import {
  coordinatorPartitionFor,
  decodeGroupMetadataValue,
  decodeGroupRecordKey,
  decodeOffsetCommitValue,
  encodeGroupMetadataKey,
  encodeGroupMetadataValue,
  encodeOffsetCommitKey,
  encodeOffsetCommitValue,
  type GroupMetadataValue,
  type OffsetCommitValue,
} from './records.ts';
import type { GroupRecord, GroupStorePort } from './store.ts';

export interface GroupCoordinatorOptions {
  config?: Partial<GroupConfig>;
  clock: Clock;
  timer: Timer;
  /** Member ids are `<client id or instance id>-<uuid>`; the uuid comes from here. */
  rng: Rng;
  store: GroupStorePort;
  logger?: Logger;
}

/** Tombstones (or other records) the caller must append to one `__consumer_offsets` partition. */
export interface PartitionRecords {
  partition: number;
  records: GroupRecord[];
}

/** A read-only view of a group for diagnostics and tests. */
export interface GroupSnapshot {
  groupId: string;
  partition: number;
  state: GroupState;
  generationId: number;
  protocolType: string | null;
  protocolName: string | null;
  leaderId: string | null;
  members: { memberId: string; groupInstanceId: string | null; clientId: string; assignment: Buffer }[];
  pendingMemberIds: string[];
  offsets: { topic: string; partition: number; offset: number; metadata: string }[];
}

/** DescribeGroups' authorized operations when asked and no authorizer runs: READ, DELETE, DESCRIBE. */
const ALL_GROUP_OPERATIONS = (1 << 3) | (1 << 6) | (1 << 8);
const AUTHORIZED_OPERATIONS_OMITTED = -2147483648;
const GROUP_TYPE_CLASSIC = 'classic';
const EMPTY = Buffer.alloc(0);

type PartitionLoadState = 'loading' | 'active';

export class GroupCoordinator {
  readonly config: GroupConfig;
  readonly #clock: Clock;
  readonly #timer: Timer;
  readonly #rng: Rng;
  readonly #store: GroupStorePort;
  readonly #log: Logger;
  readonly #groups = new Map<string, Group>();
  /** `__consumer_offsets` partitions this coordinator owns; others answer NOT_COORDINATOR. */
  readonly #partitions = new Map<number, PartitionLoadState>();

  constructor(options: GroupCoordinatorOptions) {
    this.config = groupConfig(options.config);
    this.#clock = options.clock;
    this.#timer = options.timer;
    this.#rng = options.rng;
    this.#store = options.store;
    this.#log = (options.logger ?? silentLogger).child({ component: 'group-coordinator' });
  }

  /** The `__consumer_offsets` partition of a group (FindCoordinator picks that partition's leader). */
  partitionFor(groupId: string): number {
    return coordinatorPartitionFor(groupId, this.config.offsetsTopicNumPartitions);
  }

  // ==== JoinGroup ============================================================================

  async joinGroup(apiVersion: number, request: JoinGroupRequest, ctx: RequestContext): Promise<JoinGroupResponse> {
    const groupError = this.#checkGroupId(request.groupId);
    if (groupError !== ErrorCode.NONE) return joinError(apiVersion, groupError, request.memberId);
    const { minMs, maxMs } = { minMs: this.config.groupMinSessionTimeoutMs, maxMs: this.config.groupMaxSessionTimeoutMs };
    if (request.sessionTimeoutMs < minMs || request.sessionTimeoutMs > maxMs) {
      return joinError(apiVersion, ErrorCode.INVALID_SESSION_TIMEOUT, request.memberId);
    }
    // v0 has no rebalance timeout; the session timeout stands in for it, as in Kafka.
    const rebalanceTimeoutMs = apiVersion === 0 || request.rebalanceTimeoutMs < 0 ? request.sessionTimeoutMs : request.rebalanceTimeoutMs;
    const metadataBytes = request.protocols.reduce((sum, p) => sum + p.metadata.length, 0);
    if (metadataBytes > this.config.groupMaxMemberMetadataBytes) {
      this.#log.warn({ groupId: request.groupId, clientId: ctx.clientId, metadataBytes, maxBytes: this.config.groupMaxMemberMetadataBytes }, 'JoinGroup rejected: member metadata too large');
      return joinError(apiVersion, ErrorCode.INVALID_REQUEST, request.memberId);
    }
    if (request.protocolType === '' || request.protocols.length === 0) {
      return joinError(apiVersion, ErrorCode.INCONSISTENT_GROUP_PROTOCOL, request.memberId);
    }
    // Copies: decoded bytes may be views into the request frame, and members outlive the request.
    const protocols = request.protocols.map((p) => ({ name: p.name, metadata: Buffer.from(p.metadata) }));
    const isUnknownMember = request.memberId === '';

    let group = this.#groups.get(request.groupId);
    if (group === undefined) {
      if (!isUnknownMember) return joinError(apiVersion, ErrorCode.UNKNOWN_MEMBER_ID, request.memberId);
      const created = this.#createGroup(request.groupId);
      if (created === null) return joinError(apiVersion, ErrorCode.COORDINATOR_NOT_AVAILABLE, request.memberId);
      group = created;
    }
    // A Dead group is being removed; the client rediscovers the coordinator and retries.
    if (group.is(GroupState.Dead)) return joinError(apiVersion, ErrorCode.COORDINATOR_NOT_AVAILABLE, request.memberId);
    if (!group.supportsProtocols(request.protocolType, protocols, isUnknownMember ? null : request.memberId)) {
      return joinError(apiVersion, ErrorCode.INCONSISTENT_GROUP_PROTOCOL, request.memberId);
    }
    const isNewcomer = isUnknownMember
      ? request.groupInstanceId === null || !group.staticMembers.has(request.groupInstanceId)
      : !group.members.has(request.memberId) && !group.pendingMembers.has(request.memberId);
    if (isNewcomer && group.occupancy >= this.config.groupMaxSize) {
      return joinError(apiVersion, ErrorCode.GROUP_MAX_SIZE_REACHED, request.memberId);
    }

    const join: JoinParams = { apiVersion, request, ctx, protocols, rebalanceTimeoutMs };
    return isUnknownMember ? this.#joinUnknownMember(group, join) : this.#joinKnownMember(group, join);
  }

  #joinUnknownMember(group: Group, join: JoinParams): Promise<JoinGroupResponse> {
    const { apiVersion, request, ctx } = join;
    const memberId = this.#newMemberId(request.groupInstanceId ?? ctx.clientId);
    if (request.groupInstanceId !== null) {
      const oldMemberId = group.staticMembers.get(request.groupInstanceId);
      if (oldMemberId !== undefined) return this.#replaceStaticMember(group, oldMemberId, memberId, join);
      return this.#addMemberAndRebalance(group, memberId, join);
    }
    if (apiVersion >= 4) {
      // The member must come back with this id; until then it holds a place in the group.
      const handle = this.#timer.after(request.sessionTimeoutMs, () => this.#expirePendingMember(group, memberId));
      group.pendingMembers.set(memberId, handle);
      return Promise.resolve(joinError(apiVersion, ErrorCode.MEMBER_ID_REQUIRED, memberId));
    }
    return this.#addMemberAndRebalance(group, memberId, join);
  }

  #joinKnownMember(group: Group, join: JoinParams): Promise<JoinGroupResponse> {
    const { apiVersion, request } = join;
    const pending = group.pendingMembers.get(request.memberId);
    if (pending !== undefined) {
      pending.cancel();
      group.pendingMembers.delete(request.memberId);
      return this.#addMemberAndRebalance(group, request.memberId, join);
    }
    const memberError = validateMember(group, request.memberId, request.groupInstanceId);
    if (memberError !== ErrorCode.NONE) return Promise.resolve(joinError(apiVersion, memberError, request.memberId));
    const member = group.members.get(request.memberId);
    assert(member !== undefined, 'validated member missing');
    switch (group.state) {
      case GroupState.PreparingRebalance:
        return this.#updateMemberAndRebalance(group, member, join);
      case GroupState.CompletingRebalance:
        // Same protocols: the member missed its JoinGroup response; send it again.
        if (sameProtocols(member.protocols, join.protocols)) {
          this.#scheduleSession(group, member);
          return Promise.resolve(this.#joinResponse(apiVersion, group, member, false));
        }
        return this.#updateMemberAndRebalance(group, member, join);
      case GroupState.Stable:
        // The leader rejoins to force a rebalance (say, topic metadata changed); others only on new protocols.
        if (group.isLeader(member.memberId) || !sameProtocols(member.protocols, join.protocols)) {
          return this.#updateMemberAndRebalance(group, member, join);
        }
        this.#scheduleSession(group, member);
        return Promise.resolve(this.#joinResponse(apiVersion, group, member, false));
      case GroupState.Empty:
      case GroupState.Dead:
        return Promise.resolve(joinError(apiVersion, ErrorCode.UNKNOWN_MEMBER_ID, request.memberId));
    }
  }

  #addMemberAndRebalance(group: Group, memberId: string, join: JoinParams): Promise<JoinGroupResponse> {
    const { request, ctx } = join;
    const member: Member = {
      memberId,
      groupInstanceId: request.groupInstanceId,
      clientId: ctx.clientId,
      clientHost: ctx.clientHost,
      rebalanceTimeoutMs: join.rebalanceTimeoutMs,
      sessionTimeoutMs: request.sessionTimeoutMs,
      protocolType: request.protocolType,
      protocols: join.protocols,
      assignment: EMPTY,
      awaitingJoin: null,
      awaitingSync: null,
      isNew: true,
      sessionTimer: null,
    };
    group.addMember(member);
    if (group.initialDelay !== null) group.initialDelay.newMemberAdded = true;
    this.#scheduleSession(group, member);
    const response = this.#parkJoin(member, join.apiVersion);
    this.#maybePrepareRebalance(group, `member ${memberId} joined`);
    this.#tryCompleteJoin(group);
    return response;
  }

  #updateMemberAndRebalance(group: Group, member: Member, join: JoinParams): Promise<JoinGroupResponse> {
    member.protocols = join.protocols;
    member.rebalanceTimeoutMs = join.rebalanceTimeoutMs;
    member.sessionTimeoutMs = join.request.sessionTimeoutMs;
    this.#scheduleSession(group, member);
    const response = this.#parkJoin(member, join.apiVersion);
    this.#maybePrepareRebalance(group, `member ${member.memberId} rejoined`);
    this.#tryCompleteJoin(group);
    return response;
  }

  /** A static member came back with a new member id: the old id is fenced, the instance keeps its place. */
  async #replaceStaticMember(group: Group, oldMemberId: string, newMemberId: string, join: JoinParams): Promise<JoinGroupResponse> {
    const { apiVersion, request, ctx } = join;
    const instanceId = request.groupInstanceId;
    assert(instanceId !== null, 'static replacement without an instance id');
    const old = group.members.get(oldMemberId);
    assert(old !== undefined, 'static member missing');
    const member: Member = {
      ...old,
      memberId: newMemberId,
      clientId: ctx.clientId,
      clientHost: ctx.clientHost,
      rebalanceTimeoutMs: join.rebalanceTimeoutMs,
      sessionTimeoutMs: request.sessionTimeoutMs,
      protocols: join.protocols,
      awaitingJoin: null,
      awaitingSync: null,
      sessionTimer: null,
    };
    group.replaceStaticMember(instanceId, oldMemberId, member);
    fenceMember(old);
    this.#scheduleSession(group, member);
    this.#log.info({ groupId: group.groupId, instanceId, oldMemberId, newMemberId }, 'static member replaced');

    if (group.is(GroupState.Stable) && group.selectProtocol() === group.protocolName) {
      // Nothing the assignment depends on changed: persist the new id and hand back the current generation.
      const generationId = group.generationId;
      const error = await this.#appendGroupMetadata(group);
      if (error !== ErrorCode.NONE) {
        if (group.members.get(newMemberId) === member && group.generationId === generationId) {
          group.replaceStaticMember(instanceId, newMemberId, { ...member, memberId: oldMemberId, sessionTimer: null });
          member.sessionTimer?.cancel();
          const restored = group.members.get(oldMemberId);
          if (restored !== undefined) this.#scheduleSession(group, restored);
        }
        return joinError(apiVersion, error, '');
      }
      const isLeader = group.isLeader(newMemberId);
      if (!isLeader || apiVersion >= 9) {
        return this.#joinResponse(apiVersion, group, member, isLeader);
      }
      // A leader that cannot be told to skip the assignment needs a full rebalance.
      if (group.members.get(newMemberId) !== member) return joinError(apiVersion, ErrorCode.UNKNOWN_MEMBER_ID, newMemberId);
    }
    if (group.members.get(newMemberId) !== member) return joinError(apiVersion, ErrorCode.UNKNOWN_MEMBER_ID, newMemberId);
    const response = this.#parkJoin(member, apiVersion);
    this.#maybePrepareRebalance(group, `static member ${instanceId} rejoined`);
    this.#tryCompleteJoin(group);
    return response;
  }

  #parkJoin(member: Member, apiVersion: number): Promise<JoinGroupResponse> {
    return new Promise((resolve) => {
      // A member that sends JoinGroup again supersedes its earlier one; that one gets a retriable error.
      member.awaitingJoin?.resolve(joinError(member.awaitingJoin.apiVersion, ErrorCode.REBALANCE_IN_PROGRESS, member.memberId));
      member.awaitingJoin = { apiVersion, resolve };
    });
  }

  #joinResponse(apiVersion: number, group: Group, member: Member, skipAssignment: boolean): JoinGroupResponse {
    const isLeader = group.isLeader(member.memberId);
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      generationId: group.generationId,
      protocolType: group.protocolType,
      protocolName: group.protocolName ?? (apiVersion >= 7 ? null : ''),
      leader: group.leaderId ?? '',
      skipAssignment,
      memberId: member.memberId,
      members: isLeader
        ? [...group.members.values()].map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, metadata: group.memberMetadata(m, group.protocolName) }))
        : [],
    };
  }

  #expirePendingMember(group: Group, memberId: string): void {
    if (!group.pendingMembers.delete(memberId)) return;
    this.#log.debug({ groupId: group.groupId, memberId }, 'pending member did not rejoin in time');
    if (group.is(GroupState.PreparingRebalance)) this.#tryCompleteJoin(group);
    this.#dropIfUnused(group);
  }

  // ==== rebalance ============================================================================

  #maybePrepareRebalance(group: Group, reason: string): void {
    if (group.is(GroupState.Stable) || group.is(GroupState.CompletingRebalance) || group.is(GroupState.Empty)) {
      this.#prepareRebalance(group, reason);
    }
  }

  #prepareRebalance(group: Group, reason: string): void {
    if (group.is(GroupState.CompletingRebalance)) this.#failParkedSyncs(group, ErrorCode.REBALANCE_IN_PROGRESS);
    group.syncTimer?.cancel();
    group.syncTimer = null;
    group.pendingSyncMembers.clear();
    group.joinTimer?.cancel();
    const wasEmpty = group.is(GroupState.Empty);
    group.transitionTo(GroupState.PreparingRebalance, this.#clock.nowMs());
    this.#log.info({ groupId: group.groupId, generationId: group.generationId, reason }, 'preparing to rebalance');
    const delayMs = this.config.groupInitialRebalanceDelayMs;
    if (wasEmpty && delayMs > 0) {
      // A new group waits a little so the first generation holds more than the first consumer.
      group.initialDelay = { remainingMs: Math.max(group.rebalanceTimeoutMs - delayMs, 0), newMemberAdded: false };
      group.joinTimer = this.#timer.after(delayMs, () => this.#onInitialDelayExpired(group));
    } else {
      group.initialDelay = null;
      group.joinTimer = this.#timer.after(group.rebalanceTimeoutMs, () => this.#onJoinTimeout(group));
    }
  }

  #onInitialDelayExpired(group: Group): void {
    group.joinTimer = null;
    const delay = group.initialDelay;
    if (!group.is(GroupState.PreparingRebalance) || delay === null) return;
    if (delay.newMemberAdded && delay.remainingMs > 0) {
      delay.newMemberAdded = false;
      const nextMs = Math.min(this.config.groupInitialRebalanceDelayMs, delay.remainingMs);
      delay.remainingMs = Math.max(delay.remainingMs - nextMs, 0);
      group.joinTimer = this.#timer.after(nextMs, () => this.#onInitialDelayExpired(group));
      return;
    }
    group.initialDelay = null;
    this.#completeJoin(group);
  }

  #onJoinTimeout(group: Group): void {
    group.joinTimer = null;
    if (group.is(GroupState.PreparingRebalance)) this.#completeJoin(group);
  }

  #tryCompleteJoin(group: Group): void {
    if (group.is(GroupState.PreparingRebalance) && group.initialDelay === null && group.hasAllMembersJoined()) {
      this.#completeJoin(group);
    }
  }

  /** Ends the join phase: starts the next generation and answers every parked JoinGroup. */
  #completeJoin(group: Group): void {
    assert(group.is(GroupState.PreparingRebalance), () => `completing a join in state ${group.state}`);
    group.joinTimer?.cancel();
    group.joinTimer = null;
    group.initialDelay = null;
    // Dynamic members that did not rejoin are gone; static ones keep their place until their session expires.
    for (const m of [...group.members.values()]) {
      if (m.awaitingJoin === null && m.groupInstanceId === null) {
        this.#log.info({ groupId: group.groupId, memberId: m.memberId }, 'member did not rejoin in time; removing');
        group.removeMember(m.memberId);
      }
    }
    group.electLeaderAmongJoined();
    if (group.size > 0 && group.numAwaitingJoin === 0) {
      // Only absent static members remain: wait for them to rejoin or for their sessions to expire.
      group.joinTimer = this.#timer.after(group.rebalanceTimeoutMs, () => this.#onJoinTimeout(group));
      return;
    }
    const nowMs = this.#clock.nowMs();
    group.generationId++;
    if (group.size === 0) {
      group.protocolName = null;
      group.leaderId = null;
      group.transitionTo(GroupState.Empty, nowMs);
      this.#log.info({ groupId: group.groupId, generationId: group.generationId }, 'group is empty');
      void this.#appendGroupMetadata(group);
      return;
    }
    group.protocolName = group.selectProtocol();
    group.transitionTo(GroupState.CompletingRebalance, nowMs);
    this.#log.info({ groupId: group.groupId, generationId: group.generationId, protocol: group.protocolName, members: group.size }, 'join phase complete');
    const generationId = group.generationId;
    group.syncTimer = this.#timer.after(group.rebalanceTimeoutMs, () => this.#onSyncTimeout(group, generationId));
    for (const m of group.members.values()) {
      group.pendingSyncMembers.add(m.memberId);
      m.isNew = false;
      m.assignment = EMPTY;
    }
    for (const m of group.members.values()) {
      const parked = m.awaitingJoin;
      if (parked === null) continue;
      m.awaitingJoin = null;
      parked.resolve(this.#joinResponse(parked.apiVersion, group, m, false));
      this.#scheduleSession(group, m);
    }
  }

  /** Members that never sent SyncGroup for this generation are removed and the group rebalances. */
  #onSyncTimeout(group: Group, generationId: number): void {
    group.syncTimer = null;
    if (group.generationId !== generationId || group.pendingSyncMembers.size === 0) return;
    if (!group.is(GroupState.CompletingRebalance) && !group.is(GroupState.Stable)) return;
    for (const memberId of [...group.pendingSyncMembers]) {
      this.#log.info({ groupId: group.groupId, memberId }, 'member did not sync in time; removing');
      const member = group.members.get(memberId);
      if (member !== undefined) failParked(member, ErrorCode.UNKNOWN_MEMBER_ID);
      group.removeMember(memberId);
    }
    group.pendingSyncMembers.clear();
    this.#prepareRebalance(group, 'members did not sync in time');
    this.#tryCompleteJoin(group);
  }

  #failParkedSyncs(group: Group, errorCode: number): void {
    for (const m of group.members.values()) {
      m.assignment = EMPTY;
      const parked = m.awaitingSync;
      if (parked === null) continue;
      m.awaitingSync = null;
      parked.resolve(syncError(errorCode));
    }
  }

  #removeMemberAndUpdateGroup(group: Group, member: Member, reason: string): void {
    failParked(member, ErrorCode.UNKNOWN_MEMBER_ID);
    group.removeMember(member.memberId);
    this.#log.info({ groupId: group.groupId, memberId: member.memberId, reason }, 'member removed');
    if (group.is(GroupState.Stable) || group.is(GroupState.CompletingRebalance)) {
      this.#prepareRebalance(group, `member ${member.memberId} removed: ${reason}`);
      this.#tryCompleteJoin(group);
    } else if (group.is(GroupState.PreparingRebalance)) {
      this.#tryCompleteJoin(group);
    }
  }

  #scheduleSession(group: Group, member: Member): void {
    member.sessionTimer?.cancel();
    member.sessionTimer = this.#timer.after(member.sessionTimeoutMs, () => this.#onSessionExpired(group, member));
  }

  #onSessionExpired(group: Group, member: Member): void {
    member.sessionTimer = null;
    if (this.#groups.get(group.groupId) !== group || group.members.get(member.memberId) !== member) return;
    // A parked request is the member's heartbeat: it is waiting on us, not gone.
    if (member.awaitingJoin !== null || member.awaitingSync !== null) {
      this.#scheduleSession(group, member);
      return;
    }
    this.#removeMemberAndUpdateGroup(group, member, 'session timeout expired');
  }

  // ==== SyncGroup ============================================================================

  async syncGroup(apiVersion: number, request: SyncGroupRequest, _ctx: RequestContext): Promise<SyncGroupResponse> {
    const groupError = this.#checkGroupId(request.groupId);
    if (groupError !== ErrorCode.NONE) return syncError(groupError);
    const group = this.#groups.get(request.groupId);
    if (group === undefined) return syncError(ErrorCode.UNKNOWN_MEMBER_ID);
    if (group.is(GroupState.Dead)) return syncError(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    const memberError = validateMember(group, request.memberId, request.groupInstanceId);
    if (memberError !== ErrorCode.NONE) return syncError(memberError);
    if (request.generationId !== group.generationId) return syncError(ErrorCode.ILLEGAL_GENERATION);
    if ((request.protocolType !== null && request.protocolType !== group.protocolType) || (request.protocolName !== null && request.protocolName !== group.protocolName)) {
      return syncError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    }
    for (const a of request.assignments) {
      if (a.assignment.length > this.config.groupMaxMemberMetadataBytes) {
        this.#log.warn({ groupId: group.groupId, memberId: a.memberId, assignmentBytes: a.assignment.length }, 'SyncGroup rejected: assignment too large');
        return syncError(ErrorCode.INVALID_REQUEST);
      }
    }
    const member = group.members.get(request.memberId);
    assert(member !== undefined, 'validated member missing');
    this.#scheduleSession(group, member);
    switch (group.state) {
      case GroupState.Empty:
      case GroupState.Dead:
        return syncError(ErrorCode.UNKNOWN_MEMBER_ID);
      case GroupState.PreparingRebalance:
        return syncError(ErrorCode.REBALANCE_IN_PROGRESS);
      case GroupState.Stable:
        this.#markSynced(group, member.memberId);
        return this.#syncResponse(group, member.assignment);
      case GroupState.CompletingRebalance: {
        const response = new Promise<SyncGroupResponse>((resolve) => {
          member.awaitingSync?.resolve(syncError(ErrorCode.REBALANCE_IN_PROGRESS));
          member.awaitingSync = { apiVersion, resolve };
        });
        this.#markSynced(group, member.memberId);
        if (group.isLeader(member.memberId)) void this.#completeSync(group, request.assignments);
        return response;
      }
    }
  }

  #markSynced(group: Group, memberId: string): void {
    group.pendingSyncMembers.delete(memberId);
    if (group.pendingSyncMembers.size === 0) {
      group.syncTimer?.cancel();
      group.syncTimer = null;
    }
  }

  /** Persists the leader's assignment, then (and only then) moves to Stable and answers the parked syncs. */
  async #completeSync(group: Group, assignments: { memberId: string; assignment: Buffer }[]): Promise<void> {
    const generationId = group.generationId;
    const byMember = new Map(assignments.map((a) => [a.memberId, Buffer.from(a.assignment)]));
    const error = await this.#appendGroupMetadata(group, byMember);
    const current = this.#groups.get(group.groupId) === group && group.is(GroupState.CompletingRebalance) && group.generationId === generationId;
    if (!current) return;
    if (error !== ErrorCode.NONE) {
      this.#failParkedSyncs(group, error);
      this.#prepareRebalance(group, 'failed to persist the assignment');
      this.#tryCompleteJoin(group);
      return;
    }
    for (const m of group.members.values()) m.assignment = byMember.get(m.memberId) ?? EMPTY;
    group.transitionTo(GroupState.Stable, this.#clock.nowMs());
    this.#log.info({ groupId: group.groupId, generationId }, 'group is stable');
    for (const m of group.members.values()) {
      const parked = m.awaitingSync;
      if (parked === null) continue;
      m.awaitingSync = null;
      parked.resolve(this.#syncResponse(group, m.assignment));
    }
  }

  #syncResponse(group: Group, assignment: Buffer): SyncGroupResponse {
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, protocolType: group.protocolType, protocolName: group.protocolName, assignment };
  }

  // ==== Heartbeat ============================================================================

  async heartbeat(_apiVersion: number, request: HeartbeatRequest, _ctx: RequestContext): Promise<HeartbeatResponse> {
    const errorCode = this.#heartbeat(request);
    return { throttleTimeMs: 0, errorCode };
  }

  #heartbeat(request: HeartbeatRequest): number {
    const groupError = this.#checkGroupId(request.groupId);
    if (groupError !== ErrorCode.NONE) return groupError;
    const group = this.#groups.get(request.groupId);
    if (group === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (group.is(GroupState.Dead)) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    const memberError = validateMember(group, request.memberId, request.groupInstanceId);
    if (memberError !== ErrorCode.NONE) return memberError;
    if (group.is(GroupState.Empty)) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (request.generationId !== group.generationId) return ErrorCode.ILLEGAL_GENERATION;
    const member = group.members.get(request.memberId);
    assert(member !== undefined, 'validated member missing');
    this.#scheduleSession(group, member);
    return group.is(GroupState.PreparingRebalance) ? ErrorCode.REBALANCE_IN_PROGRESS : ErrorCode.NONE;
  }

  // ==== LeaveGroup ===========================================================================

  async leaveGroup(apiVersion: number, request: LeaveGroupRequest, _ctx: RequestContext): Promise<LeaveGroupResponse> {
    const identities = apiVersion >= 3 ? request.members : [{ memberId: request.memberId, groupInstanceId: null }];
    const groupError = this.#checkGroupId(request.groupId);
    if (groupError !== ErrorCode.NONE) return { throttleTimeMs: 0, errorCode: groupError, members: [] };
    const group = this.#groups.get(request.groupId);
    let results: { memberId: string; groupInstanceId: string | null; errorCode: number }[];
    if (group === undefined) {
      results = identities.map((i) => ({ memberId: i.memberId, groupInstanceId: i.groupInstanceId, errorCode: ErrorCode.UNKNOWN_MEMBER_ID }));
    } else if (group.is(GroupState.Dead)) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, members: [] };
    } else {
      results = identities.map((i) => ({ memberId: i.memberId, groupInstanceId: i.groupInstanceId, errorCode: this.#leave(group, i.memberId, i.groupInstanceId) }));
    }
    if (apiVersion < 3) {
      // One member, and its error is the response's error.
      return { throttleTimeMs: 0, errorCode: results[0]?.errorCode ?? ErrorCode.NONE, members: [] };
    }
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, members: results };
  }

  #leave(group: Group, memberId: string, groupInstanceId: string | null): number {
    if (memberId === '' && groupInstanceId !== null) {
      // v4+: a static member may leave by its instance id alone.
      const staticId = group.staticMembers.get(groupInstanceId);
      if (staticId === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
      memberId = staticId;
    } else if (group.pendingMembers.has(memberId)) {
      group.pendingMembers.get(memberId)?.cancel();
      group.pendingMembers.delete(memberId);
      if (group.is(GroupState.PreparingRebalance)) this.#tryCompleteJoin(group);
      return ErrorCode.NONE;
    }
    const memberError = validateMember(group, memberId, groupInstanceId);
    if (memberError !== ErrorCode.NONE) return memberError;
    const member = group.members.get(memberId);
    assert(member !== undefined, 'validated member missing');
    this.#removeMemberAndUpdateGroup(group, member, 'left the group');
    return ErrorCode.NONE;
  }

  // ==== OffsetCommit =========================================================================

  async offsetCommit(apiVersion: number, request: OffsetCommitRequest, _ctx: RequestContext): Promise<OffsetCommitResponse> {
    const allWith = (errorCode: number): OffsetCommitResponse => ({
      throttleTimeMs: 0,
      topics: request.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode })) })),
    });
    const groupError = this.#checkGroupId(request.groupId);
    if (groupError !== ErrorCode.NONE) return allWith(groupError);
    const generationId = apiVersion >= 1 ? request.generationIdOrMemberEpoch : -1;
    const memberId = apiVersion >= 1 ? request.memberId : '';
    const groupInstanceId = apiVersion >= 7 ? request.groupInstanceId : null;

    let group = this.#groups.get(request.groupId);
    if (group === undefined) {
      // A group unknown here may still commit if it does not use group management (generation -1).
      if (generationId >= 0) return allWith(ErrorCode.ILLEGAL_GENERATION);
      const created = this.#createGroup(request.groupId);
      if (created === null) return allWith(ErrorCode.COORDINATOR_NOT_AVAILABLE);
      group = created;
    }
    if (group.is(GroupState.Dead)) return allWith(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    if (generationId >= 0 || memberId !== '' || groupInstanceId !== null) {
      const memberError = validateMember(group, memberId, groupInstanceId);
      if (memberError !== ErrorCode.NONE) return allWith(memberError);
      if (generationId !== group.generationId) return allWith(ErrorCode.ILLEGAL_GENERATION);
    } else if (!group.is(GroupState.Empty)) {
      // Without a generation only a group without members ("simple consumer") may commit.
      return allWith(ErrorCode.UNKNOWN_MEMBER_ID);
    }
    // The member got its JoinGroup response but not its assignment yet; it retries after SyncGroup.
    if (group.is(GroupState.CompletingRebalance)) return allWith(ErrorCode.REBALANCE_IN_PROGRESS);
    const member = group.members.get(memberId);
    if (member !== undefined) this.#scheduleSession(group, member);

    const nowMs = this.#clock.nowMs();
    // v2-4 may carry their own retention; the commit then expires on its own clock (value v1).
    const expireTimestampMs = apiVersion >= 2 && apiVersion <= 4 && request.retentionTimeMs >= 0 ? nowMs + request.retentionTimeMs : -1;
    const records: GroupRecord[] = [];
    const accepted: { topic: string; partition: number; committed: CommittedOffset }[] = [];
    const errors = new Map<string, number>();
    for (const t of request.topics) {
      for (const p of t.partitions) {
        const metadata = p.committedMetadata ?? '';
        if (Buffer.byteLength(metadata, 'utf8') > this.config.offsetMetadataMaxBytes) {
          errors.set(`${t.name}\0${p.partitionIndex}`, ErrorCode.OFFSET_METADATA_TOO_LARGE);
          continue;
        }
        const committed: CommittedOffset = {
          offset: p.committedOffset,
          leaderEpoch: apiVersion >= 6 ? p.committedLeaderEpoch : -1,
          metadata,
          commitTimestampMs: apiVersion === 1 && p.commitTimestamp >= 0 ? p.commitTimestamp : nowMs,
          expireTimestampMs,
        };
        accepted.push({ topic: t.name, partition: p.partitionIndex, committed });
        records.push({ key: encodeOffsetCommitKey(group.groupId, t.name, p.partitionIndex), value: encodeOffsetCommitValue(toOffsetValue(committed)) });
      }
    }
    if (records.length > 0) {
      const pendingKeys = accepted.map((a) => `${a.topic}\0${a.partition}`);
      for (const k of pendingKeys) group.pendingOffsetCommits.set(k, (group.pendingOffsetCommits.get(k) ?? 0) + 1);
      const appendError = await this.#append(group.partition, records);
      for (const k of pendingKeys) {
        const n = (group.pendingOffsetCommits.get(k) ?? 1) - 1;
        if (n <= 0) group.pendingOffsetCommits.delete(k);
        else group.pendingOffsetCommits.set(k, n);
      }
      for (const a of accepted) {
        if (appendError === ErrorCode.NONE) group.setOffset(a.topic, a.partition, a.committed);
        else errors.set(`${a.topic}\0${a.partition}`, appendError);
      }
    }
    return {
      throttleTimeMs: 0,
      topics: request.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: errors.get(`${t.name}\0${p.partitionIndex}`) ?? ErrorCode.NONE })),
      })),
    };
  }

  // ==== OffsetFetch ==========================================================================

  async offsetFetch(apiVersion: number, request: OffsetFetchRequest, _ctx: RequestContext): Promise<OffsetFetchResponse> {
    if (apiVersion >= 8) {
      const groups = request.groups.map((g) => ({ groupId: g.groupId, ...this.#fetchOffsets(g.groupId, g.topics, request.requireStable) }));
      return { throttleTimeMs: 0, topics: [], errorCode: ErrorCode.NONE, groups };
    }
    // Before v2 `topics` cannot be null and errors live on partitions only.
    const topics = apiVersion < 2 ? (request.topics ?? []) : request.topics;
    const result = this.#fetchOffsets(request.groupId, topics, apiVersion >= 7 && request.requireStable);
    if (apiVersion < 2 && result.errorCode !== ErrorCode.NONE) {
      const errorCode = result.errorCode;
      return {
        throttleTimeMs: 0,
        topics: (topics ?? []).map((t) => ({ name: t.name, partitions: t.partitionIndexes.map((p) => ({ ...noOffset(p), errorCode })) })),
        errorCode: ErrorCode.NONE,
        groups: [],
      };
    }
    return { throttleTimeMs: 0, topics: result.topics, errorCode: result.errorCode, groups: [] };
  }

  #fetchOffsets(groupId: string, topics: OffsetFetchRequestTopic[] | null, requireStable: boolean): { topics: OffsetFetchResponseTopic[]; errorCode: number } {
    const coordinatorError = this.#checkCoordinator(groupId);
    if (coordinatorError !== ErrorCode.NONE) return { topics: [], errorCode: coordinatorError };
    const group = this.#groups.get(groupId);
    const known = group !== undefined && !group.is(GroupState.Dead) ? group : undefined;
    if (topics === null) {
      if (known === undefined) return { topics: [], errorCode: ErrorCode.NONE };
      return {
        topics: [...known.offsets.entries()].map(([name, partitions]) => ({
          name,
          partitions: [...partitions.entries()].map(([partitionIndex, c]) => this.#fetchedPartition(known, name, partitionIndex, c, requireStable)),
        })),
        errorCode: ErrorCode.NONE,
      };
    }
    return {
      topics: topics.map((t) => ({
        name: t.name,
        partitions: t.partitionIndexes.map((p) => (known === undefined ? noOffset(p) : this.#fetchedPartition(known, t.name, p, known.offset(t.name, p), requireStable))),
      })),
      errorCode: ErrorCode.NONE,
    };
  }

  #fetchedPartition(group: Group, topic: string, partitionIndex: number, committed: CommittedOffset | undefined, requireStable: boolean) {
    if (requireStable && group.hasPendingCommit(topic, partitionIndex)) return { ...noOffset(partitionIndex), errorCode: ErrorCode.UNSTABLE_OFFSET_COMMIT };
    if (committed === undefined) return noOffset(partitionIndex);
    return { partitionIndex, committedOffset: committed.offset, committedLeaderEpoch: committed.leaderEpoch, metadata: committed.metadata, errorCode: ErrorCode.NONE };
  }

  // ==== DescribeGroups / ListGroups ==========================================================

  async describeGroups(_apiVersion: number, request: DescribeGroupsRequest, _ctx: RequestContext): Promise<DescribeGroupsResponse> {
    const authorizedOperations = request.includeAuthorizedOperations ? ALL_GROUP_OPERATIONS : AUTHORIZED_OPERATIONS_OMITTED;
    const groups = request.groups.map((groupId): DescribedGroup => {
      const described: DescribedGroup = { errorCode: ErrorCode.NONE, groupId, groupState: GroupState.Dead, protocolType: '', protocolData: '', members: [], authorizedOperations };
      const coordinatorError = this.#checkCoordinator(groupId);
      if (coordinatorError !== ErrorCode.NONE) return { ...described, errorCode: coordinatorError, groupState: '' };
      const group = this.#groups.get(groupId);
      if (group === undefined) return described;
      const stable = group.is(GroupState.Stable);
      return {
        ...described,
        groupState: group.state,
        protocolType: group.protocolType ?? '',
        // Metadata and assignments mean something only once the generation is settled.
        protocolData: stable ? (group.protocolName ?? '') : '',
        members: [...group.members.values()].map((m) => ({
          memberId: m.memberId,
          groupInstanceId: m.groupInstanceId,
          clientId: m.clientId,
          clientHost: m.clientHost,
          memberMetadata: stable ? group.memberMetadata(m, group.protocolName) : EMPTY,
          memberAssignment: stable ? m.assignment : EMPTY,
        })),
      };
    });
    return { throttleTimeMs: 0, groups };
  }

  async listGroups(_apiVersion: number, request: ListGroupsRequest, _ctx: RequestContext): Promise<ListGroupsResponse> {
    const states = new Set(request.statesFilter.map((s) => s.toLowerCase()));
    const types = new Set(request.typesFilter.map((s) => s.toLowerCase()));
    const loading = [...this.#partitions.values()].includes('loading');
    const groups: ListGroupsResponse['groups'] = [];
    for (const group of this.#groups.values()) {
      if (group.is(GroupState.Dead) || this.#partitions.get(group.partition) !== 'active') continue;
      if (states.size > 0 && !states.has(group.state.toLowerCase())) continue;
      if (types.size > 0 && !types.has(GROUP_TYPE_CLASSIC)) continue;
      groups.push({ groupId: group.groupId, protocolType: group.protocolType ?? '', groupState: group.state, groupType: GROUP_TYPE_CLASSIC });
    }
    return { throttleTimeMs: 0, errorCode: loading ? ErrorCode.COORDINATOR_LOAD_IN_PROGRESS : ErrorCode.NONE, groups };
  }

  // ==== DeleteGroups / OffsetDelete ==========================================================

  async deleteGroups(_apiVersion: number, request: DeleteGroupsRequest, _ctx: RequestContext): Promise<DeleteGroupsResponse> {
    const results: { groupId: string; errorCode: number }[] = [];
    const writes: Promise<void>[] = [];
    for (const groupId of request.groupsNames) {
      const groupError = this.#checkGroupId(groupId);
      const group = this.#groups.get(groupId);
      const result = { groupId, errorCode: groupError };
      results.push(result);
      if (groupError !== ErrorCode.NONE) continue;
      if (group === undefined || group.is(GroupState.Dead)) {
        result.errorCode = ErrorCode.GROUP_ID_NOT_FOUND;
      } else if (!group.is(GroupState.Empty)) {
        result.errorCode = ErrorCode.NON_EMPTY_GROUP;
      } else {
        const tombstones = this.#removeGroup(group);
        writes.push(this.#append(group.partition, tombstones).then((e) => void (result.errorCode = e)));
      }
    }
    await Promise.all(writes);
    return { throttleTimeMs: 0, results };
  }

  async offsetDelete(_apiVersion: number, request: OffsetDeleteRequest, _ctx: RequestContext): Promise<OffsetDeleteResponse> {
    const topLevel = (errorCode: number): OffsetDeleteResponse => ({ errorCode, throttleTimeMs: 0, topics: [] });
    const groupError = this.#checkGroupId(request.groupId);
    if (groupError !== ErrorCode.NONE) return topLevel(groupError);
    const group = this.#groups.get(request.groupId);
    if (group === undefined || group.is(GroupState.Dead)) return topLevel(ErrorCode.GROUP_ID_NOT_FOUND);
    const checkSubscription = !group.is(GroupState.Empty);
    if (checkSubscription && group.protocolType !== CONSUMER_PROTOCOL_TYPE) return topLevel(ErrorCode.NON_EMPTY_GROUP);

    const records: GroupRecord[] = [];
    const deleted: string[] = [];
    const errors = new Map<string, number>();
    for (const t of request.topics) {
      const subscribed = checkSubscription && group.isSubscribedToTopic(t.name);
      for (const p of t.partitions) {
        const k = `${t.name}\0${p.partitionIndex}`;
        if (subscribed) {
          errors.set(k, ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC);
        } else if (group.deleteOffset(t.name, p.partitionIndex)) {
          deleted.push(k);
          records.push({ key: encodeOffsetCommitKey(group.groupId, t.name, p.partitionIndex), value: null });
        }
      }
    }
    if (records.length > 0) {
      const appendError = await this.#append(group.partition, records);
      if (appendError !== ErrorCode.NONE) for (const k of deleted) errors.set(k, appendError);
    }
    return {
      errorCode: ErrorCode.NONE,
      throttleTimeMs: 0,
      topics: request.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: errors.get(`${t.name}\0${p.partitionIndex}`) ?? ErrorCode.NONE })),
      })),
    };
  }

  // ==== partitions: load, unload, expiry =====================================================

  /**
   * Becomes coordinator for one `__consumer_offsets` partition, rebuilding its groups from the
   * partition's records (oldest first; the latest value per key wins, null deletes). Requests for
   * its groups get COORDINATOR_LOAD_IN_PROGRESS meanwhile. Members loaded from a stable group get a
   * fresh session timeout to heartbeat again.
   */
  async loadPartition(partition: number, records: AsyncIterable<GroupRecord>): Promise<void> {
    assert(Number.isInteger(partition) && partition >= 0 && partition < this.config.offsetsTopicNumPartitions, `no such __consumer_offsets partition ${partition}`);
    if (this.#partitions.has(partition)) this.unloadPartition(partition);
    this.#partitions.set(partition, 'loading');
    const offsets = new Map<string, Map<string, { topic: string; partition: number; value: OffsetCommitValue }>>();
    const metadata = new Map<string, GroupMetadataValue>();
    let count = 0;
    try {
      for await (const record of records) {
        count++;
        const key = decodeGroupRecordKey(record.key);
        if (key.type === 'unknown') continue;
        if (key.type === 'group') {
          if (record.value === null) metadata.delete(key.groupId);
          else metadata.set(key.groupId, decodeGroupMetadataValue(record.value));
          continue;
        }
        let groupOffsets = offsets.get(key.groupId);
        const tp = `${key.topic}\0${key.partition}`;
        if (record.value === null) {
          groupOffsets?.delete(tp);
          continue;
        }
        if (groupOffsets === undefined) {
          groupOffsets = new Map();
          offsets.set(key.groupId, groupOffsets);
        }
        groupOffsets.set(tp, { topic: key.topic, partition: key.partition, value: decodeOffsetCommitValue(record.value) });
      }
    } catch (e) {
      this.#partitions.delete(partition);
      throw e;
    }
    if (this.#partitions.get(partition) !== 'loading') return; // unloaded meanwhile
    const nowMs = this.#clock.nowMs();
    for (const groupId of new Set([...metadata.keys(), ...offsets.keys()])) {
      const value = metadata.get(groupId);
      const groupOffsets = offsets.get(groupId);
      if (value === undefined && (groupOffsets === undefined || groupOffsets.size === 0)) continue;
      assert(this.partitionFor(groupId) === partition, () => `group ${groupId} found in partition ${partition}, belongs to ${this.partitionFor(groupId)}`);
      const group = new Group(groupId, partition, value !== undefined && value.members.length > 0 ? GroupState.Stable : GroupState.Empty, nowMs);
      if (value !== undefined) this.#restoreGroup(group, value);
      for (const o of groupOffsets?.values() ?? []) group.setOffset(o.topic, o.partition, fromOffsetValue(o.value));
      this.#groups.set(groupId, group);
    }
    this.#partitions.set(partition, 'active');
    this.#log.info({ partition, records: count, groups: [...this.#groups.values()].filter((g) => g.partition === partition).length }, 'loaded __consumer_offsets partition');
  }

  #restoreGroup(group: Group, value: GroupMetadataValue): void {
    group.generationId = value.generationId;
    group.protocolType = value.protocolType === '' ? null : value.protocolType;
    group.protocolName = value.protocolName;
    group.currentStateTimestampMs = value.currentStateTimestampMs;
    for (const m of value.members) {
      const member: Member = {
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        rebalanceTimeoutMs: m.rebalanceTimeoutMs,
        sessionTimeoutMs: m.sessionTimeoutMs,
        protocolType: value.protocolType,
        protocols: [{ name: value.protocolName ?? '', metadata: m.subscription }],
        assignment: m.assignment,
        awaitingJoin: null,
        awaitingSync: null,
        isNew: false,
        sessionTimer: null,
      };
      group.addMember(member);
      this.#scheduleSession(group, member);
    }
    group.leaderId = value.leaderId !== null && group.members.has(value.leaderId) ? value.leaderId : group.leaderId;
  }

  /** Stops coordinating a partition (leadership moved): its groups leave memory; parked requests get NOT_COORDINATOR. */
  unloadPartition(partition: number): void {
    for (const group of [...this.#groups.values()]) {
      if (group.partition !== partition) continue;
      for (const m of group.members.values()) failParked(m, ErrorCode.NOT_COORDINATOR);
      group.cancelTimers();
      group.transitionTo(GroupState.Dead, this.#clock.nowMs());
      this.#groups.delete(group.groupId);
    }
    this.#partitions.delete(partition);
  }

  /** Unloads every partition: cancels all timers and answers every parked request. */
  close(): void {
    for (const partition of [...this.#partitions.keys()]) this.unloadPartition(partition);
  }

  /**
   * Expires committed offsets as Kafka does: for an Empty group, `offsetsRetentionMinutes` after it
   * became Empty; for a group that only stores offsets, after each commit; for a stable consumer
   * group, after the commit for topics it no longer subscribes to. Commits that carried their own
   * retention expire at their own time. Groups left Empty without offsets are removed too. Removes
   * them from memory and returns the tombstones the caller must append.
   */
  expireOffsets(nowMs: number): PartitionRecords[] {
    const retentionMs = this.config.offsetsRetentionMinutes * 60_000;
    const byPartition = new Map<number, GroupRecord[]>();
    const add = (partition: number, record: GroupRecord): void => {
      const list = byPartition.get(partition);
      if (list === undefined) byPartition.set(partition, [record]);
      else list.push(record);
    };
    for (const group of [...this.#groups.values()]) {
      if (this.#partitions.get(group.partition) !== 'active' || group.is(GroupState.Dead)) continue;
      let baseMs: ((c: CommittedOffset) => number) | null = null;
      let keep: Set<string> = new Set();
      if (group.protocolType === null && group.is(GroupState.Empty)) {
        baseMs = (c) => c.commitTimestampMs;
      } else if (group.is(GroupState.Empty)) {
        const since = group.currentStateTimestampMs;
        baseMs = (c) => (since >= 0 ? since : c.commitTimestampMs);
      } else if (group.protocolType === CONSUMER_PROTOCOL_TYPE && group.is(GroupState.Stable)) {
        const subscribed = group.subscribedTopics();
        if (subscribed !== null) {
          keep = subscribed;
          baseMs = (c) => c.commitTimestampMs;
        }
      }
      if (baseMs !== null) {
        for (const [topic, partitions] of [...group.offsets.entries()]) {
          if (keep.has(topic)) continue;
          for (const [partition, c] of [...partitions.entries()]) {
            if (group.hasPendingCommit(topic, partition)) continue;
            const expired = c.expireTimestampMs >= 0 ? nowMs >= c.expireTimestampMs : nowMs - baseMs(c) >= retentionMs;
            if (!expired) continue;
            group.deleteOffset(topic, partition);
            add(group.partition, { key: encodeOffsetCommitKey(group.groupId, topic, partition), value: null });
          }
        }
      }
      if (group.is(GroupState.Empty) && group.offsetCount === 0 && group.pendingOffsetCommits.size === 0 && group.pendingMembers.size === 0) {
        for (const r of this.#removeGroup(group)) add(group.partition, r);
      }
    }
    return [...byPartition.entries()].map(([partition, records]) => ({ partition, records }));
  }

  // ==== inspection ===========================================================================

  /** A copy of one group's state, for diagnostics and tests; undefined when the group is unknown. */
  inspectGroup(groupId: string): GroupSnapshot | undefined {
    const group = this.#groups.get(groupId);
    if (group === undefined) return undefined;
    const offsets: GroupSnapshot['offsets'] = [];
    for (const [topic, partitions] of group.offsets) for (const [partition, c] of partitions) offsets.push({ topic, partition, offset: c.offset, metadata: c.metadata });
    return {
      groupId,
      partition: group.partition,
      state: group.state,
      generationId: group.generationId,
      protocolType: group.protocolType,
      protocolName: group.protocolName,
      leaderId: group.leaderId,
      members: [...group.members.values()].map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, clientId: m.clientId, assignment: m.assignment })),
      pendingMemberIds: [...group.pendingMembers.keys()],
      offsets,
    };
  }

  get groupCount(): number {
    return this.#groups.size;
  }

  // ==== helpers ==============================================================================

  #checkCoordinator(groupId: string): number {
    const state = this.#partitions.get(this.partitionFor(groupId));
    if (state === undefined) return ErrorCode.NOT_COORDINATOR;
    if (state === 'loading') return ErrorCode.COORDINATOR_LOAD_IN_PROGRESS;
    return ErrorCode.NONE;
  }

  #checkGroupId(groupId: string): number {
    if (groupId === '') return ErrorCode.INVALID_GROUP_ID;
    return this.#checkCoordinator(groupId);
  }

  #createGroup(groupId: string): Group | null {
    if (this.#groups.size >= this.config.groupMaxCount) {
      this.#log.warn({ groupId, groups: this.#groups.size }, 'refusing a new group: groupMaxCount reached');
      return null;
    }
    const group = new Group(groupId, this.partitionFor(groupId), GroupState.Empty, this.#clock.nowMs());
    this.#groups.set(groupId, group);
    return group;
  }

  /** Forgets a group that never held anything worth persisting (a MEMBER_ID_REQUIRED join that never came back). */
  #dropIfUnused(group: Group): void {
    if (group.is(GroupState.Empty) && group.generationId === 0 && group.occupancy === 0 && group.offsetCount === 0 && group.pendingOffsetCommits.size === 0) {
      group.cancelTimers();
      group.transitionTo(GroupState.Dead, this.#clock.nowMs());
      this.#groups.delete(group.groupId);
    }
  }

  /** Marks a group Dead, drops it from memory and returns the tombstones for its offsets and metadata. */
  #removeGroup(group: Group): GroupRecord[] {
    const tombstones: GroupRecord[] = [];
    for (const [topic, partitions] of group.offsets) {
      for (const partition of partitions.keys()) tombstones.push({ key: encodeOffsetCommitKey(group.groupId, topic, partition), value: null });
    }
    tombstones.push({ key: encodeGroupMetadataKey(group.groupId), value: null });
    group.cancelTimers();
    group.transitionTo(GroupState.Dead, this.#clock.nowMs());
    this.#groups.delete(group.groupId);
    return tombstones;
  }

  /** Writes the group's metadata record (with these assignments, or the members' current ones). */
  #appendGroupMetadata(group: Group, assignments?: Map<string, Buffer>): Promise<number> {
    const value: GroupMetadataValue = {
      protocolType: group.protocolType ?? '',
      generationId: group.generationId,
      protocolName: group.protocolName,
      leaderId: group.leaderId,
      currentStateTimestampMs: group.currentStateTimestampMs,
      members: [...group.members.values()].map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        rebalanceTimeoutMs: m.rebalanceTimeoutMs,
        sessionTimeoutMs: m.sessionTimeoutMs,
        subscription: group.memberMetadata(m, group.protocolName),
        assignment: assignments === undefined ? m.assignment : (assignments.get(m.memberId) ?? EMPTY),
      })),
    };
    return this.#append(group.partition, [{ key: encodeGroupMetadataKey(group.groupId), value: encodeGroupMetadataValue(value) }]);
  }

  /** Appends and maps a failure to the error code the client should see. */
  async #append(partition: number, records: GroupRecord[]): Promise<number> {
    try {
      await this.#store.append(partition, records);
      return ErrorCode.NONE;
    } catch (e) {
      const code = (e as { errorCode?: unknown } | null)?.errorCode;
      this.#log.warn({ partition, records: records.length, err: String(e) }, 'append to __consumer_offsets failed');
      return typeof code === 'number' ? code : ErrorCode.COORDINATOR_NOT_AVAILABLE;
    }
  }

  #newMemberId(prefix: string): string {
    const hex = Array.from({ length: 32 }, () => this.#rng.int(16).toString(16));
    hex[12] = '4';
    hex[16] = ((this.#rng.int(4) + 8) as number).toString(16);
    const s = hex.join('');
    return `${prefix}-${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20)}`;
  }
}

interface JoinParams {
  apiVersion: number;
  request: JoinGroupRequest;
  ctx: RequestContext;
  protocols: MemberProtocol[];
  rebalanceTimeoutMs: number;
}

/** Kafka's check of who may speak for a member: a stale static instance is fenced, an unknown id is refused. */
function validateMember(group: Group, memberId: string, groupInstanceId: string | null): number {
  if (groupInstanceId !== null) {
    const current = group.staticMembers.get(groupInstanceId);
    if (current !== undefined && current !== memberId) return ErrorCode.FENCED_INSTANCE_ID;
  }
  if (!group.members.has(memberId)) return ErrorCode.UNKNOWN_MEMBER_ID;
  return ErrorCode.NONE;
}

function fenceMember(member: Member): void {
  failParked(member, ErrorCode.FENCED_INSTANCE_ID);
}

function failParked(member: Member, errorCode: number): void {
  const join = member.awaitingJoin;
  member.awaitingJoin = null;
  join?.resolve(joinError(join.apiVersion, errorCode, member.memberId));
  const sync = member.awaitingSync;
  member.awaitingSync = null;
  sync?.resolve(syncError(errorCode));
}

function sameProtocols(a: MemberProtocol[], b: MemberProtocol[]): boolean {
  return a.length === b.length && a.every((p, i) => p.name === b[i]?.name && p.metadata.equals(b[i].metadata));
}

function joinError(apiVersion: number, errorCode: number, memberId: string): JoinGroupResponse {
  return {
    throttleTimeMs: 0,
    errorCode,
    generationId: -1,
    protocolType: null,
    // Non-nullable before v7.
    protocolName: apiVersion >= 7 ? null : '',
    leader: '',
    skipAssignment: false,
    memberId,
    members: [],
  };
}

function syncError(errorCode: number): SyncGroupResponse {
  return { throttleTimeMs: 0, errorCode, protocolType: null, protocolName: null, assignment: EMPTY };
}

function noOffset(partitionIndex: number) {
  return { partitionIndex, committedOffset: -1, committedLeaderEpoch: -1, metadata: '', errorCode: ErrorCode.NONE };
}

function toOffsetValue(c: CommittedOffset): OffsetCommitValue {
  return { offset: c.offset, leaderEpoch: c.leaderEpoch, metadata: c.metadata, commitTimestampMs: c.commitTimestampMs, expireTimestampMs: c.expireTimestampMs };
}

function fromOffsetValue(v: OffsetCommitValue): CommittedOffset {
  return { offset: v.offset, leaderEpoch: v.leaderEpoch, metadata: v.metadata, commitTimestampMs: v.commitTimestampMs, expireTimestampMs: v.expireTimestampMs };
}
