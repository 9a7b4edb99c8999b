/**
 * `trib quorum status`: the metadata quorum as DescribeQuorum reports it (what `kafka-metadata-quorum
 * describe --status` and `--replication` show together): leader, epoch, high watermark, the largest follower
 * lag, and one row per voter and observer.
 */
import { UnsupportedVersionError, type QuorumInfo, type QuorumReplicaInfo } from '@tributary/client';
import type { CommandContext } from '../context.ts';
import { table } from '../format.ts';

export type ReplicaStatus = 'Leader' | 'Follower' | 'Observer';

export interface QuorumReplicaRow {
  id: number;
  status: ReplicaStatus;
  /** null when the leader does not know it (-1 on the wire). */
  logEndOffset: number | null;
  /** High watermark minus log end offset, at least 0 (the leader's log runs ahead of the high watermark); null when the log end is unknown. */
  lag: number | null;
  /** null when the replica has not fetched this epoch or the broker answered DescribeQuorum v0 (no timestamps). */
  lastFetchMsAgo: number | null;
  /** Likewise for the time it was last caught up. */
  lastCaughtUpMsAgo: number | null;
}

export interface QuorumStatusReport {
  leaderId: number;
  leaderEpoch: number;
  highWatermark: number;
  /** The largest lag among the voters other than the leader (0 with a single voter; null when a follower's lag is unknown). */
  maxFollowerLag: number | null;
  voters: QuorumReplicaRow[];
  observers: QuorumReplicaRow[];
}

function row(r: QuorumReplicaInfo, status: ReplicaStatus, highWatermark: number, nowMs: number): QuorumReplicaRow {
  const logEndOffset = r.logEndOffset >= 0 ? r.logEndOffset : null;
  // Clocks of two machines may disagree by a little; never print a negative age.
  const ago = (ts: number): number | null => (ts >= 0 ? Math.max(0, nowMs - ts) : null);
  return {
    id: r.replicaId,
    status,
    logEndOffset,
    lag: logEndOffset === null ? null : Math.max(0, highWatermark - logEndOffset),
    lastFetchMsAgo: ago(r.lastFetchTimestamp),
    lastCaughtUpMsAgo: ago(r.lastCaughtUpTimestamp),
  };
}

/** The report for a DescribeQuorum answer; `nowMs` is this machine's clock, to turn timestamps into ages. */
export function quorumStatusReport(q: QuorumInfo, nowMs: number): QuorumStatusReport {
  const byId = (a: QuorumReplicaInfo, b: QuorumReplicaInfo): number => a.replicaId - b.replicaId;
  const voters = [...q.voters].sort(byId).map((r) => row(r, r.replicaId === q.leaderId ? 'Leader' : 'Follower', q.highWatermark, nowMs));
  const observers = [...q.observers].sort(byId).map((r) => row(r, 'Observer', q.highWatermark, nowMs));
  const followers = voters.filter((v) => v.status === 'Follower');
  const maxFollowerLag = followers.some((v) => v.lag === null) ? null : Math.max(0, ...followers.map((v) => v.lag as number));
  return { leaderId: q.leaderId, leaderEpoch: q.leaderEpoch, highWatermark: q.highWatermark, maxFollowerLag, voters, observers };
}

const dash = (v: number | null): string | number => (v === null ? '-' : v);

export function formatQuorumStatus(r: QuorumStatusReport): string {
  const rows = [...r.voters, ...r.observers].map((v) => [v.id, v.status, dash(v.logEndOffset), dash(v.lag), dash(v.lastFetchMsAgo), dash(v.lastCaughtUpMsAgo)]);
  return [
    `Leader: ${r.leaderId < 0 ? 'none' : r.leaderId}  Epoch: ${r.leaderEpoch}  High watermark: ${r.highWatermark}  Max follower lag: ${dash(r.maxFollowerLag)}`,
    `Voters: ${r.voters.map((v) => v.id).join(',') || '-'}  Observers: ${r.observers.map((v) => v.id).join(',') || '-'}`,
    '',
    table(['NODE', 'STATUS', 'LOG-END-OFFSET', 'LAG', 'LAST-FETCH-MS-AGO', 'LAST-CAUGHT-UP-MS-AGO'], rows),
  ].join('\n');
}

export async function quorumStatus(ctx: CommandContext, options: { json: boolean; nowMs: () => number }): Promise<void> {
  let info: QuorumInfo;
  try {
    info = await ctx.client().describeQuorum();
  } catch (err) {
    if (err instanceof UnsupportedVersionError) {
      throw new UnsupportedVersionError(
        `${err.message} (API key 55 is not in its ApiVersions), so it cannot report the controller quorum; ask a broker that forwards DescribeQuorum to the controllers`,
      );
    }
    throw err;
  }
  const report = quorumStatusReport(info, options.nowMs());
  if (options.json) ctx.outJson(report);
  else ctx.out(formatQuorumStatus(report));
}
