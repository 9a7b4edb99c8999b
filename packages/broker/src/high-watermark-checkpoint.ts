/**
 * The high-watermark checkpoint of a data directory (in the spirit of Kafka's replication-offset-checkpoint): the high
 * watermark of every partition hosted there, so that after a restart each partition starts from what the broker knew
 * rather than from 0. Without it, a leader elected after every replica restarted answers ListOffsets(latest) with a
 * too-low offset until all its in-sync followers have fetched.
 *
 * On disk, `<dataDir>/replication-offset-checkpoint`, text (Kafka's columns plus a version, the topic id and a checksum):
 *   `1\n<count>\n<topic> <partition> <highWatermark> <topicId>\n...crc <CRC-32C of every byte before this line>\n`
 * Topic names cannot hold spaces (legal characters: letters, digits, '.', '_', '-'), so a space separates columns.
 * The topic id keeps a topic deleted and re-created under the same name from inheriting the old one's high watermark.
 *
 * Writing: the storage package's writeFileAtomic (temp file, fsync, rename, fsync of the directory), so a crash leaves
 * the old or the new file, never a mix. One write at a time: a write asked for while one runs waits for it and then
 * writes once with the values of that moment; further asks meanwhile join that pending write.
 *
 * Reading (once, before the first partition opens): a missing, truncated or corrupt file is logged and treated as
 * empty; it never stops the broker. A value read is only a starting point: the partition caps it at its recovered log
 * end (Partition.restoreHighWatermark), so a stale file never raises a high watermark above what the log holds.
 *
 * Entries the file names whose partitions have not been opened yet are kept (and written again) until the broker has
 * caught up with the cluster metadata (`dropUnclaimed`): a write that happens before the partitions open must not lose
 * them. After that, what the file lists is exactly the partitions hosted, so deleted ones leave it at the next write.
 */
import type { Logger } from '@tributary/common';
import { crc32c } from '@tributary/protocol';
import { errorCode, joinPath, writeFileAtomic, type FileSystem } from '@tributary/storage';

export const HIGH_WATERMARK_CHECKPOINT_FILE = 'replication-offset-checkpoint';
const FORMAT_VERSION = 1;
/** Sanity bounds when parsing: a file claiming more entries, or bigger than this, is corrupt. */
const MAX_FILE_ENTRIES = 1 << 20;
const MAX_FILE_BYTES = 64 * 1024 * 1024;
const TOPIC_NAME = /^[A-Za-z0-9._-]{1,249}$/;
/** A topic id as the metadata writes it: 16 bytes, base64url without padding. */
const TOPIC_ID = /^[A-Za-z0-9_-]{22}$/;

export interface HighWatermarkEntry {
  readonly topic: string;
  readonly partition: number;
  readonly topicId: string;
  readonly highWatermark: number;
}

export function encodeHighWatermarkCheckpoint(entries: readonly HighWatermarkEntry[]): Buffer {
  const sorted = [...entries].sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
  const lines = [String(FORMAT_VERSION), String(sorted.length)];
  for (const e of sorted) {
    if (!TOPIC_NAME.test(e.topic) || !TOPIC_ID.test(e.topicId) || !isOffset(e.partition) || !isOffset(e.highWatermark)) {
      throw new Error(`cannot checkpoint the high watermark of ${e.topic}-${e.partition} (topic id ${e.topicId}, high watermark ${e.highWatermark}): not a valid entry`);
    }
    lines.push(`${e.topic} ${e.partition} ${e.highWatermark} ${e.topicId}`);
  }
  const body = `${lines.join('\n')}\n`;
  return Buffer.from(`${body}crc ${crc32c(Buffer.from(body, 'latin1'))}\n`, 'latin1');
}

/** Parses a checkpoint file: its entries, or why it is not a complete, valid one. */
export function decodeHighWatermarkCheckpoint(bytes: Buffer): { entries: HighWatermarkEntry[] } | { problem: string } {
  const text = bytes.toString('latin1');
  const crcAt = text.lastIndexOf('crc ');
  if (crcAt < 0 || !text.endsWith('\n')) return { problem: 'no checksum line at the end (truncated?)' };
  const body = text.slice(0, crcAt);
  const crc = parseDecimal(text.slice(crcAt + 4, -1));
  if (crc === null || crc !== crc32c(Buffer.from(body, 'latin1'))) return { problem: 'checksum mismatch' };
  const lines = body.split('\n');
  // version, count, entries..., '' after the final newline
  if (lines.length < 3 || lines[0] !== String(FORMAT_VERSION)) return { problem: `unknown format version ${JSON.stringify(lines[0]?.slice(0, 20))}` };
  const count = parseDecimal(lines[1]!);
  if (count === null || count > MAX_FILE_ENTRIES || lines.length !== count + 3) return { problem: `entry count ${JSON.stringify(lines[1]?.slice(0, 20))} does not match the file` };
  const entries: HighWatermarkEntry[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < count; i++) {
    const parts = lines[i + 2]!.split(' ');
    const [topic, partitionText, hwText, topicId] = parts;
    const partition = parseDecimal(partitionText ?? '');
    const highWatermark = parseDecimal(hwText ?? '');
    if (parts.length !== 4 || !TOPIC_NAME.test(topic!) || !TOPIC_ID.test(topicId!) || partition === null || highWatermark === null) {
      return { problem: `line ${i + 3} is not "<topic> <partition> <highWatermark> <topicId>"` };
    }
    const key = `${topic} ${partition}`;
    if (seen.has(key)) return { problem: `${topic}-${partition} is listed twice` };
    seen.add(key);
    entries.push({ topic: topic!, partition, topicId: topicId!, highWatermark });
  }
  return { entries };
}

/** A non-negative safe integer written as plain decimal digits (no sign, exponent, spaces or leading zeros), or null. */
function parseDecimal(text: string): number | null {
  if (!/^(0|[1-9][0-9]{0,15})$/.test(text)) return null;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : null;
}

function isOffset(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0;
}

export type CheckpointRead = { kind: 'ok'; entries: HighWatermarkEntry[] } | { kind: 'missing' } | { kind: 'unreadable'; problem: string };

export async function readHighWatermarkCheckpoint(fs: FileSystem, dataDir: string): Promise<CheckpointRead> {
  const path = joinPath(dataDir, HIGH_WATERMARK_CHECKPOINT_FILE);
  try {
    if (!(await fs.exists(path))) return { kind: 'missing' };
    const { size } = await fs.stat(path);
    if (size > MAX_FILE_BYTES) return { kind: 'unreadable', problem: `${size} bytes, more than the ${MAX_FILE_BYTES} a valid one can have` };
    const decoded = decodeHighWatermarkCheckpoint(await fs.readFile(path));
    return 'problem' in decoded ? { kind: 'unreadable', problem: decoded.problem } : { kind: 'ok', entries: decoded.entries };
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return { kind: 'missing' };
    return { kind: 'unreadable', problem: `reading it failed: ${(err as Error).message}` };
  }
}

export async function writeHighWatermarkCheckpoint(fs: FileSystem, dataDir: string, entries: readonly HighWatermarkEntry[]): Promise<void> {
  await writeFileAtomic(fs, joinPath(dataDir, HIGH_WATERMARK_CHECKPOINT_FILE), encodeHighWatermarkCheckpoint(entries));
}

const keyOf = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

/** The checkpoint of one data directory as the replica manager uses it: load once, claim per partition, write. */
export class HighWatermarkCheckpoint {
  readonly path: string;
  readonly #fs: FileSystem;
  readonly #dataDir: string;
  readonly #logger: Logger;
  /** The hosted partitions' entries at the moment of a write. */
  readonly #current: () => HighWatermarkEntry[];
  #loading: Promise<void> | null = null;
  /** Loaded entries whose partitions have not opened yet (bounded by the file's entry bound). */
  readonly #unclaimed = new Map<string, HighWatermarkEntry>();
  #writing: Promise<void> | null = null;
  #pending: Promise<void> | null = null;

  constructor(opts: { fs: FileSystem; dataDir: string; logger: Logger; current: () => HighWatermarkEntry[] }) {
    this.#fs = opts.fs;
    this.#dataDir = opts.dataDir;
    this.#logger = opts.logger;
    this.#current = opts.current;
    this.path = joinPath(opts.dataDir, HIGH_WATERMARK_CHECKPOINT_FILE);
  }

  /** Reads the file once (later calls wait for that read). Never fails: an unusable file counts as empty. */
  load(): Promise<void> {
    this.#loading ??= this.#load();
    return this.#loading;
  }

  async #load(): Promise<void> {
    const read = await readHighWatermarkCheckpoint(this.#fs, this.#dataDir);
    if (read.kind === 'missing') {
      this.#logger.info(
        { path: this.path },
        'no high-watermark checkpoint (first start, or written by a version without one): partitions start with high watermark 0 and learn it from their leader or followers; nothing to do',
      );
      return;
    }
    if (read.kind === 'unreadable') {
      this.#logger.warn(
        { path: this.path, problem: read.problem },
        'ignoring the unusable high-watermark checkpoint: partitions start with high watermark 0 until their followers report (clients may get the retriable OFFSET_NOT_AVAILABLE meanwhile); it is rewritten within replica.high.watermark.checkpoint.interval.ms; if this repeats, check the disk',
      );
      return;
    }
    for (const e of read.entries) this.#unclaimed.set(keyOf(e.topic, e.partition), e);
    this.#logger.info({ path: this.path, partitions: read.entries.length }, 'loaded the high-watermark checkpoint');
  }

  /**
   * The checkpointed high watermark of a partition being opened, or null when the file does not name it (or names an
   * earlier topic of the same name). Each entry is claimed once; from then on the open partition itself is written.
   */
  claim(topic: string, partition: number, topicId: string): number | null {
    const key = keyOf(topic, partition);
    const e = this.#unclaimed.get(key);
    if (e === undefined) return null;
    this.#unclaimed.delete(key);
    return e.topicId === topicId ? e.highWatermark : null;
  }

  /** Once caught up with the metadata: what no open partition claimed is not hosted here; it leaves the next write. */
  dropUnclaimed(): number {
    const n = this.#unclaimed.size;
    this.#unclaimed.clear();
    return n;
  }

  /**
   * Writes the file with the hosted partitions' high watermarks (and the entries not claimed yet). One write at a time;
   * see the header. Resolves once the write that covers this call is done; never rejects (a failure is logged and the
   * next interval tries again).
   */
  write(): Promise<void> {
    if (this.#pending !== null) return this.#pending;
    if (this.#writing !== null) {
      const pending = this.#writing.then(() => {
        this.#pending = null;
        return this.#start();
      });
      this.#pending = pending;
      return pending;
    }
    return this.#start();
  }

  #start(): Promise<void> {
    const run = this.#writeNow().finally(() => {
      if (this.#writing === run) this.#writing = null;
    });
    this.#writing = run;
    return run;
  }

  async #writeNow(): Promise<void> {
    try {
      // Entries still to be claimed must be known before the first write, or it would drop them.
      await this.load();
      const entries = this.#current();
      const hosted = new Set(entries.map((e) => keyOf(e.topic, e.partition)));
      for (const [key, e] of this.#unclaimed) if (!hosted.has(key)) entries.push(e);
      await writeHighWatermarkCheckpoint(this.#fs, this.#dataDir, entries);
    } catch (err) {
      this.#logger.error(
        { path: this.path, err: (err as Error).message },
        'writing the high-watermark checkpoint failed; the previous one stays in place and the next interval tries again (check free space and permissions of the data directory)',
      );
    }
  }
}
