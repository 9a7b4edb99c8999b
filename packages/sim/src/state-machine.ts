/**
 * The simulated state machine: a running hash chain over every applied entry. Two nodes agree on their
 * applied prefix iff their chains agree at the same offset, so snapshots are tiny (offset + chain, padded
 * to a random size so transfers take several chunks).
 */
import { assert } from '@tributary/common';
import type { Entry } from '@tributary/raft';

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

function mixByte(hash: number, byte: number): number {
  return Math.imul(hash ^ byte, FNV_PRIME) >>> 0;
}

function mixInt(hash: number, value: number): number {
  let h = hash;
  for (let i = 0; i < 4; i++) h = mixByte(h, (value >>> (i * 8)) & 0xff);
  return h;
}

/** Hash of one entry's identity and content. */
export function entryHash(entry: Entry): number {
  let h = mixInt(FNV_OFFSET, entry.offset);
  h = mixInt(h, entry.epoch);
  h = mixByte(h, entry.kind === 'data' ? 1 : 2);
  for (const byte of entry.data) h = mixByte(h, byte);
  return h;
}

export function chainHash(previous: number, entry: Entry): number {
  return mixInt(mixInt(previous, entryHash(entry)), entry.offset);
}

export const EMPTY_CHAIN = FNV_OFFSET;

export interface SnapshotContent {
  endOffset: number;
  chain: number;
}

export class HashChainStateMachine {
  appliedTo = 0;
  chain = EMPTY_CHAIN;

  apply(entry: Entry): void {
    assert(entry.offset === this.appliedTo, () => `state machine applies ${entry.offset}, expected ${this.appliedTo}`);
    this.chain = chainHash(this.chain, entry);
    this.appliedTo++;
  }

  snapshot(padBytes: number): Uint8Array {
    return new TextEncoder().encode(JSON.stringify({ endOffset: this.appliedTo, chain: this.chain, pad: 'x'.repeat(padBytes) }));
  }

  load(data: Uint8Array): SnapshotContent {
    const content = decodeSnapshot(data);
    this.appliedTo = content.endOffset;
    this.chain = content.chain;
    return content;
  }
}

export function decodeSnapshot(data: Uint8Array): SnapshotContent {
  const parsed = JSON.parse(new TextDecoder().decode(data)) as SnapshotContent;
  return { endOffset: parsed.endOffset, chain: parsed.chain };
}
