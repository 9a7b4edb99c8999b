/**
 * The produce workload: e2e/python/idempotent_producer.py (librdkafka through confluent-kafka, acks=all,
 * idempotence) writing unique values `NAME-SEQ`, one JSON line per delivery report. Each line becomes a
 * `send` op at the time it arrived; values the producer created but never reported on become `info`
 * (unknown) sends, so a read of them is not "unexpected".
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { SendOp } from '../checker/history.ts';

export const producerScript = resolve(import.meta.dirname, '../../../../e2e/python/idempotent_producer.py');
export const defaultPython = process.env.TRIB_PYTHON ?? '/usr/bin/python3';
/** A bound on the ops one producer may record: 10 hours at 1000 records/s. */
const opsMax = 36_000_000;
const stderrMax = 100_000;

interface DeliveryLine {
  readonly v?: string;
  readonly p?: number;
  /** null when the acknowledgement named no offset (confluent-kafka's Message.offset() is None). */
  readonly o?: number | null;
  readonly err?: string;
  readonly done?: boolean;
  readonly sent?: number;
  readonly epochBumps?: number;
}

export interface ProducerOptions {
  readonly python?: string;
  readonly bootstrap: string;
  readonly topic: string;
  /** Values are `${name}-${seq}`: unique per run as long as names are. */
  readonly name: string;
  /** The producer stops when this file exists. */
  readonly stopFile: string;
  readonly ratePerS: number;
}

export class ProducerProcess {
  readonly name: string;
  readonly topic: string;
  readonly ops: SendOp[] = [];
  /** How many values the producer created (from its final line), null until it finished cleanly. */
  sent: number | null = null;
  /**
   * librdkafka's producer-epoch bumps (from its final line; null until it finished cleanly). After a bump it re-sends
   * possibly persisted messages under the new epoch, so a broker must never give it cause: a run expects 0.
   */
  epochBumps: number | null = null;
  stderr = '';
  readonly exited: Promise<number | null>;
  readonly #child: ChildProcess;
  #maxSeq = -1;
  #malformed = 0;

  constructor(o: ProducerOptions) {
    this.name = o.name;
    this.topic = o.topic;
    const python = o.python ?? defaultPython;
    this.#child = spawn(python, [producerScript, o.bootstrap, o.topic, o.name, o.stopFile, String(o.ratePerS)], {
      env: { ...process.env, PYTHONUNBUFFERED: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let pending = '';
    this.#child.stdout?.on('data', (chunk: Buffer) => {
      pending += chunk.toString('utf8');
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      const nowMs = Date.now();
      for (const line of lines) if (line.trim() !== '') this.#line(line, nowMs);
    });
    this.#child.stderr?.on('data', (chunk: Buffer) => {
      if (this.stderr.length < stderrMax) this.stderr += chunk.toString('utf8');
    });
    this.exited = new Promise((resolveExit) => {
      this.#child.once('close', (code) => resolveExit(code));
      this.#child.once('error', (err) => {
        this.stderr += `\ncannot run ${python}: ${err.message}`;
        resolveExit(null);
      });
    });
  }

  #line(line: string, nowMs: number): void {
    let d: DeliveryLine;
    try {
      d = JSON.parse(line) as DeliveryLine;
    } catch {
      this.#malformed++;
      return;
    }
    if (d.done === true) {
      this.sent = d.sent ?? null;
      this.epochBumps = d.epochBumps ?? null;
      return;
    }
    if (typeof d.v !== 'string') return;
    if (this.ops.length >= opsMax) throw new Error(`producer ${this.name} recorded ${opsMax} ops: the run is longer than the harness supports`);
    const seq = Number(d.v.slice(this.name.length + 1));
    if (Number.isSafeInteger(seq) && seq > this.#maxSeq) this.#maxSeq = seq;
    // A delivery error of an idempotent producer (timeout, fatal error) leaves the write unknown: it may be in
    // the log. The report names no partition; the checker matches unknown sends by value, so 0 stands in.
    if (d.err !== undefined) this.ops.push({ type: 'send', process: this.name, topic: this.topic, partition: 0, key: d.v, value: d.v, outcome: 'info', timeMs: nowMs });
    // An acknowledgement may carry no offset: librdkafka reports a retry the broker answered with
    // DUPLICATE_SEQUENCE_NUMBER (the first copy is already in the log) as delivered, at an unknown offset.
    else if (typeof d.o === 'number' && d.o >= 0) this.ops.push({ type: 'send', process: this.name, topic: this.topic, partition: d.p!, key: d.v, value: d.v, offset: d.o, outcome: 'ok', timeMs: nowMs });
    else this.ops.push({ type: 'send', process: this.name, topic: this.topic, partition: d.p!, key: d.v, value: d.v, outcome: 'ok', timeMs: nowMs });
  }

  get malformedLines(): number {
    return this.#malformed;
  }

  /** Values this producer made but never reported on (up to its final count, else its highest reported seq). */
  unreported(): string[] {
    const reported = new Set(this.ops.map((op) => op.value));
    const upTo = this.sent ?? this.#maxSeq + 1;
    const out: string[] = [];
    for (let seq = 0; seq < upTo; seq++) {
      const v = `${this.name}-${seq}`;
      if (!reported.has(v)) out.push(v);
    }
    return out;
  }

  kill(): void {
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill('SIGKILL');
  }
}

/** Checks the python interpreter and confluent_kafka before a run starts. */
export function checkPython(python = defaultPython): string[] {
  if (!existsSync(python)) return [`the producer needs ${python} with confluent_kafka (Debian: apt-get install python3-confluent-kafka); set TRIB_PYTHON to another interpreter`];
  if (!existsSync(producerScript)) return [`the producer script ${producerScript} is missing`];
  return [];
}
