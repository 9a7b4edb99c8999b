/**
 * The pure half of `trib partition reassign`: plans in kafka-reassign-partitions' JSON shape
 * (`{"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[1,2,3]}]}`), a balanced plan for a broker
 * list, and the verification of a plan against the controller's reassignments and the cluster's metadata, with
 * the bytes the new replicas have copied so far (their sizes on disk against the leader's, from DescribeLogDirs).
 */
import type { OngoingReassignment, PartitionMetadata } from '@tributary/client';
import { UsageError } from './context.ts';

export interface PlanPartition {
  topic: string;
  partition: number;
  replicas: number[];
}

export interface ReassignmentPlan {
  version: 1;
  partitions: PlanPartition[];
}

/** A plan names at most this many partitions (it is read whole and sent in one request). */
export const MAX_PLAN_PARTITIONS = 100_000;
const INT32_MAX = 2_147_483_647;

const byPartition = (a: PlanPartition, b: PlanPartition): number => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1);

export function planOf(partitions: PlanPartition[]): ReassignmentPlan {
  return { version: 1, partitions: [...partitions].sort(byPartition) };
}

/**
 * Kafka's rack-unaware replica assignment (AdminUtils.assignReplicasToBrokers), made deterministic: partition i
 * of a topic leads on broker (start + i) mod n and its followers walk on from there with a shift that grows each
 * time the partitions wrap around the brokers. `start` continues across topics so their leaders interleave.
 */
export function generatePlan(topics: readonly { name: string; partitions: readonly { partition: number; replicas: readonly number[] }[] }[], brokerIds: readonly number[]): ReassignmentPlan {
  const brokers = [...new Set(brokerIds)].sort((a, b) => a - b);
  const n = brokers.length;
  if (n === 0) throw new UsageError('--brokers must name at least one broker');
  const out: PlanPartition[] = [];
  let start = 0;
  for (const t of [...topics].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const partitions = [...t.partitions].sort((a, b) => a.partition - b.partition);
    let shift = 0;
    partitions.forEach((p, i) => {
      const rf = p.replicas.length;
      if (rf > n) throw new UsageError(`${t.name}-${p.partition} has ${rf} replicas but --brokers names only ${n} broker(s); name at least ${rf}`);
      if (i > 0 && i % n === 0) shift++;
      const first = (start + i) % n;
      const replicas = [brokers[first]!];
      for (let j = 0; j < rf - 1; j++) replicas.push(brokers[(first + 1 + ((shift + j) % (n - 1))) % n]!);
      out.push({ topic: t.name, partition: p.partition, replicas });
    });
    start = (start + partitions.length) % n;
  }
  return planOf(out);
}

/** Parses and checks a plan file; every problem names the entry. */
export function parsePlan(text: string, source: string): ReassignmentPlan {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${source} is not JSON: ${(err as Error).message}`);
  }
  const partitions = (doc as { partitions?: unknown } | null)?.partitions;
  if (typeof doc !== 'object' || doc === null || !Array.isArray(partitions)) throw new UsageError(`${source} must be {"version":1,"partitions":[...]}`);
  const version = (doc as { version?: unknown }).version;
  if (version !== undefined && version !== 1) throw new UsageError(`${source}: version ${JSON.stringify(version)} is not supported (only 1)`);
  if (partitions.length === 0) throw new UsageError(`${source} names no partitions`);
  if (partitions.length > MAX_PLAN_PARTITIONS) throw new UsageError(`${source} names ${partitions.length} partitions, more than ${MAX_PLAN_PARTITIONS}; split it`);
  const seen = new Set<string>();
  const out: PlanPartition[] = [];
  partitions.forEach((entry: unknown, i) => {
    const at = `${source}: partitions[${i}]`;
    const e = entry as { topic?: unknown; partition?: unknown; replicas?: unknown } | null;
    if (typeof e !== 'object' || e === null) throw new UsageError(`${at} is not an object`);
    if (typeof e.topic !== 'string' || e.topic === '') throw new UsageError(`${at}.topic must be a topic name`);
    const isId = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x) && x >= 0 && x <= INT32_MAX;
    if (!isId(e.partition)) throw new UsageError(`${at}.partition must be an integer in 0..${INT32_MAX}`);
    if (!Array.isArray(e.replicas) || e.replicas.length === 0 || !e.replicas.every(isId)) throw new UsageError(`${at}.replicas must be a non-empty list of broker ids`);
    const replicas = e.replicas as number[];
    if (new Set(replicas).size !== replicas.length) throw new UsageError(`${at}.replicas [${replicas.join(',')}] names a broker twice`);
    const key = `${e.topic}-${e.partition}`;
    if (seen.has(key)) throw new UsageError(`${at}: ${key} appears more than once`);
    seen.add(key);
    out.push({ topic: e.topic, partition: e.partition, replicas: [...replicas] });
  });
  return planOf(out);
}

export type VerifyState = 'complete' | 'in-progress' | 'mismatch' | 'missing';

export interface VerifyLine {
  topic: string;
  partition: number;
  state: VerifyState;
  /** The plan's replicas. */
  target: number[];
  /** The partition's replicas now (the union while it moves; [] when missing). */
  replicas: number[];
  addingReplicas: number[];
  removingReplicas: number[];
  /** Target replicas in the ISR: a replica joins once it has caught up with the leader. */
  inSync: number;
  /** A reassignment runs, but towards other replicas than the plan's (someone changed it). */
  otherTarget: boolean;
  /** The partition's leader now (-1: none, or the partition is missing). */
  leader: number;
  /**
   * While it moves: the bytes the adding replicas hold (each capped at the leader's size) and the bytes they need
   * (the leader's size times their number). Null when not moving or when the leader or an adding replica's broker
   * did not say (the progress then falls back to target replicas in sync).
   */
  copiedBytes: number | null;
  bytesToCopy: number | null;
}

const sameList = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

export function verifyPartition(plan: PlanPartition, ongoing: OngoingReassignment | undefined, md: PartitionMetadata | undefined): VerifyLine {
  const base = { topic: plan.topic, partition: plan.partition, target: plan.replicas, leader: md?.leader ?? -1, copiedBytes: null, bytesToCopy: null };
  if (md === undefined && ongoing === undefined) {
    return { ...base, state: 'missing', replicas: [], addingReplicas: [], removingReplicas: [], inSync: 0, otherTarget: false };
  }
  const isr = md?.isr ?? [];
  const inSync = plan.replicas.filter((r) => isr.includes(r)).length;
  if (ongoing !== undefined) {
    const ongoingTarget = ongoing.replicas.filter((r) => !ongoing.removingReplicas.includes(r));
    return {
      ...base,
      state: 'in-progress',
      replicas: ongoing.replicas,
      addingReplicas: ongoing.addingReplicas,
      removingReplicas: ongoing.removingReplicas,
      inSync,
      otherTarget: !sameList(ongoingTarget, plan.replicas),
    };
  }
  const replicas = md!.replicas;
  const complete = sameList(replicas, plan.replicas);
  return { ...base, state: complete ? 'complete' : 'mismatch', replicas, addingReplicas: [], removingReplicas: [], inSync: complete ? plan.replicas.length : inSync, otherTarget: false };
}

export function verifyLineText(l: VerifyLine): string {
  const name = `${l.topic}-${l.partition}`;
  switch (l.state) {
    case 'complete':
      return `Reassignment of partition ${name} is complete: replicas [${l.target.join(',')}]`;
    case 'in-progress': {
      const towards = l.otherTarget ? ` (towards other replicas than the plan's [${l.target.join(',')}])` : '';
      const copied = l.copiedBytes === null || l.bytesToCopy === null ? '' : `, ${formatBytes(l.copiedBytes)} / ${formatBytes(l.bytesToCopy)} copied`;
      return `Reassignment of partition ${name} is still in progress: ${l.inSync}/${l.target.length} target replicas in sync, adding [${l.addingReplicas.join(',')}], removing [${l.removingReplicas.join(',')}]${copied}${towards}`;
    }
    case 'mismatch':
      return `There is no active reassignment of partition ${name}, but its replicas are [${l.replicas.join(',')}], not the plan's [${l.target.join(',')}]`;
    case 'missing':
      return `Partition ${name} does not exist`;
  }
}

/** Replica sizes on disk by broker, then by `topic-partition` (DescribeLogDirs); a broker that did not answer is absent. */
export type ReplicaSizes = ReadonlyMap<number, ReadonlyMap<string, number>>;

/**
 * A moving partition's copy progress from its replicas' sizes: each adding replica has copied what it holds, at most
 * the leader's size (the leader keeps appending, so this is a moving target). An adding replica whose broker answered
 * without the partition has copied nothing yet. Lines that do not move, or whose leader's or adding replica's broker
 * is absent from `sizes`, are returned as they are.
 */
export function withCopyProgress(l: VerifyLine, sizes: ReplicaSizes): VerifyLine {
  if (l.state !== 'in-progress' || l.addingReplicas.length === 0 || l.leader < 0) return l;
  const name = `${l.topic}-${l.partition}`;
  const leaderBytes = sizes.get(l.leader)?.get(name);
  if (leaderBytes === undefined) return l;
  let copiedBytes = 0;
  for (const r of l.addingReplicas) {
    const held = sizes.get(r);
    if (held === undefined) return l;
    copiedBytes += Math.min(held.get(name) ?? 0, leaderBytes);
  }
  return { ...l, copiedBytes, bytesToCopy: leaderBytes * l.addingReplicas.length };
}

export interface VerifySummary {
  complete: number;
  inProgress: number;
  failed: number;
  /** Target replicas in sync over all plan replicas: the progress a bar shows when no sizes are known. */
  inSyncReplicas: number;
  targetReplicas: number;
  /** Over the moving partitions whose sizes are known (`sizedPartitions` of them). */
  copiedBytes: number;
  bytesToCopy: number;
  sizedPartitions: number;
  /**
   * Target replicas done, counting an adding replica of a sized partition by the fraction of the leader's bytes it
   * holds (so the bar moves as data is copied, not only when a replica joins the ISR); 0..targetReplicas.
   */
  replicaProgress: number;
}

function replicaProgress(l: VerifyLine): number {
  if (l.copiedBytes === null || l.bytesToCopy === null || l.bytesToCopy === 0) return l.inSync;
  const settled = l.target.filter((r) => !l.addingReplicas.includes(r)).length;
  const inSyncSettled = Math.min(settled, l.inSync);
  return inSyncSettled + (l.copiedBytes / l.bytesToCopy) * l.addingReplicas.length;
}

export function summarize(lines: readonly VerifyLine[]): VerifySummary {
  const sized = lines.filter((l) => l.state === 'in-progress' && l.copiedBytes !== null && l.bytesToCopy !== null);
  return {
    complete: lines.filter((l) => l.state === 'complete').length,
    inProgress: lines.filter((l) => l.state === 'in-progress').length,
    failed: lines.filter((l) => l.state === 'mismatch' || l.state === 'missing').length,
    inSyncReplicas: lines.reduce((s, l) => s + l.inSync, 0),
    targetReplicas: lines.reduce((s, l) => s + l.target.length, 0),
    copiedBytes: sized.reduce((s, l) => s + l.copiedBytes!, 0),
    bytesToCopy: sized.reduce((s, l) => s + l.bytesToCopy!, 0),
    sizedPartitions: sized.length,
    replicaProgress: lines.reduce((s, l) => s + replicaProgress(l), 0),
  };
}

/**
 * `[########------------] 4/10 partitions complete, 412 MiB / 960 MiB copied` for a terminal line; with no sizes
 * (nothing moving, or no broker answered) `..., 21/30 target replicas in sync`, and both when only some are known.
 */
export function progressBar(s: VerifySummary, widthChars = 30): string {
  const total = s.complete + s.inProgress + s.failed;
  const fraction = s.targetReplicas === 0 ? 1 : s.replicaProgress / s.targetReplicas;
  const filled = Math.min(widthChars, Math.max(0, Math.floor(fraction * widthChars + 0.5)));
  const replicas = `${s.inSyncReplicas}/${s.targetReplicas} target replicas in sync`;
  let progress = replicas;
  if (s.sizedPartitions > 0) {
    progress = `${formatBytes(s.copiedBytes)} / ${formatBytes(s.bytesToCopy)} copied`;
    const unsized = s.inProgress - s.sizedPartitions;
    if (unsized > 0) progress += ` (sizes unknown for ${unsized} moving partition${unsized === 1 ? '' : 's'}), ${replicas}`;
  }
  return `[${'#'.repeat(filled)}${'-'.repeat(widthChars - filled)}] ${s.complete}/${total} partitions complete, ${progress}`;
}

const BYTE_UNITS = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB'] as const;

/** `512 B`, `1.5 KiB`, `412 MiB`: binary units, one decimal below 100. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  let value = bytes;
  let unit = 'B';
  for (const u of BYTE_UNITS) {
    if (value < 1024) break;
    value /= 1024;
    unit = u;
  }
  return `${value >= 100 ? Math.round(value) : value.toFixed(1)} ${unit}`;
}

/** The broker configs `--throttle` sets and `--verify` removes (Kafka's names). */
export const THROTTLE_CONFIGS = ['leader.replication.throttled.rate', 'follower.replication.throttled.rate'] as const;

/** `--throttle`: bytes per second, a positive integer (the configs are longs >= 1). */
export function parseThrottle(value: unknown): number {
  const text = typeof value === 'number' ? String(value) : typeof value === 'string' ? value.trim() : '';
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < 1) {
    throw new UsageError(`--throttle must be a replication rate in bytes/s, an integer from 1 to ${Number.MAX_SAFE_INTEGER} (e.g. 1048576 for 1 MiB/s), got "${String(value ?? '')}"`);
  }
  return n;
}

/** Whether a reassignment in progress already moves `plan`'s partition to the plan's replicas (sending it again would restart it). */
export function movingToPlan(plan: PlanPartition, ongoing: OngoingReassignment | undefined): boolean {
  if (ongoing === undefined) return false;
  return sameList(
    ongoing.replicas.filter((r) => !ongoing.removingReplicas.includes(r)),
    plan.replicas,
  );
}

/** Every broker a plan involves: its partitions' replicas now (`current`, the union while they move) and its targets. */
export function planBrokers(plan: ReassignmentPlan, current: ReassignmentPlan): number[] {
  const ids = new Set<number>();
  for (const p of [...plan.partitions, ...current.partitions]) for (const r of p.replicas) ids.add(r);
  return [...ids].sort((a, b) => a - b);
}
