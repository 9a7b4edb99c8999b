/**
 * The history a workload records: what producers sent and what they heard back, what consumers read,
 * how consumer sessions began and ended, and when the nemesis injected faults. Plain data, so a history
 * can be written to a file, replayed and checked again.
 *
 * Values are unique per history (the workload makes them so): that is what lets the checker tell a
 * lost write from a duplicate and an inconsistent offset.
 */

/** `ok`: acknowledged; `fail`: definitely not written; `info`: unknown (timeout, connection lost). */
export type Outcome = 'ok' | 'fail' | 'info';

export type ProcessId = string | number;

/** A produce call that completed at `timeMs` (acked, failed or unknown). */
export interface SendOp {
  readonly type: 'send';
  readonly process: ProcessId;
  readonly topic: string;
  readonly partition: number;
  readonly key?: string | null;
  readonly value: string;
  /** The offset the acknowledgement reported (ok sends), when the client exposes it. */
  readonly offset?: number;
  readonly outcome: Outcome;
  /** When the call completed. */
  readonly timeMs: number;
  /** How long the call took; it was invoked at `timeMs - latencyMs`. */
  readonly latencyMs?: number;
}

/** One record a consumer session read. */
export interface PollOp {
  readonly type: 'poll';
  /** The consumer session: positions are tracked per process until it is reassigned, crashes or restarts. */
  readonly process: ProcessId;
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly key?: string | null;
  readonly value: string;
  readonly timeMs: number;
}

export interface TopicPartitionRef {
  readonly topic: string;
  readonly partition: number;
  /** For `assign`: the position the consumer seeks to, when it seeks explicitly. */
  readonly offset?: number;
}

/** Manual assignment: a new session for these partitions (positions restart at `offset` when given). */
export interface AssignOp {
  readonly type: 'assign';
  readonly process: ProcessId;
  readonly partitions: readonly TopicPartitionRef[];
  readonly timeMs: number;
}

/** Group subscription (or a rebalance): a new session; the consumer resumes from committed offsets. */
export interface SubscribeOp {
  readonly type: 'subscribe';
  readonly process: ProcessId;
  readonly topics: readonly string[];
  readonly timeMs: number;
}

/** The consumer or producer process died (crash) or came back (restart): its session ends. */
export interface CrashOp {
  readonly type: 'crash' | 'restart';
  readonly process: ProcessId;
  readonly timeMs: number;
}

/** A fault began (`start`) or was healed (`stop`). */
export interface NemesisOp {
  readonly type: 'nemesis';
  readonly fault: string;
  readonly phase: 'start' | 'stop';
  /** Free text for the report: which nodes, which parameters. */
  readonly detail?: string;
  readonly timeMs: number;
}

/** The partition's log start moved (retention, DeleteRecords): offsets below it may not be read. */
export interface LogStartOp {
  readonly type: 'log-start';
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly timeMs: number;
}

/** The final reads covered this partition up to `endOffset` (exclusive): every acked write below it must have been read. */
export interface DrainedOp {
  readonly type: 'drained';
  readonly topic: string;
  readonly partition: number;
  readonly endOffset: number;
  readonly timeMs: number;
}

export type HistoryOp = SendOp | PollOp | AssignOp | SubscribeOp | CrashOp | NemesisOp | LogStartOp | DrainedOp;

export type History = readonly HistoryOp[];

export const HISTORY_OP_TYPES: readonly HistoryOp['type'][] = [
  'send', 'poll', 'assign', 'subscribe', 'crash', 'restart', 'nemesis', 'log-start', 'drained',
];
