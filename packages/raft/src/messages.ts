/**
 * The quorum's RPCs as plain objects (KIP-595 Vote/BeginQuorumEpoch/EndQuorumEpoch/Fetch, KIP-630 FetchSnapshot,
 * KIP-996 pre-vote). Every message names its sender (`from`), receiver (`to`) and the sender's current epoch
 * (`epoch`). Requests that expect an answer carry a `correlationId` the response echoes; the core drops
 * responses whose id it is not waiting for (duplicates, reordering, answers to an older request).
 *
 * Transports serialise these however they like (the gRPC transport maps them to proto messages); the core
 * only ever sees these shapes.
 */
import type { Entry, SnapshotId } from './types.ts';

export interface VoteRequest {
  readonly type: 'VoteRequest';
  readonly from: number;
  readonly to: number;
  /** Candidate: its new epoch. Pre-vote (KIP-996): the prospective's current epoch, not bumped. */
  readonly epoch: number;
  readonly preVote: boolean;
  readonly lastOffsetEpoch: number;
  /** The candidate's log end offset (exclusive). */
  readonly lastOffset: number;
  readonly correlationId: number;
}

export interface VoteResponse {
  readonly type: 'VoteResponse';
  readonly from: number;
  readonly to: number;
  /** The responder's epoch (may be lower than the request's for a pre-vote). */
  readonly epoch: number;
  /** The epoch of the request this answers. */
  readonly requestEpoch: number;
  readonly preVote: boolean;
  readonly voteGranted: boolean;
  readonly leaderId: number | null;
  readonly correlationId: number;
}

export interface BeginQuorumEpochRequest {
  readonly type: 'BeginQuorumEpochRequest';
  readonly from: number;
  readonly to: number;
  readonly epoch: number;
  readonly leaderId: number;
  readonly correlationId: number;
}

export interface BeginQuorumEpochResponse {
  readonly type: 'BeginQuorumEpochResponse';
  readonly from: number;
  readonly to: number;
  readonly epoch: number;
  readonly leaderId: number | null;
  readonly error: 'none' | 'fenced-epoch';
  readonly correlationId: number;
}

export interface EndQuorumEpochRequest {
  readonly type: 'EndQuorumEpochRequest';
  readonly from: number;
  readonly to: number;
  readonly epoch: number;
  readonly leaderId: number;
  /** Voters in the order the resigning leader prefers them as successor (most caught up first). */
  readonly preferredSuccessors: readonly number[];
  readonly correlationId: number;
}

export interface EndQuorumEpochResponse {
  readonly type: 'EndQuorumEpochResponse';
  readonly from: number;
  readonly to: number;
  readonly epoch: number;
  readonly leaderId: number | null;
  readonly error: 'none' | 'fenced-epoch';
  readonly correlationId: number;
}

export interface FetchRequest {
  readonly type: 'FetchRequest';
  readonly from: number;
  readonly to: number;
  readonly epoch: number;
  /** The fetcher's log end offset. */
  readonly fetchOffset: number;
  /** The epoch of the fetcher's last entry (or of its snapshot, or 0 when empty). */
  readonly lastFetchedEpoch: number;
  readonly correlationId: number;
}

export type FetchError = 'none' | 'fenced-epoch' | 'unknown-epoch' | 'not-leader';

export interface FetchResponse {
  readonly type: 'FetchResponse';
  readonly from: number;
  readonly to: number;
  readonly epoch: number;
  readonly leaderId: number | null;
  readonly error: FetchError;
  readonly highWatermark: number;
  /** Entries starting at the request's fetchOffset; empty unless the fetch was valid. */
  readonly entries: readonly Entry[];
  /** Set when (fetchOffset, lastFetchedEpoch) is inconsistent with the leader's log: truncate to this. */
  readonly divergingEpoch: { readonly epoch: number; readonly endOffset: number } | null;
  /** Set when the fetcher must load this snapshot (its fetch offset is below the leader's log start). */
  readonly snapshotId: SnapshotId | null;
  readonly correlationId: number;
}

export interface FetchSnapshotRequest {
  readonly type: 'FetchSnapshotRequest';
  readonly from: number;
  readonly to: number;
  readonly epoch: number;
  readonly snapshotId: SnapshotId;
  /** Byte position of the wanted chunk. */
  readonly position: number;
  readonly correlationId: number;
}

export interface FetchSnapshotResponse {
  readonly type: 'FetchSnapshotResponse';
  readonly from: number;
  readonly to: number;
  readonly epoch: number;
  readonly leaderId: number | null;
  readonly error: 'none' | 'fenced-epoch' | 'unknown-epoch' | 'not-leader' | 'snapshot-not-found' | 'position-out-of-range';
  readonly snapshotId: SnapshotId;
  /** Total snapshot size in bytes. */
  readonly size: number;
  readonly position: number;
  readonly chunk: Uint8Array;
  readonly correlationId: number;
}

export type Message =
  | VoteRequest
  | VoteResponse
  | BeginQuorumEpochRequest
  | BeginQuorumEpochResponse
  | EndQuorumEpochRequest
  | EndQuorumEpochResponse
  | FetchRequest
  | FetchResponse
  | FetchSnapshotRequest
  | FetchSnapshotResponse;

export type MessageType = Message['type'];

/** Fixed per-message overhead we budget for headers and scalar fields. */
const HEADER_BYTES = 64;
/** Per-entry overhead (offset, epoch, kind, length prefix). */
export const ENTRY_OVERHEAD_BYTES = 24;

export function entrySizeBytes(entry: Entry): number {
  return ENTRY_OVERHEAD_BYTES + entry.data.byteLength;
}

/** An upper-bound estimate of a message's encoded size, used to enforce `maxMessageBytes`. */
export function messageSizeBytes(message: Message): number {
  switch (message.type) {
    case 'FetchResponse': {
      let bytes = HEADER_BYTES;
      for (const entry of message.entries) bytes += entrySizeBytes(entry);
      return bytes;
    }
    case 'FetchSnapshotResponse':
      return HEADER_BYTES + message.chunk.byteLength;
    case 'EndQuorumEpochRequest':
      return HEADER_BYTES + 4 * message.preferredSuccessors.length;
    default:
      return HEADER_BYTES;
  }
}

function printable(data: Uint8Array): string {
  const text = new TextDecoder().decode(data.subarray(0, 32));
  return /^[\x20-\x7e]*$/.test(text) ? JSON.stringify(text) + (data.byteLength > 32 ? '…' : '') : `<${data.byteLength}B>`;
}

export function describeEntry(entry: Entry): string {
  return entry.kind === 'leader-change' ? `${entry.offset}@${entry.epoch}:leader-change` : `${entry.offset}@${entry.epoch}:${printable(entry.data)}`;
}

function describeEntries(entries: readonly Entry[]): string {
  if (entries.length <= 4) return `[${entries.map(describeEntry).join(' ')}]`;
  return `[${describeEntry(entries[0]!)} … ${describeEntry(entries[entries.length - 1]!)} (${entries.length})]`;
}

/** A one-line, deterministic rendering for traces and golden files. */
export function describeMessage(message: Message): string {
  const head = `${message.from}->${message.to} ${message.type} e${message.epoch}`;
  switch (message.type) {
    case 'VoteRequest':
      return `${head}${message.preVote ? ' pre' : ''} last=${message.lastOffset}@${message.lastOffsetEpoch}`;
    case 'VoteResponse':
      return `${head}${message.preVote ? ' pre' : ''} req=e${message.requestEpoch} ${message.voteGranted ? 'granted' : 'rejected'} leader=${message.leaderId ?? '-'}`;
    case 'BeginQuorumEpochRequest':
      return `${head} leader=${message.leaderId}`;
    case 'BeginQuorumEpochResponse':
    case 'EndQuorumEpochResponse':
      return `${head} ${message.error} leader=${message.leaderId ?? '-'}`;
    case 'EndQuorumEpochRequest':
      return `${head} leader=${message.leaderId} successors=[${message.preferredSuccessors.join(',')}]`;
    case 'FetchRequest':
      return `${head} offset=${message.fetchOffset} lastEpoch=${message.lastFetchedEpoch}`;
    case 'FetchResponse': {
      let text = `${head} ${message.error} leader=${message.leaderId ?? '-'} hw=${message.highWatermark}`;
      if (message.entries.length > 0) text += ` entries=${describeEntries(message.entries)}`;
      if (message.divergingEpoch) text += ` diverging=${message.divergingEpoch.endOffset}@${message.divergingEpoch.epoch}`;
      if (message.snapshotId) text += ` snapshot=${message.snapshotId.endOffset}@${message.snapshotId.epoch}`;
      return text;
    }
    case 'FetchSnapshotRequest':
      return `${head} snapshot=${message.snapshotId.endOffset}@${message.snapshotId.epoch} pos=${message.position}`;
    case 'FetchSnapshotResponse':
      return `${head} ${message.error} snapshot=${message.snapshotId.endOffset}@${message.snapshotId.epoch} pos=${message.position} len=${message.chunk.byteLength}/${message.size}`;
  }
}
