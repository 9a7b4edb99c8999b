/**
 * The consume workload: e2e/python/consumer_workload.py (librdkafka through confluent-kafka) reading during the run,
 * either by assignment (every partition from the log start) or by subscription in a group (committing after each
 * batch). Each line becomes a history op at the time it arrived: records are `poll` ops; an assignment is a new
 * session: `assign` (partitions with the offsets the consumer starts at) in assign mode, `subscribe` then `assign`
 * (the committed offsets it resumes from) at every rebalance in group mode, so a re-read after a rebalance is a new
 * session rather than a backwards move, while a jump past the resume point is still a skip. A process that dies
 * without its final line ends its session with a `crash` op.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import type { AssignOp, CrashOp, PollOp, SubscribeOp, TopicPartitionRef } from '../checker/history.ts';
import { defaultPython } from './producer.ts';

export const consumerScript = resolve(import.meta.dirname, '../../../../e2e/python/consumer_workload.py');
/** A bound on the ops one consumer may record: 10 hours at 1000 records/s. */
const opsMax = 36_000_000;
const stderrMax = 100_000;
const errorsListedMax = 50;

export type ConsumerOp = PollOp | AssignOp | SubscribeOp | CrashOp;
export type ConsumerMode = 'assign' | 'group';

export interface ConsumerOptions {
  readonly python?: string;
  readonly bootstrap: string;
  readonly topic: string;
  /** The process id in the history (one session at a time per name). */
  readonly name: string;
  readonly mode: ConsumerMode;
  /** The consumer group (group mode). */
  readonly group?: string;
  /** The consumer stops when this file exists. */
  readonly stopFile: string;
  /** Group mode: join this long after starting, so that the join rebalances the members already reading. */
  readonly startDelayMs?: number;
}

interface ConsumerLine {
  readonly p?: number;
  readonly o?: number;
  readonly v?: string | null;
  readonly assign?: readonly (readonly [number, number | null])[];
  readonly revoke?: readonly number[];
  readonly err?: string;
  readonly done?: boolean;
  readonly read?: number;
}

/**
 * Turns the consumer's lines into history ops; separate from the process so it can be tested line by line.
 * Malformed lines are counted, never thrown: one garbled line must not end a long run.
 */
export class ConsumerLineParser {
  readonly name: string;
  readonly topic: string;
  readonly mode: ConsumerMode;
  readonly ops: ConsumerOp[] = [];
  /** Records read, from the final line; null until the consumer finished cleanly. */
  read: number | null = null;
  /** Records seen in `p/o/v` lines. */
  polls = 0;
  assignments = 0;
  revocations = 0;
  errorCount = 0;
  /** The first errors the consumer reported (capped). */
  readonly errors: string[] = [];
  malformed = 0;

  constructor(o: { name: string; topic: string; mode: ConsumerMode }) {
    this.name = o.name;
    this.topic = o.topic;
    this.mode = o.mode;
  }

  get done(): boolean {
    return this.read !== null;
  }

  line(line: string, nowMs: number): void {
    if (line.trim() === '') return;
    let d: ConsumerLine;
    try {
      d = JSON.parse(line) as ConsumerLine;
    } catch {
      this.malformed++;
      return;
    }
    if (d === null || typeof d !== 'object') {
      this.malformed++;
      return;
    }
    if (this.ops.length >= opsMax) throw new Error(`consumer ${this.name} recorded ${opsMax} ops: the run is longer than the harness supports`);
    if (d.done === true) {
      this.read = typeof d.read === 'number' ? d.read : 0;
    } else if (Array.isArray(d.assign)) {
      this.#assign(d.assign, nowMs);
    } else if (Array.isArray(d.revoke)) {
      this.revocations++;
    } else if (typeof d.err === 'string') {
      this.errorCount++;
      if (this.errors.length < errorsListedMax) this.errors.push(d.err);
    } else if (Number.isSafeInteger(d.p) && Number.isSafeInteger(d.o) && typeof d.v === 'string') {
      this.polls++;
      this.ops.push({ type: 'poll', process: this.name, topic: this.topic, partition: d.p!, offset: d.o!, value: d.v, timeMs: nowMs });
    } else {
      this.malformed++;
    }
  }

  #assign(entries: readonly (readonly [number, number | null])[], nowMs: number): void {
    const partitions: TopicPartitionRef[] = [];
    for (const e of entries) {
      if (!Array.isArray(e) || !Number.isSafeInteger(e[0])) {
        this.malformed++;
        return;
      }
      const offset = e[1];
      // null: the start is unknown (no committed offset, a failed look-up); the session then starts at its first read.
      partitions.push(typeof offset === 'number' && Number.isSafeInteger(offset) && offset >= 0 ? { topic: this.topic, partition: e[0], offset } : { topic: this.topic, partition: e[0] });
    }
    this.assignments++;
    if (this.mode === 'group') this.ops.push({ type: 'subscribe', process: this.name, topics: [this.topic], timeMs: nowMs });
    this.ops.push({ type: 'assign', process: this.name, partitions, timeMs: nowMs });
  }

  /** The process ended: without its final line, that is a crash (the session ends). */
  exited(nowMs: number): void {
    if (!this.done) this.ops.push({ type: 'crash', process: this.name, timeMs: nowMs });
  }
}

export class ConsumerProcess {
  readonly parser: ConsumerLineParser;
  stderr = '';
  readonly exited: Promise<number | null>;
  readonly #child: ChildProcess;

  constructor(o: ConsumerOptions) {
    if (o.mode === 'group' && (o.group === undefined || o.group === '')) throw new Error(`consumer ${o.name}: group mode needs a group id`);
    this.parser = new ConsumerLineParser({ name: o.name, topic: o.topic, mode: o.mode });
    const python = o.python ?? defaultPython;
    const args = o.mode === 'assign' ? [consumerScript, 'assign', o.bootstrap, o.topic, o.stopFile] : [consumerScript, 'subscribe', o.bootstrap, o.topic, o.stopFile, o.group!];
    this.#child = spawn(python, args, { env: { ...process.env, PYTHONUNBUFFERED: '1', TRIB_CONSUMER_START_DELAY_MS: String(o.startDelayMs ?? 0) }, stdio: ['ignore', 'pipe', 'pipe'] });
    let pending = '';
    this.#child.stdout?.on('data', (chunk: Buffer) => {
      pending += chunk.toString('utf8');
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      const nowMs = Date.now();
      for (const line of lines) this.parser.line(line, nowMs);
    });
    this.#child.stderr?.on('data', (chunk: Buffer) => {
      if (this.stderr.length < stderrMax) this.stderr += chunk.toString('utf8');
    });
    this.exited = new Promise((resolveExit) => {
      this.#child.once('close', (code) => {
        if (pending.trim() !== '') this.parser.line(pending, Date.now());
        this.parser.exited(Date.now());
        resolveExit(code);
      });
      this.#child.once('error', (err) => {
        this.stderr += `\ncannot run ${python}: ${err.message}`;
        resolveExit(null);
      });
    });
  }

  get name(): string {
    return this.parser.name;
  }

  get ops(): readonly ConsumerOp[] {
    return this.parser.ops;
  }

  kill(): void {
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill('SIGKILL');
  }
}

/** A group member resumed a partition below where the group had already read (and, committing each batch, committed). */
export interface GroupRewind {
  readonly process: string;
  readonly partition: number;
  readonly timeMs: number;
  /** Where it resumed: the committed offset, or null when the group had none (it starts from the log start). */
  readonly resumedAt: number | null;
  /** The highest offset the group had read of the partition before. */
  readonly readUpTo: number;
}

/**
 * Rebalances that sent a group back: a member resuming a partition with no committed offset, or below what the group
 * had read. A commit refused during a rebalance (REBALANCE_IN_PROGRESS, ILLEGAL_GENERATION) or failed during a
 * coordinator failover leaves the last batch uncommitted, so some re-reading is at-least-once as Kafka promises it
 * (`count`, `rereadBound`). `lostCommits` is the part no client can cause: a partition resumed with no committed
 * offset, or below one, that an earlier assignment of the group had already resumed at (so the broker had returned it
 * as committed): committed offsets lost or gone back. Not an anomaly of the checker's (every re-read begins a new
 * session), so the runner reports it next to the counts. `ops`: the group members' ops in time order.
 */
export function groupRewinds(ops: readonly ConsumerOp[], maxExamples = 20): { count: number; rereadBound: number; lostCommits: number; examples: GroupRewind[] } {
  const readUpTo = new Map<number, number>();
  /** The highest committed offset an assignment resumed each partition at so far. */
  const committedSeen = new Map<number, number>();
  const examples: GroupRewind[] = [];
  let count = 0;
  let rereadBound = 0;
  let lostCommits = 0;
  for (const op of ops) {
    if (op.type === 'poll') {
      if (op.offset > (readUpTo.get(op.partition) ?? -1)) readUpTo.set(op.partition, op.offset);
    } else if (op.type === 'assign') {
      for (const tp of op.partitions) {
        const resumedAt = tp.offset ?? null;
        const seen = committedSeen.get(tp.partition);
        if (seen !== undefined && (resumedAt === null || resumedAt < seen)) lostCommits++;
        if (resumedAt !== null && (seen === undefined || resumedAt > seen)) committedSeen.set(tp.partition, resumedAt);
        const upTo = readUpTo.get(tp.partition);
        if (upTo === undefined) continue;
        if (resumedAt !== null && resumedAt > upTo) continue;
        count++;
        rereadBound += upTo + 1 - (resumedAt ?? 0);
        if (examples.length < maxExamples) examples.push({ process: String(op.process), partition: tp.partition, timeMs: op.timeMs, resumedAt, readUpTo: upTo });
      }
    }
  }
  return { count, rereadBound, lostCommits, examples };
}
