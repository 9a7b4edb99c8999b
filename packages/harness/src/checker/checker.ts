/**
 * A history checker in the style of Jepsen's Kafka workload. Pure: a history in, a report out.
 *
 * What it finds (every count is exact; the example lists are capped at `maxExamples`):
 * - lost writes: acknowledged, never read, although the reads covered that offset (a later offset of the
 *   partition was read, a value sent after the ack was read, or the partition was drained);
 * - unseen writes: acknowledged, never read, and the reads did not get that far (not proof of loss);
 * - duplicates: one value at two positions (topic, partition, offset);
 * - inconsistent offsets: two values at one position, across reads or against an acknowledgement;
 * - nonmonotonic polls: a consumer session reads an offset at or below one it already read;
 * - skipped offsets: a session jumps over offsets that hold known records, unless the log start moved past
 *   them or (compacted topics) a later record with the same key superseded them;
 * - unexpected values: read but never sent; failed-but-read: a definite failure that was read anyway;
 * - unavailability: spans longer than a threshold with no successful acknowledgement;
 * - per-bucket throughput and latency, and the nemesis' fault windows, for the report.
 *
 * Positions are tracked per (process, topic, partition) within a session; `assign`, `subscribe`, `crash`
 * and `restart` end the process' session (a consumer may legitimately re-read after a rebalance or restart).
 */
import type { History, HistoryOp, ProcessId, SendOp } from './history.ts';
import { HISTORY_OP_TYPES } from './history.ts';

export interface CheckOptions {
  /** A span with no successful ack longer than this is an unavailability window. Default 5000. */
  readonly unavailabilityThresholdMs?: number;
  /** Cap on each example list; counts are always exact. Default 20. */
  readonly maxExamples?: number;
  /** Width of a series bucket. Default 1000 (per second). */
  readonly bucketMs?: number;
  /** Topics with cleanup.policy=compact: a gap is explained when a later record has the same key. */
  readonly compactedTopics?: readonly string[];
  /** The final reads drained every partition: every unread acknowledged write is lost. Default false. */
  readonly drained?: boolean;
  /** Cap on the number of series buckets, so a stray timestamp cannot allocate without bound. Default 1e6. */
  readonly maxBuckets?: number;
}

export interface Position {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
}

export interface UnreadWrite {
  readonly process: ProcessId;
  readonly topic: string;
  readonly partition: number;
  readonly offset: number | null;
  readonly key: string | null;
  readonly value: string;
  readonly ackTimeMs: number;
  /** Why the reads are known to have covered it (lost writes only). */
  readonly coveredBy?: string;
}

export interface Duplicate {
  readonly value: string;
  readonly positions: readonly (Position & { readonly sources: readonly string[] })[];
}

export interface InconsistentOffset extends Position {
  readonly values: readonly { readonly value: string; readonly sources: readonly string[] }[];
}

export interface NonmonotonicPoll {
  readonly process: ProcessId;
  readonly topic: string;
  readonly partition: number;
  readonly prevOffset: number;
  readonly offset: number;
  readonly timeMs: number;
}

export interface SkippedOffsets extends NonmonotonicPoll {
  /** Known records the session jumped over (capped at 20), and how many in all. */
  readonly missing: readonly number[];
  readonly missingCount: number;
}

export interface StrayRead extends Position {
  readonly process: ProcessId;
  readonly value: string;
  readonly timeMs: number;
}

export interface TimeWindow {
  readonly startMs: number;
  readonly endMs: number;
  readonly durationMs: number;
}

export interface FaultWindow extends TimeWindow {
  readonly fault: string;
  readonly detail: string | null;
  /** The fault was still active when the history ended. */
  readonly open: boolean;
}

export interface SeriesBucket {
  /** Bucket start, milliseconds since the series start. */
  readonly tMs: number;
  readonly sendsOk: number;
  readonly sendsFail: number;
  readonly sendsInfo: number;
  readonly polls: number;
  /** Latency of acknowledged sends in this bucket (null when none carried a latency). */
  readonly latencyP50Ms: number | null;
  readonly latencyP99Ms: number | null;
  readonly latencyMaxMs: number | null;
}

export interface CheckCounts {
  readonly ops: number;
  readonly sends: number;
  readonly sendsOk: number;
  readonly sendsFail: number;
  readonly sendsInfo: number;
  readonly polls: number;
  readonly distinctValuesRead: number;
  readonly lostWrites: number;
  readonly unseenWrites: number;
  /** lostWrites + unseenWrites: acknowledged values never read by the end. */
  readonly ackedNeverRead: number;
  /** Acked, unread, and explained by the log start or compaction. */
  readonly explainedUnread: number;
  readonly duplicates: number;
  readonly inconsistentOffsets: number;
  readonly nonmonotonicPolls: number;
  readonly skips: number;
  readonly unexpectedValues: number;
  readonly failedButRead: number;
  readonly unavailabilityWindows: number;
  readonly faultWindows: number;
}

export interface CheckReport {
  /** No lost write, duplicate, inconsistent offset, nonmonotonic poll, skip, unexpected or failed-but-read value. */
  readonly valid: boolean;
  readonly counts: CheckCounts;
  readonly timeRange: { readonly startMs: number; readonly endMs: number };
  readonly lostWrites: readonly UnreadWrite[];
  readonly unseenWrites: readonly UnreadWrite[];
  readonly duplicates: readonly Duplicate[];
  readonly inconsistentOffsets: readonly InconsistentOffset[];
  readonly nonmonotonicPolls: readonly NonmonotonicPoll[];
  readonly skips: readonly SkippedOffsets[];
  readonly unexpectedValues: readonly StrayRead[];
  readonly failedButRead: readonly StrayRead[];
  readonly unavailability: readonly TimeWindow[];
  readonly unavailabilityThresholdMs: number;
  readonly faults: readonly FaultWindow[];
  readonly series: { readonly startMs: number; readonly bucketMs: number; readonly buckets: readonly SeriesBucket[] };
}

export class HistoryError extends Error {
  override name = 'HistoryError';
}

const tpKey = (topic: string, partition: number): string => `${topic}\u0000${partition}`;
const posKey = (topic: string, partition: number, offset: number): string => `${topic}\u0000${partition}\u0000${offset}`;
const SOURCES_PER_ENTRY_MAX = 8;
const MISSING_LISTED_MAX = 20;

interface PartitionFacts {
  /** offset → value → sources ("ack p1", "poll c2"). */
  readonly byOffset: Map<number, Map<string, string[]>>;
  sortedOffsets: number[];
  /** key → highest known offset carrying it (compaction). */
  readonly maxOffsetByKey: Map<string, number>;
  keyAt: Map<number, string | null>;
  maxReadOffset: number;
  /** Latest invocation time of a send whose value was read here (covers acks without offsets). */
  maxReadSendStartMs: number;
  readonly maxReadSendStartByKey: Map<string, number>;
  drainedEndOffset: number;
  logStart: number;
}

function checkOp(op: HistoryOp, index: number): void {
  const where = `history[${index}]`;
  if (op === null || typeof op !== 'object') throw new HistoryError(`${where}: not an object`);
  if (!HISTORY_OP_TYPES.includes(op.type)) throw new HistoryError(`${where}: unknown op type ${JSON.stringify((op as { type: unknown }).type)}`);
  if (!Number.isFinite(op.timeMs)) throw new HistoryError(`${where} (${op.type}): timeMs must be a finite number`);
  const intField = (name: string, value: unknown, min: number): void => {
    if (!Number.isSafeInteger(value) || (value as number) < min) throw new HistoryError(`${where} (${op.type}): ${name} must be an integer >= ${min}, got ${String(value)}`);
  };
  switch (op.type) {
    case 'send':
      intField('partition', op.partition, 0);
      if (op.offset !== undefined) intField('offset', op.offset, 0);
      if (typeof op.value !== 'string') throw new HistoryError(`${where} (send): value must be a string`);
      if (op.outcome !== 'ok' && op.outcome !== 'fail' && op.outcome !== 'info') throw new HistoryError(`${where} (send): outcome must be ok, fail or info, got ${String(op.outcome)}`);
      if (op.latencyMs !== undefined && !(Number.isFinite(op.latencyMs) && op.latencyMs >= 0)) throw new HistoryError(`${where} (send): latencyMs must be >= 0`);
      break;
    case 'poll':
      intField('partition', op.partition, 0);
      intField('offset', op.offset, 0);
      if (typeof op.value !== 'string') throw new HistoryError(`${where} (poll): value must be a string`);
      break;
    case 'assign':
      for (const tp of op.partitions) {
        intField('partition', tp.partition, 0);
        if (tp.offset !== undefined) intField('offset', tp.offset, 0);
      }
      break;
    case 'log-start':
      intField('partition', op.partition, 0);
      intField('offset', op.offset, 0);
      break;
    case 'drained':
      intField('partition', op.partition, 0);
      intField('endOffset', op.endOffset, 0);
      break;
    case 'nemesis':
      if (op.phase !== 'start' && op.phase !== 'stop') throw new HistoryError(`${where} (nemesis): phase must be start or stop`);
      break;
    default:
      break;
  }
}

function percentile(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank]!;
}

function lowerBound(sorted: readonly number[], target: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < target) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

class Examples<T> {
  count = 0;
  readonly items: T[] = [];
  readonly max: number;
  constructor(max: number) {
    this.max = max;
  }
  add(item: T): void {
    this.count++;
    if (this.items.length < this.max) this.items.push(item);
  }
}

export function checkHistory(history: History, options: CheckOptions = {}): CheckReport {
  const thresholdMs = options.unavailabilityThresholdMs ?? 5000;
  const maxExamples = options.maxExamples ?? 20;
  const bucketMs = options.bucketMs ?? 1000;
  const maxBuckets = options.maxBuckets ?? 1_000_000;
  const compacted = new Set(options.compactedTopics ?? []);
  if (!(thresholdMs > 0)) throw new HistoryError('unavailabilityThresholdMs must be > 0');
  if (!(bucketMs > 0)) throw new HistoryError('bucketMs must be > 0');
  if (!Number.isInteger(maxExamples) || maxExamples < 0) throw new HistoryError('maxExamples must be an integer >= 0');

  history.forEach(checkOp);

  // Pass 1: what each send was, what is known to be at each position.
  const sends = new Map<string, SendOp>();
  const partitions = new Map<string, PartitionFacts>();
  const facts = (topic: string, partition: number): PartitionFacts => {
    const k = tpKey(topic, partition);
    let f = partitions.get(k);
    if (!f) {
      f = {
        byOffset: new Map(), sortedOffsets: [], maxOffsetByKey: new Map(), keyAt: new Map(), maxReadOffset: -1,
        maxReadSendStartMs: -Infinity, maxReadSendStartByKey: new Map(), drainedEndOffset: -1, logStart: 0,
      };
      partitions.set(k, f);
    }
    return f;
  };
  const note = (topic: string, partition: number, offset: number, value: string, key: string | null | undefined, source: string): void => {
    const f = facts(topic, partition);
    let values = f.byOffset.get(offset);
    if (!values) f.byOffset.set(offset, (values = new Map()));
    let sources = values.get(value);
    if (!sources) values.set(value, (sources = []));
    if (sources.length < SOURCES_PER_ENTRY_MAX && !sources.includes(source)) sources.push(source);
    if (key != null) {
      if (!f.keyAt.has(offset)) f.keyAt.set(offset, key);
      if ((f.maxOffsetByKey.get(key) ?? -1) < offset) f.maxOffsetByKey.set(key, offset);
    }
  };
  /** value → positions it was seen at (reads and acks). */
  const positionsOfValue = new Map<string, Map<string, Position>>();
  const seeValue = (value: string, p: Position): void => {
    let m = positionsOfValue.get(value);
    if (!m) positionsOfValue.set(value, (m = new Map()));
    m.set(posKey(p.topic, p.partition, p.offset), p);
  };
  const readValues = new Set<string>();
  let startMs = Infinity;
  let endMs = -Infinity;
  let sendsOk = 0, sendsFail = 0, sendsInfo = 0, polls = 0;
  const sendStartMs = (s: SendOp): number => s.timeMs - (s.latencyMs ?? 0);

  history.forEach((op, index) => {
    startMs = Math.min(startMs, op.type === 'send' ? sendStartMs(op) : op.timeMs);
    endMs = Math.max(endMs, op.timeMs);
    if (op.type === 'send') {
      if (sends.has(op.value)) throw new HistoryError(`history[${index}] (send): value ${JSON.stringify(op.value)} was already sent; values must be unique`);
      sends.set(op.value, op);
      if (op.outcome === 'ok') sendsOk++;
      else if (op.outcome === 'fail') sendsFail++;
      else sendsInfo++;
      if (op.outcome === 'ok' && op.offset !== undefined) {
        note(op.topic, op.partition, op.offset, op.value, op.key, `ack ${String(op.process)}`);
        seeValue(op.value, { topic: op.topic, partition: op.partition, offset: op.offset });
      }
      facts(op.topic, op.partition);
    } else if (op.type === 'poll') {
      polls++;
      note(op.topic, op.partition, op.offset, op.value, op.key, `poll ${String(op.process)}`);
      seeValue(op.value, { topic: op.topic, partition: op.partition, offset: op.offset });
      readValues.add(op.value);
      const f = facts(op.topic, op.partition);
      f.maxReadOffset = Math.max(f.maxReadOffset, op.offset);
    } else if (op.type === 'drained') {
      const f = facts(op.topic, op.partition);
      f.drainedEndOffset = Math.max(f.drainedEndOffset, op.endOffset);
    }
  });
  if (history.length === 0) startMs = endMs = 0;
  for (const f of partitions.values()) f.sortedOffsets = [...f.byOffset.keys()].sort((a, b) => a - b);
  // Keys of records read: a poll may carry no key, then the send's key stands.
  for (const value of readValues) {
    const s = sends.get(value);
    if (!s) continue;
    for (const p of positionsOfValue.get(value)!.values()) {
      const f = facts(p.topic, p.partition);
      if (s.key != null) {
        if (!f.keyAt.has(p.offset)) f.keyAt.set(p.offset, s.key);
        if ((f.maxOffsetByKey.get(s.key) ?? -1) < p.offset) f.maxOffsetByKey.set(s.key, p.offset);
      }
    }
    const f = facts(s.topic, s.partition);
    f.maxReadSendStartMs = Math.max(f.maxReadSendStartMs, sendStartMs(s));
    if (s.key != null) f.maxReadSendStartByKey.set(s.key, Math.max(f.maxReadSendStartByKey.get(s.key) ?? -Infinity, sendStartMs(s)));
  }

  const supersededByCompaction = (topic: string, f: PartitionFacts, offset: number): boolean => {
    if (!compacted.has(topic)) return false;
    const key = f.keyAt.get(offset);
    return key != null && (f.maxOffsetByKey.get(key) ?? -1) > offset;
  };

  // Pass 2: consumer sessions, in history order.
  const nonmonotonic = new Examples<NonmonotonicPoll>(maxExamples);
  const skips = new Examples<SkippedOffsets>(maxExamples);
  const unexpected = new Examples<StrayRead>(maxExamples);
  const failedButRead = new Examples<StrayRead>(maxExamples);
  /** process → tp → last offset read (or seek position - 1). */
  const sessions = new Map<string, Map<string, number>>();
  const procKey = (p: ProcessId): string => `${typeof p}:${String(p)}`;
  const faultsOpen = new Map<string, { fault: string; detail: string | null; startMs: number }[]>();
  const faults: FaultWindow[] = [];
  for (const op of history) {
    switch (op.type) {
      case 'assign': {
        const session = new Map<string, number>();
        for (const tp of op.partitions) if (tp.offset !== undefined) session.set(tpKey(tp.topic, tp.partition), tp.offset - 1);
        sessions.set(procKey(op.process), session);
        break;
      }
      case 'subscribe':
      case 'crash':
      case 'restart':
        sessions.delete(procKey(op.process));
        break;
      case 'log-start': {
        const f = facts(op.topic, op.partition);
        f.logStart = Math.max(f.logStart, op.offset);
        break;
      }
      case 'nemesis': {
        const list = faultsOpen.get(op.fault) ?? [];
        if (op.phase === 'start') {
          list.push({ fault: op.fault, detail: op.detail ?? null, startMs: op.timeMs });
          faultsOpen.set(op.fault, list);
        } else {
          const open = list.shift();
          // A stop with no start: the fault began before the history did.
          const start = open?.startMs ?? startMs;
          faults.push({ fault: op.fault, detail: open?.detail ?? op.detail ?? null, startMs: start, endMs: op.timeMs, durationMs: op.timeMs - start, open: false });
        }
        break;
      }
      case 'poll': {
        const s = sends.get(op.value);
        const stray = { process: op.process, topic: op.topic, partition: op.partition, offset: op.offset, value: op.value, timeMs: op.timeMs };
        if (!s) unexpected.add(stray);
        else if (s.outcome === 'fail') failedButRead.add(stray);
        const pk = procKey(op.process);
        let session = sessions.get(pk);
        if (!session) sessions.set(pk, (session = new Map()));
        const k = tpKey(op.topic, op.partition);
        const prev = session.get(k);
        session.set(k, op.offset);
        if (prev === undefined) break;
        const base = { process: op.process, topic: op.topic, partition: op.partition, prevOffset: prev, offset: op.offset, timeMs: op.timeMs };
        if (op.offset <= prev) {
          nonmonotonic.add(base);
          break;
        }
        if (op.offset === prev + 1) break;
        const f = facts(op.topic, op.partition);
        const missing: number[] = [];
        let missingCount = 0;
        const from = lowerBound(f.sortedOffsets, prev + 1);
        for (let i = from; i < f.sortedOffsets.length && f.sortedOffsets[i]! < op.offset; i++) {
          const o = f.sortedOffsets[i]!;
          if (o < f.logStart || supersededByCompaction(op.topic, f, o)) continue;
          missingCount++;
          if (missing.length < MISSING_LISTED_MAX) missing.push(o);
        }
        if (missingCount > 0) skips.add({ ...base, missing, missingCount });
        break;
      }
      default:
        break;
    }
  }
  for (const list of faultsOpen.values()) {
    for (const open of list) faults.push({ fault: open.fault, detail: open.detail, startMs: open.startMs, endMs, durationMs: endMs - open.startMs, open: true });
  }
  faults.sort((a, b) => a.startMs - b.startMs || a.fault.localeCompare(b.fault));

  // Duplicates and inconsistent offsets.
  const duplicates = new Examples<Duplicate>(maxExamples);
  for (const [value, positions] of positionsOfValue) {
    if (positions.size < 2) continue;
    duplicates.add({
      value,
      positions: [...positions.values()]
        .sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition || a.offset - b.offset)
        .map((p) => ({ ...p, sources: partitions.get(tpKey(p.topic, p.partition))!.byOffset.get(p.offset)!.get(value)! })),
    });
  }
  const inconsistent = new Examples<InconsistentOffset>(maxExamples);
  const partitionKeys = [...partitions.keys()].sort();
  for (const k of partitionKeys) {
    const f = partitions.get(k)!;
    const [topic, partitionText] = k.split('\u0000') as [string, string];
    for (const offset of f.sortedOffsets) {
      const values = f.byOffset.get(offset)!;
      if (values.size < 2) continue;
      inconsistent.add({ topic, partition: Number(partitionText), offset, values: [...values].map(([value, sources]) => ({ value, sources })) });
    }
  }

  // Acknowledged writes never read.
  const lost = new Examples<UnreadWrite>(maxExamples);
  const unseen = new Examples<UnreadWrite>(maxExamples);
  let explainedUnread = 0;
  for (const s of sends.values()) {
    if (s.outcome !== 'ok' || readValues.has(s.value)) continue;
    const f = facts(s.topic, s.partition);
    const w: UnreadWrite = { process: s.process, topic: s.topic, partition: s.partition, offset: s.offset ?? null, key: s.key ?? null, value: s.value, ackTimeMs: s.timeMs };
    let coveredBy: string | null = null;
    if (s.offset !== undefined) {
      if (s.offset < f.logStart || supersededByCompaction(s.topic, f, s.offset)) {
        explainedUnread++;
        continue;
      }
      if (options.drained) coveredBy = 'all partitions drained';
      else if (f.drainedEndOffset > s.offset) coveredBy = `partition drained to ${f.drainedEndOffset}`;
      else if (f.maxReadOffset > s.offset) coveredBy = `offset ${f.maxReadOffset} was read`;
    } else {
      if (compacted.has(s.topic) && s.key != null && (f.maxReadSendStartByKey.get(s.key) ?? -Infinity) > s.timeMs) {
        explainedUnread++;
        continue;
      }
      if (options.drained) coveredBy = 'all partitions drained';
      else if (f.drainedEndOffset >= 0) coveredBy = `partition drained to ${f.drainedEndOffset}`;
      else if (f.maxReadSendStartMs > s.timeMs) coveredBy = 'a value sent after this ack was read';
    }
    if (coveredBy !== null) lost.add({ ...w, coveredBy });
    else unseen.add(w);
  }

  // Unavailability: gaps between successful acks, over the span the workload was sending.
  const unavailability: TimeWindow[] = [];
  const sendOps = [...sends.values()];
  if (sendOps.length > 0) {
    let first = Infinity;
    let last = -Infinity;
    for (const s of sendOps) {
      first = Math.min(first, sendStartMs(s));
      last = Math.max(last, s.timeMs);
    }
    const acks = sendOps.filter((s) => s.outcome === 'ok').map((s) => s.timeMs).sort((a, b) => a - b);
    let prev = first;
    for (const t of [...acks, last]) {
      if (t - prev > thresholdMs) unavailability.push({ startMs: prev, endMs: t, durationMs: t - prev });
      prev = Math.max(prev, t);
    }
  }

  // Series.
  const seriesStartMs = Math.floor(startMs / bucketMs) * bucketMs;
  const bucketCount = history.length === 0 ? 0 : Math.floor((endMs - seriesStartMs) / bucketMs) + 1;
  if (bucketCount > maxBuckets) throw new HistoryError(`history spans ${bucketCount} buckets of ${bucketMs} ms (max ${maxBuckets}): check the timestamps`);
  const acc = Array.from({ length: bucketCount }, () => ({ ok: 0, fail: 0, info: 0, polls: 0, latencies: [] as number[] }));
  const bucketOf = (t: number): (typeof acc)[number] => acc[Math.floor((t - seriesStartMs) / bucketMs)]!;
  for (const op of history) {
    if (op.type === 'send') {
      const b = bucketOf(op.timeMs);
      if (op.outcome === 'ok') {
        b.ok++;
        if (op.latencyMs !== undefined) b.latencies.push(op.latencyMs);
      } else if (op.outcome === 'fail') b.fail++;
      else b.info++;
    } else if (op.type === 'poll') bucketOf(op.timeMs).polls++;
  }
  const buckets: SeriesBucket[] = acc.map((b, i) => {
    const sorted = b.latencies.sort((x, y) => x - y);
    return {
      tMs: i * bucketMs, sendsOk: b.ok, sendsFail: b.fail, sendsInfo: b.info, polls: b.polls,
      latencyP50Ms: percentile(sorted, 0.5), latencyP99Ms: percentile(sorted, 0.99), latencyMaxMs: sorted.length ? sorted[sorted.length - 1]! : null,
    };
  });

  const counts: CheckCounts = {
    ops: history.length, sends: sends.size, sendsOk, sendsFail, sendsInfo, polls, distinctValuesRead: readValues.size,
    lostWrites: lost.count, unseenWrites: unseen.count, ackedNeverRead: lost.count + unseen.count, explainedUnread,
    duplicates: duplicates.count, inconsistentOffsets: inconsistent.count, nonmonotonicPolls: nonmonotonic.count,
    skips: skips.count, unexpectedValues: unexpected.count, failedButRead: failedButRead.count,
    unavailabilityWindows: unavailability.length, faultWindows: faults.length,
  };
  const valid = counts.lostWrites + counts.duplicates + counts.inconsistentOffsets + counts.nonmonotonicPolls
    + counts.skips + counts.unexpectedValues + counts.failedButRead === 0;
  return {
    valid, counts, timeRange: { startMs, endMs },
    lostWrites: lost.items, unseenWrites: unseen.items, duplicates: duplicates.items, inconsistentOffsets: inconsistent.items,
    nonmonotonicPolls: nonmonotonic.items, skips: skips.items, unexpectedValues: unexpected.items, failedButRead: failedButRead.items,
    unavailability, unavailabilityThresholdMs: thresholdMs, faults,
    series: { startMs: seriesStartMs, bucketMs, buckets },
  };
}
