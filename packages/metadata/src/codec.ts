/**
 * Binary encoding of metadata records (ours, compact, versioned).
 *
 * Record: `type` (1 byte) `version` (1 byte) then the fields of that type and version, nothing after them.
 * Batch (one Raft entry, or a snapshot): `format` (uvarint, 0) `count` (uvarint) then `count` times
 * `length` (uvarint) + record. An operation's records travel as one batch so they commit all or nothing.
 *
 * Field encodings:
 *   uvarint  unsigned LEB128 of a safe integer (lengths, counts, epochs, producer ids, ports); minimal form only
 *   int32    zigzag uvarint of an int32 (broker ids, partition ids, leaders incl. -1/-2)
 *   int64    zigzag uvarint of an integer in [-2^52, 2^52) (epochs that may be -1)
 *   bool     one byte, 0 or 1
 *   string   uvarint byte length + UTF-8;  nullable string: uvarint (length + 1), 0 = null
 *   uuid     16 bytes
 *   int32[]  uvarint count + int32s;       nullable int32[]: uvarint (count + 1), 0 = null
 *
 * Versioning: a change to a record's fields gets a new version; the decoder keeps reading every older version
 * (upgrading it to the current shape) and rejects versions it does not know, so a node never misreads a record
 * written by a newer node. `partition` and `partition-change` have a version 1 that adds the reassignment
 * fields (`addingReplicas`, `removingReplicas`); a record is written at the lowest version that carries it (so
 * records without a reassignment stay readable by version-0 nodes), and a version-1 record that carries
 * nothing version 0 could not is refused, keeping decode → encode byte-identical. Everything else is at 0.
 */
import { assert, unreachable } from '@tributary/common';
import { RecordDecodeError } from './errors.ts';
import {
  ConfigResourceType,
  type BrokerListener,
  type ConfigResourceTypeCode,
  type MetadataRecord,
  type MetadataRecordType,
} from './records.ts';
import { bytesToUuid, UUID_BYTES, writeUuid } from './uuid.ts';

/** Wire codes of the record types (Kafka's metadata api keys where one exists; ours from 128). */
export const RECORD_TYPE_CODES: Readonly<Record<MetadataRecordType, number>> = Object.freeze({
  'register-broker': 0,
  'unregister-broker': 1,
  topic: 2,
  partition: 3,
  config: 4,
  'partition-change': 5,
  'fence-broker': 7,
  'unfence-broker': 8,
  'remove-topic': 9,
  'feature-level': 12,
  'producer-ids': 15,
  'broker-registration-change': 17,
  'next-broker-epoch': 128,
});

/** The newest version of each record type: the decoder accepts 0 through this. */
export const RECORD_VERSIONS: Readonly<Record<MetadataRecordType, number>> = Object.freeze({
  'register-broker': 0,
  'unregister-broker': 0,
  topic: 0,
  partition: 1,
  config: 0,
  'partition-change': 1,
  'fence-broker': 0,
  'unfence-broker': 0,
  'remove-topic': 0,
  'feature-level': 0,
  'producer-ids': 0,
  'broker-registration-change': 0,
  'next-broker-epoch': 0,
});

const TYPES_BY_CODE = new Map<number, MetadataRecordType>(
  Object.entries(RECORD_TYPE_CODES).map(([type, code]) => [code, type as MetadataRecordType]),
);

const BATCH_FORMAT = 0;
const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;
const INT64_LIMIT = 2 ** 52;
const MAX_VARINT_BYTES = 8; // 56 bits, enough for any safe integer
const FEATURE_LEVEL_MAX = 32767;
const PORT_MAX = 65535;

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

class Writer {
  #buf = new Uint8Array(64);
  #pos = 0;

  #ensure(n: number): void {
    if (this.#pos + n <= this.#buf.length) return;
    let size = this.#buf.length * 2;
    while (size < this.#pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.#buf.subarray(0, this.#pos));
    this.#buf = next;
  }

  byte(v: number): void {
    this.#ensure(1);
    this.#buf[this.#pos++] = v;
  }

  uvarint(v: number, what: string): void {
    assert(Number.isSafeInteger(v) && v >= 0, () => `${what}: ${v} is not a non-negative safe integer`);
    this.#ensure(MAX_VARINT_BYTES);
    let rest = v;
    while (rest >= 0x80) {
      this.#buf[this.#pos++] = (rest % 0x80) | 0x80;
      rest = Math.floor(rest / 0x80);
    }
    this.#buf[this.#pos++] = rest;
  }

  int32(v: number, what: string): void {
    assert(Number.isInteger(v) && v >= INT32_MIN && v <= INT32_MAX, () => `${what}: ${v} is not an int32`);
    this.uvarint(v >= 0 ? v * 2 : -v * 2 - 1, what);
  }

  int64(v: number, what: string): void {
    assert(Number.isInteger(v) && v >= -INT64_LIMIT && v < INT64_LIMIT, () => `${what}: ${v} is outside [-2^52, 2^52)`);
    this.uvarint(v >= 0 ? v * 2 : -v * 2 - 1, what);
  }

  bool(v: boolean): void {
    this.byte(v ? 1 : 0);
  }

  string(v: string): void {
    this.#utf8(v, 0);
  }

  nullableString(v: string | null): void {
    if (v === null) this.uvarint(0, 'string length');
    else this.#utf8(v, 1);
  }

  /** Length (+ bias) then UTF-8 bytes; ASCII, the common case, without an intermediate array. */
  #utf8(v: string, bias: number): void {
    let ascii = true;
    for (let i = 0; i < v.length; i++) {
      if (v.charCodeAt(i) >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (!ascii) {
      const bytes = utf8Encoder.encode(v);
      this.uvarint(bytes.length + bias, 'string length');
      this.bytes(bytes);
      return;
    }
    this.uvarint(v.length + bias, 'string length');
    this.#ensure(v.length);
    for (let i = 0; i < v.length; i++) this.#buf[this.#pos++] = v.charCodeAt(i);
  }

  reset(): void {
    this.#pos = 0;
  }

  get length(): number {
    return this.#pos;
  }

  /** The bytes written so far, as a view (valid until the next write). */
  view(): Uint8Array {
    return this.#buf.subarray(0, this.#pos);
  }

  uuid(v: string, what: string): void {
    this.#ensure(UUID_BYTES);
    assert(writeUuid(v, this.#buf, this.#pos), () => `${what}: "${v}" is not a 22-character base64url uuid`);
    this.#pos += UUID_BYTES;
  }

  int32Array(v: readonly number[], what: string): void {
    this.uvarint(v.length, what);
    for (const x of v) this.int32(x, what);
  }

  nullableInt32Array(v: readonly number[] | null, what: string): void {
    if (v === null) {
      this.uvarint(0, what);
      return;
    }
    this.uvarint(v.length + 1, what);
    for (const x of v) this.int32(x, what);
  }

  bytes(v: Uint8Array): void {
    this.#ensure(v.length);
    this.#buf.set(v, this.#pos);
    this.#pos += v.length;
  }

  finish(): Uint8Array {
    return this.#buf.slice(0, this.#pos);
  }
}

class Reader {
  readonly #buf: Uint8Array;
  #pos: number;
  readonly #end: number;
  readonly #context: string;

  constructor(buf: Uint8Array, start: number, end: number, context: string) {
    this.#buf = buf;
    this.#pos = start;
    this.#end = end;
    this.#context = context;
  }

  get position(): number {
    return this.#pos;
  }

  get remaining(): number {
    return this.#end - this.#pos;
  }

  fail(what: string, why: string, at = this.#pos): never {
    throw new RecordDecodeError(`${this.#context}: ${what}: ${why} (at byte ${at})`, at);
  }

  #need(n: number, what: string): void {
    if (this.#end - this.#pos < n) this.fail(what, `truncated: needs ${n} byte(s), ${this.#end - this.#pos} left`);
  }

  skip(n: number): void {
    this.#need(n, 'skip');
    this.#pos += n;
  }

  byte(what: string): number {
    this.#need(1, what);
    return this.#buf[this.#pos++]!;
  }

  uvarint(what: string): number {
    const start = this.#pos;
    let value = 0;
    let scale = 1;
    for (let i = 0; i < MAX_VARINT_BYTES; i++) {
      const b = this.byte(what);
      value += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) {
        if (b === 0 && i > 0) this.fail(what, 'varint is not in minimal form', start);
        if (!Number.isSafeInteger(value)) this.fail(what, 'varint exceeds 2^53 - 1', start);
        return value;
      }
      scale *= 0x80;
    }
    this.fail(what, `varint longer than ${MAX_VARINT_BYTES} bytes`, start);
  }

  #zigzag(what: string): number {
    const z = this.uvarint(what);
    return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
  }

  int32(what: string): number {
    const start = this.#pos;
    const v = this.#zigzag(what);
    if (v < INT32_MIN || v > INT32_MAX) this.fail(what, `${v} is outside the int32 range`, start);
    return v;
  }

  int64(what: string): number {
    const start = this.#pos;
    const v = this.#zigzag(what);
    if (v < -INT64_LIMIT || v >= INT64_LIMIT) this.fail(what, `${v} is outside [-2^52, 2^52)`, start);
    return v;
  }

  bool(what: string): boolean {
    const at = this.#pos;
    const b = this.byte(what);
    if (b > 1) this.fail(what, `boolean byte is ${b}, not 0 or 1`, at);
    return b === 1;
  }

  #utf8(length: number, what: string): string {
    this.#need(length, what);
    const at = this.#pos;
    try {
      const s = utf8Decoder.decode(this.#buf.subarray(this.#pos, this.#pos + length));
      this.#pos += length;
      return s;
    } catch {
      this.fail(what, 'invalid UTF-8', at);
    }
  }

  string(what: string): string {
    return this.#utf8(this.uvarint(what), what);
  }

  nullableString(what: string): string | null {
    const n = this.uvarint(what);
    return n === 0 ? null : this.#utf8(n - 1, what);
  }

  uuid(what: string): string {
    this.#need(UUID_BYTES, what);
    const s = bytesToUuid(this.#buf, this.#pos);
    this.#pos += UUID_BYTES;
    return s;
  }

  #int32s(count: number, what: string): number[] {
    // Every element takes at least a byte: a count larger than what is left is garbage, not an allocation.
    if (count > this.remaining) this.fail(what, `count ${count} exceeds the ${this.remaining} byte(s) left`);
    const out: number[] = [];
    for (let i = 0; i < count; i++) out.push(this.int32(what));
    return out;
  }

  int32Array(what: string): number[] {
    return this.#int32s(this.uvarint(what), what);
  }

  nullableInt32Array(what: string): number[] | null {
    const n = this.uvarint(what);
    return n === 0 ? null : this.#int32s(n - 1, what);
  }
}

function resourceTypeCode(v: number): ConfigResourceTypeCode | null {
  return v === ConfigResourceType.TOPIC || v === ConfigResourceType.BROKER ? v : null;
}

function present(xs: readonly number[] | null | undefined): xs is readonly number[] {
  return xs !== null && xs !== undefined;
}

/** The lowest version that carries the record: 1 only for a partition (change) with reassignment fields. */
export function recordVersion(record: MetadataRecord): number {
  if (record.type === 'partition') return (record.addingReplicas?.length ?? 0) > 0 || (record.removingReplicas?.length ?? 0) > 0 ? 1 : 0;
  if (record.type === 'partition-change') return present(record.addingReplicas) || present(record.removingReplicas) ? 1 : 0;
  return 0;
}

function writeRecord(w: Writer, record: MetadataRecord): void {
  const version = recordVersion(record);
  w.byte(RECORD_TYPE_CODES[record.type]);
  w.byte(version);
  switch (record.type) {
    case 'topic':
      w.string(record.name);
      w.uuid(record.topicId, 'topic.topicId');
      return;
    case 'partition':
      w.uuid(record.topicId, 'partition.topicId');
      w.int32(record.partitionId, 'partition.partitionId');
      w.int32Array(record.replicas, 'partition.replicas');
      w.int32Array(record.isr, 'partition.isr');
      w.int32(record.leader, 'partition.leader');
      w.uvarint(record.leaderEpoch, 'partition.leaderEpoch');
      w.uvarint(record.partitionEpoch, 'partition.partitionEpoch');
      if (version >= 1) {
        w.int32Array(record.addingReplicas ?? [], 'partition.addingReplicas');
        w.int32Array(record.removingReplicas ?? [], 'partition.removingReplicas');
      }
      return;
    case 'partition-change':
      w.uuid(record.topicId, 'partition-change.topicId');
      w.int32(record.partitionId, 'partition-change.partitionId');
      w.int32(record.leader, 'partition-change.leader');
      w.nullableInt32Array(record.isr, 'partition-change.isr');
      w.nullableInt32Array(record.replicas, 'partition-change.replicas');
      if (version >= 1) {
        w.nullableInt32Array(record.addingReplicas ?? null, 'partition-change.addingReplicas');
        w.nullableInt32Array(record.removingReplicas ?? null, 'partition-change.removingReplicas');
      }
      return;
    case 'register-broker':
      w.int32(record.brokerId, 'register-broker.brokerId');
      w.uuid(record.incarnationId, 'register-broker.incarnationId');
      w.uvarint(record.brokerEpoch, 'register-broker.brokerEpoch');
      w.uvarint(record.listeners.length, 'register-broker.listeners');
      for (const l of record.listeners) {
        w.string(l.name);
        w.string(l.host);
        assert(Number.isInteger(l.port) && l.port >= 0 && l.port <= PORT_MAX, () => `listener port ${l.port} is not in 0..${PORT_MAX}`);
        w.uvarint(l.port, 'register-broker.listeners.port');
      }
      w.nullableString(record.rack);
      w.bool(record.fenced);
      w.bool(record.inControlledShutdown);
      return;
    case 'unregister-broker':
    case 'fence-broker':
    case 'unfence-broker':
      w.int32(record.brokerId, `${record.type}.brokerId`);
      w.uvarint(record.brokerEpoch, `${record.type}.brokerEpoch`);
      return;
    case 'broker-registration-change':
      w.int32(record.brokerId, 'broker-registration-change.brokerId');
      w.uvarint(record.brokerEpoch, 'broker-registration-change.brokerEpoch');
      w.bool(record.inControlledShutdown);
      return;
    case 'config':
      assert(resourceTypeCode(record.resourceType) !== null, () => `config.resourceType ${record.resourceType} is not TOPIC or BROKER`);
      w.byte(record.resourceType);
      w.string(record.resourceName);
      w.string(record.name);
      w.nullableString(record.value);
      return;
    case 'producer-ids':
      w.int32(record.brokerId, 'producer-ids.brokerId');
      w.int64(record.brokerEpoch, 'producer-ids.brokerEpoch');
      w.uvarint(record.nextProducerId, 'producer-ids.nextProducerId');
      return;
    case 'feature-level':
      assert(record.featureLevel <= FEATURE_LEVEL_MAX, () => `feature level ${record.featureLevel} exceeds ${FEATURE_LEVEL_MAX}`);
      w.string(record.name);
      w.uvarint(record.featureLevel, 'feature-level.featureLevel');
      return;
    case 'remove-topic':
      w.uuid(record.topicId, 'remove-topic.topicId');
      return;
    case 'next-broker-epoch':
      w.uvarint(record.nextBrokerEpoch, 'next-broker-epoch.nextBrokerEpoch');
      return;
    default:
      unreachable(record, 'metadata record type');
  }
}

function readRecord(r: Reader): MetadataRecord {
  const typeAt = r.position;
  const code = r.byte('record type');
  const type = TYPES_BY_CODE.get(code);
  if (type === undefined) r.fail('record type', `unknown record type code ${code}`, typeAt);
  const versionAt = r.position;
  const version = r.byte(`${type} version`);
  if (version > RECORD_VERSIONS[type]) {
    r.fail(`${type} version`, `unknown version ${version} (this node reads 0..${RECORD_VERSIONS[type]})`, versionAt);
  }
  switch (type) {
    case 'topic':
      return { type, name: r.string('topic.name'), topicId: r.uuid('topic.topicId') };
    case 'partition': {
      const base = {
        type,
        topicId: r.uuid('partition.topicId'),
        partitionId: r.int32('partition.partitionId'),
        replicas: r.int32Array('partition.replicas'),
        isr: r.int32Array('partition.isr'),
        leader: r.int32('partition.leader'),
        leaderEpoch: r.uvarint('partition.leaderEpoch'),
        partitionEpoch: r.uvarint('partition.partitionEpoch'),
      };
      if (version === 0) return base;
      const at = r.position;
      const addingReplicas = r.int32Array('partition.addingReplicas');
      const removingReplicas = r.int32Array('partition.removingReplicas');
      if (addingReplicas.length === 0 && removingReplicas.length === 0) r.fail('partition version', 'version 1 without a reassignment (written as version 0)', at);
      return { ...base, addingReplicas, removingReplicas };
    }
    case 'partition-change': {
      const base = {
        type,
        topicId: r.uuid('partition-change.topicId'),
        partitionId: r.int32('partition-change.partitionId'),
        leader: r.int32('partition-change.leader'),
        isr: r.nullableInt32Array('partition-change.isr'),
        replicas: r.nullableInt32Array('partition-change.replicas'),
      };
      if (version === 0) return base;
      const at = r.position;
      const addingReplicas = r.nullableInt32Array('partition-change.addingReplicas');
      const removingReplicas = r.nullableInt32Array('partition-change.removingReplicas');
      if (addingReplicas === null && removingReplicas === null) r.fail('partition-change version', 'version 1 without reassignment fields (written as version 0)', at);
      return { ...base, addingReplicas, removingReplicas };
    }
    case 'register-broker': {
      const brokerId = r.int32('register-broker.brokerId');
      const incarnationId = r.uuid('register-broker.incarnationId');
      const brokerEpoch = r.uvarint('register-broker.brokerEpoch');
      const count = r.uvarint('register-broker.listeners');
      // A listener takes at least 3 bytes (two empty strings and a port).
      if (count * 3 > r.remaining) r.fail('register-broker.listeners', `count ${count} exceeds what ${r.remaining} byte(s) can hold`);
      const listeners: BrokerListener[] = [];
      for (let i = 0; i < count; i++) {
        const name = r.string('register-broker.listeners.name');
        const host = r.string('register-broker.listeners.host');
        const portAt = r.position;
        const port = r.uvarint('register-broker.listeners.port');
        if (port > PORT_MAX) r.fail('register-broker.listeners.port', `${port} exceeds ${PORT_MAX}`, portAt);
        listeners.push({ name, host, port });
      }
      return {
        type,
        brokerId,
        incarnationId,
        brokerEpoch,
        listeners,
        rack: r.nullableString('register-broker.rack'),
        fenced: r.bool('register-broker.fenced'),
        inControlledShutdown: r.bool('register-broker.inControlledShutdown'),
      };
    }
    case 'unregister-broker':
    case 'fence-broker':
    case 'unfence-broker':
      return { type, brokerId: r.int32(`${type}.brokerId`), brokerEpoch: r.uvarint(`${type}.brokerEpoch`) };
    case 'broker-registration-change':
      return {
        type,
        brokerId: r.int32('broker-registration-change.brokerId'),
        brokerEpoch: r.uvarint('broker-registration-change.brokerEpoch'),
        inControlledShutdown: r.bool('broker-registration-change.inControlledShutdown'),
      };
    case 'config': {
      const at = r.position;
      const resourceType = resourceTypeCode(r.byte('config.resourceType'));
      if (resourceType === null) r.fail('config.resourceType', 'not TOPIC (2) or BROKER (4)', at);
      return {
        type,
        resourceType,
        resourceName: r.string('config.resourceName'),
        name: r.string('config.name'),
        value: r.nullableString('config.value'),
      };
    }
    case 'producer-ids':
      return {
        type,
        brokerId: r.int32('producer-ids.brokerId'),
        brokerEpoch: r.int64('producer-ids.brokerEpoch'),
        nextProducerId: r.uvarint('producer-ids.nextProducerId'),
      };
    case 'feature-level': {
      const name = r.string('feature-level.name');
      const at = r.position;
      const featureLevel = r.uvarint('feature-level.featureLevel');
      if (featureLevel > FEATURE_LEVEL_MAX) r.fail('feature-level.featureLevel', `${featureLevel} exceeds ${FEATURE_LEVEL_MAX}`, at);
      return { type, name, featureLevel };
    }
    case 'remove-topic':
      return { type, topicId: r.uuid('remove-topic.topicId') };
    case 'next-broker-epoch':
      return { type, nextBrokerEpoch: r.uvarint('next-broker-epoch.nextBrokerEpoch') };
    default:
      return unreachable(type, 'metadata record type');
  }
}

/** Encodes one record. Throws AssertionError on a value the format cannot carry (a bug in the caller). */
export function encodeRecord(record: MetadataRecord): Uint8Array {
  const w = new Writer();
  writeRecord(w, record);
  return w.finish();
}

/** Decodes exactly one record; malformed or trailing bytes throw RecordDecodeError. */
export function decodeRecord(bytes: Uint8Array): MetadataRecord {
  const r = new Reader(bytes, 0, bytes.length, 'metadata record');
  const record = readRecord(r);
  if (r.remaining !== 0) r.fail(record.type, `${r.remaining} trailing byte(s) after the record`);
  return record;
}

/** Encodes records as one batch: the payload of one Raft entry, or of a snapshot. */
export function encodeRecordBatch(records: readonly MetadataRecord[]): Uint8Array {
  const w = new Writer();
  w.uvarint(BATCH_FORMAT, 'batch format');
  w.uvarint(records.length, 'batch count');
  const scratch = new Writer();
  for (const record of records) {
    scratch.reset();
    writeRecord(scratch, record);
    w.uvarint(scratch.length, 'record length');
    w.bytes(scratch.view());
  }
  return w.finish();
}

export function decodeRecordBatch(bytes: Uint8Array): MetadataRecord[] {
  const r = new Reader(bytes, 0, bytes.length, 'metadata record batch');
  const formatAt = r.position;
  const format = r.uvarint('batch format');
  if (format !== BATCH_FORMAT) r.fail('batch format', `unknown batch format ${format}`, formatAt);
  const countAt = r.position;
  const count = r.uvarint('batch count');
  // A record is at least 2 bytes (type, version) plus its length prefix.
  if (count * 3 > r.remaining) r.fail('batch count', `${count} records cannot fit in ${r.remaining} byte(s)`, countAt);
  const records: MetadataRecord[] = [];
  for (let i = 0; i < count; i++) {
    const length = r.uvarint(`record ${i} length`);
    if (length > r.remaining) r.fail(`record ${i} length`, `${length} exceeds the ${r.remaining} byte(s) left`);
    const start = r.position;
    const inner = new Reader(bytes, start, start + length, `metadata record batch: record ${i}`);
    const record = readRecord(inner);
    if (inner.remaining !== 0) inner.fail(record.type, `${inner.remaining} trailing byte(s) after the record`);
    records.push(record);
    r.skip(length);
  }
  if (r.remaining !== 0) r.fail('batch', `${r.remaining} trailing byte(s) after ${count} record(s)`);
  return records;
}
