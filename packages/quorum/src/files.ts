/**
 * The small files of a quorum node's data directory, each replaced atomically (temp file, fsync, rename, fsync dir):
 *
 *   quorum-state.json     {"version":1,"epoch":E,"votedFor":N|null,"leaderId":N|null,"crc":C}
 *                         C = CRC-32C of the JSON text before `,"crc"`. A missing file means first start; a corrupt
 *                         one stops the node (forgetting a vote could elect two leaders in one epoch).
 *   snapshots/<endOffset, 20 digits>-<epoch>.snapshot
 *                         "TRSN" | version u8 = 1 | endOffset int64 | epoch int32 | size uint32 | crc32c(data) uint32 | data
 *                         The newest valid file is the snapshot; older ones are deleted once a newer one is durable.
 */
import { assert } from '@tributary/common';
import { crc32c } from '@tributary/protocol';
import type { QuorumStateData, Snapshot } from '@tributary/raft';
import { joinPath, writeFileAtomic, type FileSystem } from '@tributary/storage';

export const QUORUM_STATE_FILE = 'quorum-state.json';
export const SNAPSHOT_DIR = 'snapshots';
const SNAPSHOT_MAGIC = Buffer.from('TRSN');
const SNAPSHOT_HEADER_BYTES = 4 + 1 + 8 + 4 + 4 + 4;

export function encodeQuorumState(q: QuorumStateData): Buffer {
  const body = `{"version":1,"epoch":${q.epoch},"votedFor":${q.votedFor},"leaderId":${q.leaderId}`;
  return Buffer.from(`${body},"crc":${crc32c(Buffer.from(body))}}\n`);
}

export function decodeQuorumState(data: Buffer): QuorumStateData {
  const text = data.toString('utf8').trim();
  const at = text.lastIndexOf(',"crc":');
  assert(at > 0, 'quorum-state.json: no crc');
  const body = text.slice(0, at);
  const parsed = JSON.parse(text) as { version: number; epoch: number; votedFor: number | null; leaderId: number | null; crc: number };
  assert(parsed.crc === crc32c(Buffer.from(body)), 'quorum-state.json: crc mismatch');
  assert(parsed.version === 1, () => `quorum-state.json: unknown version ${parsed.version}`);
  const isId = (v: unknown): boolean => v === null || (Number.isSafeInteger(v) && (v as number) >= 0);
  assert(Number.isSafeInteger(parsed.epoch) && parsed.epoch >= 0 && isId(parsed.votedFor) && isId(parsed.leaderId), 'quorum-state.json: bad fields');
  return { epoch: parsed.epoch, votedFor: parsed.votedFor, leaderId: parsed.leaderId };
}

export async function readQuorumState(fs: FileSystem, dataDir: string): Promise<QuorumStateData | null> {
  const path = joinPath(dataDir, QUORUM_STATE_FILE);
  if (!(await fs.exists(path))) return null;
  return decodeQuorumState(await fs.readFile(path));
}

export async function writeQuorumState(fs: FileSystem, dataDir: string, q: QuorumStateData): Promise<void> {
  await writeFileAtomic(fs, joinPath(dataDir, QUORUM_STATE_FILE), encodeQuorumState(q));
}

export function snapshotFileName(endOffset: number, epoch: number): string {
  return `${String(endOffset).padStart(20, '0')}-${epoch}.snapshot`;
}

export function encodeSnapshot(s: Snapshot): Buffer {
  const out = Buffer.alloc(SNAPSHOT_HEADER_BYTES + s.data.byteLength);
  SNAPSHOT_MAGIC.copy(out, 0);
  out.writeUInt8(1, 4);
  out.writeBigInt64BE(BigInt(s.id.endOffset), 5);
  out.writeInt32BE(s.id.epoch, 13);
  out.writeUInt32BE(s.data.byteLength, 17);
  out.writeUInt32BE(crc32c(s.data), 21);
  out.set(s.data, SNAPSHOT_HEADER_BYTES);
  return out;
}

/** Null when the bytes are not a whole, intact snapshot. */
export function decodeSnapshot(buf: Buffer): Snapshot | null {
  if (buf.length < SNAPSHOT_HEADER_BYTES || !buf.subarray(0, 4).equals(SNAPSHOT_MAGIC) || buf.readUInt8(4) !== 1) return null;
  const endOffset = Number(buf.readBigInt64BE(5));
  const epoch = buf.readInt32BE(13);
  const size = buf.readUInt32BE(17);
  if (!Number.isSafeInteger(endOffset) || endOffset <= 0 || epoch <= 0 || buf.length !== SNAPSHOT_HEADER_BYTES + size) return null;
  const data = buf.subarray(SNAPSHOT_HEADER_BYTES);
  if (crc32c(data) !== buf.readUInt32BE(21)) return null;
  return { id: { endOffset, epoch }, data };
}

export class SnapshotStore {
  readonly #fs: FileSystem;
  readonly #dir: string;

  constructor(fs: FileSystem, dataDir: string) {
    this.#fs = fs;
    this.#dir = joinPath(dataDir, SNAPSHOT_DIR);
  }

  /** The newest intact snapshot (older and damaged files are left for `write` to clean up). */
  async loadLatest(): Promise<Snapshot | null> {
    await this.#fs.mkdir(this.#dir);
    const names = (await this.#fs.readdir(this.#dir)).filter((n) => n.endsWith('.snapshot')).sort().reverse();
    for (const name of names) {
      const snapshot = decodeSnapshot(await this.#fs.readFile(joinPath(this.#dir, name)));
      if (snapshot !== null && snapshotFileName(snapshot.id.endOffset, snapshot.id.epoch) === name) return snapshot;
    }
    return null;
  }

  /** Durable when it resolves; then every other snapshot file is removed. */
  async write(s: Snapshot): Promise<void> {
    await this.#fs.mkdir(this.#dir);
    const name = snapshotFileName(s.id.endOffset, s.id.epoch);
    await writeFileAtomic(this.#fs, joinPath(this.#dir, name), encodeSnapshot(s));
    let removed = false;
    for (const other of await this.#fs.readdir(this.#dir)) {
      if (other === name) continue;
      await this.#fs.unlink(joinPath(this.#dir, other));
      removed = true;
    }
    if (removed) await this.#fs.syncDir(this.#dir);
  }
}
