// Compiles schema definitions (./dsl.ts) into specialised decode/encode functions, once per
// (api, version, direction), on first use. The generated code reads fields in order into one object
// literal, so every decoded body of a message has the same shape: all fields of the latest version,
// absent ones set to their defaults. Tagged fields are read into their named properties; unknown tags
// are skipped by length.
import { inRange, propertyName, type ApiDef, type Default, type FieldDef } from './dsl.ts';
import { ErrorCode, ProtocolError } from './errors.ts';
import { Reader } from './reader.ts';
import { Writer } from './writer.ts';

export type DecodeFn = (r: Reader) => Record<string, unknown>;
export type EncodeFn = (w: Writer, body: object) => void;

/** Kafka's zero uuid in the 22-character base64url form the codec uses for uuids. */
export const ZERO_UUID = 'AAAAAAAAAAAAAAAAAAAAAA';
const EMPTY_BYTES = Buffer.alloc(0);

const PRIMITIVE_SIZE: Record<string, number> = {
  int8: 1, int16: 2, uint16: 2, int32: 4, int64: 8, float64: 8, bool: 1, uuid: 16,
};
const NUMERIC = new Set(['int8', 'int16', 'uint16', 'int32', 'int64', 'float64']);

interface Ctx {
  readonly version: number;
  readonly flexible: boolean;
  /** Requests refuse a non-default value in a non-ignorable field the version lacks (as Kafka does). */
  readonly strict: boolean;
  readonly helpers: unknown[];
}

function helper(ctx: Ctx, fn: unknown): string {
  ctx.helpers.push(fn);
  return `H[${ctx.helpers.length - 1}]`;
}

function isArrayType(type: string): boolean {
  return type.startsWith('[]');
}
function elementType(type: string): string {
  return type.slice(2);
}
function isStructType(type: string): boolean {
  return /^[A-Z]/.test(type);
}

function fieldFlexible(field: FieldDef, ctx: Ctx): boolean {
  return field.flexible !== undefined ? inRange(field.flexible, ctx.version) : ctx.flexible;
}
function isTagged(field: FieldDef, ctx: Ctx): boolean {
  return field.tag !== undefined && ctx.flexible && inRange(field.tagged ?? field.versions, ctx.version);
}

// ---------------------------------------------------------------------------------------------
// Defaults

/** A function giving a fresh default value for a field (fresh so callers may mutate arrays). */
export function defaultFactory(field: FieldDef): () => unknown {
  const d = field.default;
  const t = field.type;
  if (isArrayType(t)) return d === null ? () => null : () => [];
  if (isStructType(t)) {
    const children = field.fields ?? [];
    const makers = children.map((c) => [propertyName(c.name), defaultFactory(c)] as const);
    return () => {
      const o: Record<string, unknown> = {};
      for (const [name, make] of makers) o[name] = make();
      return o;
    };
  }
  const v = scalarDefault(t, d);
  return () => v;
}

function scalarDefault(type: string, d: Default | undefined): unknown {
  if (d === null) return null;
  if (NUMERIC.has(type)) return typeof d === 'number' ? d : d === undefined ? 0 : Number(d);
  switch (type) {
    case 'bool': return d === true || d === 'true';
    case 'string': return d === undefined ? '' : String(d);
    case 'uuid': return ZERO_UUID;
    case 'bytes': return EMPTY_BYTES;
    case 'records': return null;
    default: throw new Error(`unknown type ${type}`);
  }
}

/** Whether a value equals the field's default (decides whether a tagged field is written). */
export function isDefaultFn(field: FieldDef): (v: unknown) => boolean {
  const t = field.type;
  const d = field.default;
  if (isArrayType(t)) {
    return d === null ? (v) => v === null : (v) => v !== null && (v as unknown[]).length === 0;
  }
  if (isStructType(t)) {
    const checks = (field.fields ?? []).map((c) => [propertyName(c.name), isDefaultFn(c)] as const);
    return (v) => {
      if (v === null || v === undefined) return true;
      const o = v as Record<string, unknown>;
      for (const [name, check] of checks) {
        const x = o[name];
        if (x !== undefined && !check(x)) return false;
      }
      return true;
    };
  }
  const def = scalarDefault(t, d);
  if (t === 'uuid') {
    return (v) => v === ZERO_UUID || (v instanceof Uint8Array && v.every((b) => b === 0));
  }
  if (t === 'bytes') return def === null ? (v) => v === null : (v) => v !== null && (v as Uint8Array).length === 0;
  if (t === 'records') return (v) => v === null;
  return (v) => v === def;
}

// ---------------------------------------------------------------------------------------------
// Sizes (bound array lengths by what the frame can hold)

function minSize(field: FieldDef, ctx: Ctx): number {
  const t = field.type;
  const flex = fieldFlexible(field, ctx);
  if (isArrayType(t)) return flex ? 1 : 4;
  if (isStructType(t)) return structMinSize(field.fields ?? [], ctx);
  const p = PRIMITIVE_SIZE[t];
  if (p !== undefined) return p;
  if (t === 'string') return flex ? 1 : 2;
  return flex ? 1 : 4;
}

function structMinSize(fields: readonly FieldDef[], ctx: Ctx): number {
  let n = ctx.flexible ? 1 : 0;
  for (const field of fields) {
    if (inRange(field.versions, ctx.version) && !isTagged(field, ctx)) n += minSize(field, ctx);
  }
  return n;
}

// ---------------------------------------------------------------------------------------------
// Decoding

function primitiveRead(type: string, flex: boolean, nullable: boolean): string {
  switch (type) {
    case 'int8': return 'r.int8()';
    case 'int16': return 'r.int16()';
    case 'uint16': return 'r.uint16()';
    case 'int32': return 'r.int32()';
    case 'int64': return 'r.int64()';
    case 'float64': return 'r.float64()';
    case 'bool': return 'r.bool()';
    case 'uuid': return 'r.uuid()';
    case 'string':
      return flex ? (nullable ? 'r.compactNullableString()' : 'r.compactString()') : nullable ? 'r.nullableString()' : 'r.string()';
    case 'bytes':
    case 'records':
      return flex ? (nullable ? 'r.compactNullableBytes()' : 'r.compactBytes()') : nullable ? 'r.nullableBytes()' : 'r.bytes()';
    default: throw new Error(`unknown type ${type}`);
  }
}

function readExpr(field: FieldDef, ctx: Ctx): string {
  const t = field.type;
  const flex = fieldFlexible(field, ctx);
  const nullable = inRange(field.nullable, ctx.version);
  if (isArrayType(t)) {
    const et = elementType(t);
    let elem: string;
    let elemMin: number;
    if (isStructType(et)) {
      elem = `${helper(ctx, compileStructDecoder(field.fields ?? [], ctx))}(r)`;
      elemMin = structMinSize(field.fields ?? [], ctx);
    } else {
      elem = primitiveRead(et, flex, false);
      elemMin = minSize({ name: '', type: et, versions: field.versions }, ctx);
    }
    const src = `return function(r) {
      const n = r.arrayLength(${flex}, ${nullable}, ${elemMin});
      if (n === -1) return null;
      const a = [];
      for (let i = 0; i < n; i++) a.push(${elem});
      return a;
    };`;
    return `${helper(ctx, new Function('H', src)(ctx.helpers))}(r)`;
  }
  if (isStructType(t)) {
    const dec = compileStructDecoder(field.fields ?? [], ctx);
    if (!nullable) return `${helper(ctx, dec)}(r)`;
    const src = `return function(r) { return r.int8() < 0 ? null : D(r); };`;
    return `${helper(ctx, new Function('D', src)(dec))}(r)`;
  }
  return primitiveRead(t, flex, nullable);
}

function defaultExpr(field: FieldDef, ctx: Ctx): string {
  const make = defaultFactory(field);
  const v = make();
  if (v === null || typeof v === 'number' || typeof v === 'boolean' || typeof v === 'string') return JSON.stringify(v);
  if (v === EMPTY_BYTES) return helper(ctx, EMPTY_BYTES);
  return `${helper(ctx, make)}()`;
}

function compileStructDecoder(fields: readonly FieldDef[], ctx: Ctx): DecodeFn {
  const props: string[] = [];
  const tagCases: string[] = [];
  for (const field of fields) {
    const key = JSON.stringify(propertyName(field.name));
    const present = inRange(field.versions, ctx.version);
    if (present && isTagged(field, ctx)) {
      props.push(`${key}: ${defaultExpr(field, ctx)}`);
      tagCases.push(`case ${field.tag}: o[${key}] = ${readExpr(field, ctx)}; break;`);
    } else if (present) {
      props.push(`${key}: ${readExpr(field, ctx)}`);
    } else {
      props.push(`${key}: ${defaultExpr(field, ctx)}`);
    }
  }
  let src = `return function(r) {\n  const o = {\n    ${props.join(',\n    ')}\n  };\n`;
  if (ctx.flexible) {
    src += `  const count = r.uvarint();
  for (let i = 0; i < count; i++) {
    const tag = r.uvarint();
    const size = r.uvarint();
    if (size > r.end - r.pos) throw r.fail('tagged field ' + tag + ' of ' + size + ' bytes is truncated');
    const end = r.pos + size;
    const outerEnd = r.end;
    r.end = end;
    switch (tag) {
      ${tagCases.join('\n      ')}
      default: r.pos = end;
    }
    r.end = outerEnd;
    if (r.pos !== end) throw r.fail('tagged field ' + tag + ' has ' + (end - r.pos) + ' unread bytes');
  }\n`;
  }
  src += '  return o;\n};';
  return new Function('H', src)(ctx.helpers) as DecodeFn;
}

// ---------------------------------------------------------------------------------------------
// Encoding

function primitiveWrite(type: string, flex: boolean, nullable: boolean, v: string): string {
  switch (type) {
    case 'int8': return `w.int8(${v})`;
    case 'int16': return `w.int16(${v})`;
    case 'uint16': return `w.uint16(${v})`;
    case 'int32': return `w.int32(${v})`;
    case 'int64': return `w.int64(${v})`;
    case 'float64': return `w.float64(${v})`;
    case 'bool': return `w.bool(${v})`;
    case 'uuid': return `w.uuid(${v})`;
    case 'string':
      return flex ? (nullable ? `w.compactNullableString(${v})` : `w.compactString(${v})`) : nullable ? `w.nullableString(${v})` : `w.string(${v})`;
    case 'bytes':
      return flex ? (nullable ? `w.compactNullableBytes(${v})` : `w.compactBytes(${v})`) : nullable ? `w.nullableBytes(${v})` : `w.bytes(${v})`;
    case 'records':
      return `w.records(${v}, ${flex})`;
    default: throw new Error(`unknown type ${type}`);
  }
}

function notNullable(where: string): ProtocolError {
  return new ProtocolError(ErrorCode.INVALID_REQUEST, `${where} is not nullable in this version`);
}

function writeStmt(field: FieldDef, ctx: Ctx, v: string, where: string): string {
  const t = field.type;
  const flex = fieldFlexible(field, ctx);
  const nullable = inRange(field.nullable, ctx.version);
  const guard = nullable || t === 'records' ? '' : `if (${v} === null) throw E.notNullable(${JSON.stringify(where)});\n    `;
  if (isArrayType(t)) {
    const et = elementType(t);
    let elem: string;
    if (isStructType(et)) elem = `${helper(ctx, compileStructEncoder(field.fields ?? [], ctx, where))}(w, a[i])`;
    else elem = primitiveWrite(et, flex, false, 'a[i]');
    const src = `return function(w, a) {
      if (a === null) { ${flex ? 'w.uvarint(0)' : 'w.int32(-1)'}; return; }
      ${flex ? 'w.uvarint(a.length + 1)' : 'w.int32(a.length)'};
      for (let i = 0; i < a.length; i++) ${elem};
    };`;
    return `${guard}${helper(ctx, new Function('H', src)(ctx.helpers))}(w, ${v})`;
  }
  if (isStructType(t)) {
    const enc = compileStructEncoder(field.fields ?? [], ctx, where);
    if (!nullable) return `${guard}${helper(ctx, enc)}(w, ${v})`;
    const src = `return function(w, v) { if (v === null) { w.int8(-1); } else { w.int8(1); S(w, v); } };`;
    return `${helper(ctx, new Function('S', src)(enc))}(w, ${v})`;
  }
  if (t === 'records' && !nullable) {
    return `if (${v} === null) throw E.notNullable(${JSON.stringify(where)});\n    ${primitiveWrite(t, flex, nullable, v)}`;
  }
  return `${guard}${primitiveWrite(t, flex, nullable, v)}`;
}

function writeTagged(w: Writer, encode: (w: Writer, v: unknown) => void, v: unknown): void {
  const sub = new Writer();
  encode(sub, v);
  const bytes = sub.finishToBuffer();
  w.uvarint(bytes.length);
  w.raw(bytes);
}

const ENV = {
  notNullable,
  writeTagged,
  absent(where: string, version: number): ProtocolError {
    return new ProtocolError(ErrorCode.UNSUPPORTED_VERSION, `${where} has a non-default value but does not exist in version ${version}`);
  },
};

function compileStructEncoder(fields: readonly FieldDef[], ctx: Ctx, where: string): EncodeFn {
  const lines: string[] = ['let v;'];
  const tagged: { field: FieldDef; key: string; idx: number }[] = [];
  for (const field of fields) {
    const key = JSON.stringify(propertyName(field.name));
    const path = `${where}.${propertyName(field.name)}`;
    const present = inRange(field.versions, ctx.version);
    if (!present) {
      if (ctx.strict && !field.ignorable) {
        lines.push(`v = o[${key}]; if (v !== undefined && !${helper(ctx, isDefaultFn(field))}(v)) throw E.absent(${JSON.stringify(path)}, ${ctx.version});`);
      }
      continue;
    }
    if (isTagged(field, ctx)) {
      tagged.push({ field, key, idx: tagged.length });
      continue;
    }
    lines.push(`v = o[${key}]; if (v === undefined) v = ${defaultExpr(field, ctx)};\n    ${writeStmt(field, ctx, 'v', path)};`);
  }
  if (ctx.flexible) {
    tagged.sort((a, b) => (a.field.tag ?? 0) - (b.field.tag ?? 0));
    lines.push('let tagCount = 0;');
    for (const t of tagged) {
      lines.push(`const t${t.idx} = o[${t.key}]; const has${t.idx} = t${t.idx} !== undefined && !${helper(ctx, isDefaultFn(t.field))}(t${t.idx}); if (has${t.idx}) tagCount++;`);
    }
    lines.push('w.uvarint(tagCount);');
    for (const t of tagged) {
      const path = `${where}.${propertyName(t.field.name)}`;
      const inner = new Function('H', 'E', `return function(w, v) {\n    ${writeStmt(t.field, ctx, 'v', path)};\n  };`)(ctx.helpers, ENV);
      lines.push(`if (has${t.idx}) { w.uvarint(${t.field.tag}); E.writeTagged(w, ${helper(ctx, inner)}, t${t.idx}); }`);
    }
  }
  const src = `return function(w, o) {\n  ${lines.join('\n  ')}\n};`;
  return new Function('H', 'E', src)(ctx.helpers, ENV) as EncodeFn;
}

// ---------------------------------------------------------------------------------------------
// Per-message cache

export interface CompiledMessage {
  readonly decode: DecodeFn;
  readonly encode: EncodeFn;
}

const cache = new Map<string, CompiledMessage>();

export function compileMessage(def: ApiDef, version: number, kind: 'request' | 'response'): CompiledMessage {
  const cacheKey = `${def.key}:${version}:${kind}`;
  let compiled = cache.get(cacheKey);
  if (compiled) return compiled;
  if (version < def.minVersion || version > def.maxVersion) {
    throw new ProtocolError(ErrorCode.UNSUPPORTED_VERSION, `${def.name} v${version} is outside ${def.minVersion}-${def.maxVersion}`);
  }
  const flexible = version >= def.flexible.min && version <= def.flexible.max;
  const fields = kind === 'request' ? def.request : def.response;
  const name = `${def.name}${kind === 'request' ? 'Request' : 'Response'}`;
  const decodeCtx: Ctx = { version, flexible, strict: false, helpers: [] };
  const encodeCtx: Ctx = { version, flexible, strict: kind === 'request', helpers: [] };
  compiled = {
    decode: compileStructDecoder(fields, decodeCtx),
    encode: compileStructEncoder(fields, encodeCtx, name),
  };
  cache.set(cacheKey, compiled);
  return compiled;
}
