import { assert, type Rng } from '@tributary/common';

/**
 * Uuids (topic ids, broker incarnation ids) are Kafka's 16 bytes, written as the 22-character base64url text
 * the protocol codec uses, so the ids in the image are the ids on the wire.
 */
export const UUID_BYTES = 16;
export const ZERO_UUID = 'AAAAAAAAAAAAAAAAAAAAAA';
/** Kafka reserves 0..99 (as a 128-bit number) for special ids such as the metadata topic's; random ids avoid them. */
const RESERVED_BELOW = 100;
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
/** Character code → 6-bit value, -1 for characters outside the alphabet. */
const VALUES = new Int8Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) VALUES[ALPHABET.charCodeAt(i)] = i;
/** Attempts to draw a fresh id before giving up (a clash is astronomically unlikely with a real Rng). */
const MAX_DRAWS = 64;

export function uuidToBytes(uuid: string): Uint8Array | null {
  const out = new Uint8Array(UUID_BYTES);
  return writeUuid(uuid, out, 0) ? out : null;
}

/** Writes the uuid's 16 bytes at `offset`; false (bytes undefined) when the text is not a canonical uuid. */
export function writeUuid(uuid: string, out: Uint8Array, offset: number): boolean {
  if (uuid.length !== 22) return false;
  let acc = 0;
  let bits = 0;
  let n = 0;
  for (let i = 0; i < 22; i++) {
    const code = uuid.charCodeAt(i);
    const v = code < 128 ? VALUES[code]! : -1;
    if (v < 0) return false;
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      if (n < UUID_BYTES) out[offset + n] = (acc >> bits) & 0xff;
      n++;
      acc &= (1 << bits) - 1;
    }
  }
  // 22 characters carry 132 bits: the last 4 must be zero or the text is not canonical.
  return n === UUID_BYTES && acc === 0;
}

export function bytesToUuid(bytes: Uint8Array, offset = 0): string {
  let s = '';
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < UUID_BYTES; i++) {
    acc = (acc << 8) | bytes[offset + i]!;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      s += ALPHABET[(acc >> bits) & 0x3f];
    }
    acc &= (1 << bits) - 1;
  }
  s += ALPHABET[(acc << (6 - bits)) & 0x3f];
  return s;
}

const scratch = new Uint8Array(UUID_BYTES);

export function isValidUuid(uuid: string): boolean {
  return writeUuid(uuid, scratch, 0);
}

/**
 * A fresh random uuid drawn from the injected Rng: never the zero id, never a reserved id, never one that
 * starts with '-' (command lines would take it for a flag), and never one `taken` already holds.
 */
export function randomUuid(rng: Rng, taken: (uuid: string) => boolean): string {
  for (let draw = 0; draw < MAX_DRAWS; draw++) {
    const bytes = new Uint8Array(UUID_BYTES);
    for (let i = 0; i < UUID_BYTES; i++) bytes[i] = rng.int(256);
    let reserved = true;
    for (let i = 0; i < UUID_BYTES - 1; i++) if (bytes[i] !== 0) reserved = false;
    if (reserved && bytes[UUID_BYTES - 1]! < RESERVED_BELOW) continue;
    const uuid = bytesToUuid(bytes);
    if (uuid.startsWith('-') || taken(uuid)) continue;
    return uuid;
  }
  assert(false, `no fresh uuid after ${MAX_DRAWS} draws: the Rng is not random`);
}
