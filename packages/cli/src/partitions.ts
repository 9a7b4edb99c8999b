/**
 * Partition health filters for `trib topic describe` (kafka-topics.sh --describe's report options) and the
 * report of `trib partition elect-leaders` (kafka-leader-election.sh's wording). Pure: tested without a broker.
 */
import type { ElectionResult, ElectionTypeName } from '@tributary/client';

export const PARTITION_FILTERS = ['under-replicated', 'under-min-isr', 'at-min-isr', 'unavailable'] as const;
export type PartitionFilter = (typeof PARTITION_FILTERS)[number];

export interface PartitionState {
  leader: number;
  replicas: readonly number[];
  isr: readonly number[];
}

/**
 * Whether a partition matches a filter. `minIsr` is the topic's min.insync.replicas; `liveBrokers` the brokers
 * the cluster metadata lists (Kafka lists only live ones), so a leader outside it is as good as none.
 */
export function matchesFilter(filter: PartitionFilter, p: PartitionState, minIsr: number, liveBrokers: ReadonlySet<number>): boolean {
  switch (filter) {
    case 'under-replicated':
      return p.isr.length < p.replicas.length;
    case 'under-min-isr':
      return p.isr.length < minIsr;
    case 'at-min-isr':
      return p.isr.length === minIsr;
    case 'unavailable':
      return p.leader < 0 || !liveBrokers.has(p.leader);
  }
}

/** Whether the filter needs each topic's min.insync.replicas (from DescribeConfigs). */
export function needsMinIsr(filter: PartitionFilter | undefined): boolean {
  return filter === 'under-min-isr' || filter === 'at-min-isr';
}

/** min.insync.replicas as DescribeConfigs gave it; Kafka's default 1 when absent or unreadable. */
export function minIsrOf(value: string | null | undefined): number {
  const n = value == null ? NaN : Number(value);
  return Number.isInteger(n) && n >= 1 ? n : 1;
}

export type ElectionOutcome = 'elected' | 'not-needed' | 'failed';

export interface ElectionLine {
  topic: string;
  partition: number;
  outcome: ElectionOutcome;
  /** The error code's name and message for a failure. */
  error: string | null;
}

const ELECTION_NOT_NEEDED = 84;

export function classifyElection(r: ElectionResult): ElectionLine {
  if (r.error === null) return { topic: r.topic, partition: r.partition, outcome: 'elected', error: null };
  if (r.error.code === ELECTION_NOT_NEEDED) return { topic: r.topic, partition: r.partition, outcome: 'not-needed', error: null };
  return { topic: r.topic, partition: r.partition, outcome: 'failed', error: r.error.message };
}

/** Partitions sorted by topic then index, as `topic-partition`. */
function names(lines: ElectionLine[]): string {
  return [...lines]
    .sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1))
    .map((l) => `${l.topic}-${l.partition}`)
    .join(', ');
}

/** The text report: one line for the elected, one for those that needed nothing, one per failure. */
export function electionReport(type: ElectionTypeName, lines: ElectionLine[]): string[] {
  const kind = type.toUpperCase();
  const elected = lines.filter((l) => l.outcome === 'elected');
  const notNeeded = lines.filter((l) => l.outcome === 'not-needed');
  const failed = lines.filter((l) => l.outcome === 'failed');
  const out: string[] = [];
  if (elected.length > 0) out.push(`Successfully completed leader election (${kind}) for partitions ${names(elected)}`);
  if (notNeeded.length > 0) out.push(`Valid replica already elected for partitions ${names(notNeeded)}`);
  for (const f of [...failed].sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1))) {
    out.push(`Error completing leader election (${kind}) for partition ${f.topic}-${f.partition}: ${f.error ?? 'unknown error'}`);
  }
  if (out.length === 0) out.push(`No partition needed a leader election (${kind}).`);
  return out;
}
