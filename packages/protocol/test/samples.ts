// Deterministic sample bodies built from the schemas, and a JSON form for fixtures (Buffers as {$hex}).
import { defaultFactory } from '../src/codec.ts';
import { inRange, propertyName, type ApiDef, type FieldDef } from '../src/dsl.ts';
import { encodeRecordBatch } from '../src/records.ts';

export const SAMPLE_RECORDS = encodeRecordBatch({
  baseOffset: 0,
  records: [
    { key: 'k0', value: 'v0', timestamp: 1_700_000_000_000, headers: [{ key: 'h', value: 'x' }] },
    { key: null, value: 'v1', timestamp: 1_700_000_000_005 },
  ],
  compression: 'none',
});

export const CORRELATION_ID = 0x01020304;
export const CLIENT_ID = 'tributary-test';

interface State {
  n: number;
}

/**
 * A body for (api, version, kind) in decoded form. `full` fills every present field (tagged ones with
 * non-default values, nullable ones with values); otherwise nullable fields are null, strings, bytes
 * and arrays empty and tagged fields default, so both shapes are covered.
 */
export function sampleBody(def: ApiDef, version: number, kind: 'request' | 'response'): Record<string, unknown> {
  const flexible = version >= def.flexible.min && version <= def.flexible.max;
  return sampleStruct(kind === 'request' ? def.request : def.response, version, flexible, true, { n: def.key * 7 + version });
}

function sampleStruct(fields: readonly FieldDef[], version: number, flexible: boolean, full: boolean, st: State): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const field of fields) {
    const name = propertyName(field.name);
    const present = inRange(field.versions, version);
    const tagged = present && flexible && field.tag !== undefined;
    if (!present || (tagged && !full)) {
      o[name] = defaultFactory(field)();
      continue;
    }
    st.n++;
    if (!full && inRange(field.nullable, version)) {
      o[name] = null;
      continue;
    }
    o[name] = sampleValue(field, version, flexible, full, st);
  }
  return o;
}

function sampleValue(field: FieldDef, version: number, flexible: boolean, full: boolean, st: State): unknown {
  const t = field.type;
  const n = st.n;
  if (t.startsWith('[]')) {
    const et = t.slice(2);
    if (!full) return [];
    if (/^[A-Z]/.test(et)) {
      return [sampleStruct(field.fields ?? [], version, flexible, true, st), sampleStruct(field.fields ?? [], version, flexible, false, st)];
    }
    return [scalar(et, n, true), scalar(et, n + 1, false)];
  }
  if (/^[A-Z]/.test(t)) return sampleStruct(field.fields ?? [], version, flexible, full, st);
  if (t === 'records') return full ? SAMPLE_RECORDS : null;
  return scalar(t, n, full);
}

function scalar(t: string, n: number, full: boolean): unknown {
  switch (t) {
    case 'int8': return (n % 120) - 3;
    case 'int16': return (n * 37) % 30000;
    case 'uint16': return (n * 53) % 65000;
    case 'int32': return n * 100_003 - 7;
    case 'int64': return n * 1_000_000_007 + 2 ** 40;
    case 'float64': return n + 0.25;
    case 'bool': return n % 2 === 1;
    case 'uuid': {
      const b = Buffer.alloc(16);
      for (let i = 0; i < 16; i++) b[i] = (n * 31 + i * 17) & 0xff;
      return b.toString('base64url');
    }
    case 'string': return full ? (n % 5 === 0 ? `s${n}-ü€` : `s${n}`) : '';
    case 'bytes': return full ? Buffer.from([n & 0xff, 1, 2, 3].slice(0, 1 + (n % 4))) : Buffer.alloc(0);
    default: throw new Error(`no sample for ${t}`);
  }
}

export function toJson(v: unknown): unknown {
  if (Buffer.isBuffer(v)) return { $hex: v.toString('hex') };
  if (Array.isArray(v)) return v.map(toJson);
  if (v !== null && typeof v === 'object') {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) o[k] = toJson(x);
    return o;
  }
  return v;
}

export function fromJson(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(fromJson);
  if (v !== null && typeof v === 'object') {
    const hex = (v as { $hex?: unknown }).$hex;
    if (typeof hex === 'string') return Buffer.from(hex, 'hex');
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) o[k] = fromJson(x);
    return o;
  }
  return v;
}

/** Hex with 32 bytes per line, so fixture diffs are readable. */
export function formatHex(buf: Buffer): string {
  const lines: string[] = [];
  for (let i = 0; i < buf.length; i += 32) lines.push(buf.subarray(i, i + 32).toString('hex'));
  return lines.join('\n') + '\n';
}

export function parseHex(text: string): Buffer {
  return Buffer.from(text.replace(/\s+/g, ''), 'hex');
}
