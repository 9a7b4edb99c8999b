// The schema DSL. One file per API in ./schemas declares every field of the request and response for
// all versions; the codec (./codec.ts) compiles a (api, version, direction) to specialised functions.
//
//   api(key, name, validVersions, flexibleVersions, { request: [...], response: [...] })
//   f(Name, type, versions, options?, childFields?)
//
// Version ranges are strings: 'N+' (N and later), 'A-B' (inclusive), 'N' (only N), 'none'.
// Types: int8 int16 int32 int64 uint16 float64 bool uuid string bytes records, '[]T' for arrays of a
// primitive or of a struct, and a capitalised struct name for a struct (children then describe it).
// Options:
//   nullable  versions in which the value may be null (strings, bytes, records, arrays, structs)
//   default   value a reader sees when the field is absent in a version (and what a tagged field is
//             compared with to decide whether to write it); otherwise the type's zero value
//   tag       tagged-field number: the field travels in the tagged section in flexible versions
//   tagged    versions in which it is tagged, when they differ from `versions`
//   ignorable an encoder may drop a non-default value in a version that lacks the field
//   flexible  overrides the message's flexible versions for this field (request header ClientId)

export type Default = string | number | boolean | null;

export interface FieldOptions {
  readonly nullable?: string;
  readonly default?: Default;
  readonly tag?: number;
  readonly tagged?: string;
  readonly ignorable?: boolean;
  readonly flexible?: string;
}

export interface FieldDef extends FieldOptions {
  readonly name: string;
  readonly type: string;
  readonly versions: string;
  readonly fields?: readonly FieldDef[];
}

export interface ApiDef {
  readonly key: number;
  readonly name: string;
  readonly minVersion: number;
  readonly maxVersion: number;
  readonly flexible: VersionRange;
  readonly request: readonly FieldDef[];
  readonly response: readonly FieldDef[];
}

export interface VersionRange {
  readonly min: number;
  readonly max: number;
}

const MAX_VERSION = 0x7fff;
const rangeCache = new Map<string, VersionRange>();

export function parseRange(text: string): VersionRange {
  const cached = rangeCache.get(text);
  if (cached) return cached;
  let range: VersionRange;
  const t = text.trim();
  if (t === 'none') range = { min: 1, max: 0 };
  else if (t.endsWith('+')) range = { min: toVersion(t.slice(0, -1), text), max: MAX_VERSION };
  else if (t.includes('-')) {
    const [a, b] = t.split('-');
    range = { min: toVersion(a ?? '', text), max: toVersion(b ?? '', text) };
  } else {
    const v = toVersion(t, text);
    range = { min: v, max: v };
  }
  rangeCache.set(text, range);
  return range;
}

function toVersion(s: string, whole: string): number {
  const v = Number(s);
  if (!Number.isInteger(v) || v < 0 || v > MAX_VERSION) throw new Error(`bad version range '${whole}'`);
  return v;
}

export function inRange(text: string | undefined, version: number): boolean {
  if (text === undefined) return false;
  const r = parseRange(text);
  return version >= r.min && version <= r.max;
}

export function f(name: string, type: string, versions: string, options: FieldOptions = {}, fields?: readonly FieldDef[]): FieldDef {
  const isStruct = /^(\[\])?[A-Z]/.test(type);
  if (isStruct !== (fields !== undefined)) throw new Error(`field ${name}: struct types need child fields`);
  parseRange(versions);
  if (options.nullable !== undefined) parseRange(options.nullable);
  return fields === undefined ? { name, type, versions, ...options } : { name, type, versions, ...options, fields };
}

export function api(
  key: number,
  name: string,
  validVersions: string,
  flexibleVersions: string,
  messages: { request: readonly FieldDef[]; response: readonly FieldDef[] },
): ApiDef {
  const valid = parseRange(validVersions);
  checkStruct(`${name}Request`, messages.request);
  checkStruct(`${name}Response`, messages.response);
  return {
    key,
    name,
    minVersion: valid.min,
    maxVersion: valid.max,
    flexible: parseRange(flexibleVersions),
    request: messages.request,
    response: messages.response,
  };
}

function checkStruct(where: string, fields: readonly FieldDef[]): void {
  const names = new Set<string>();
  const tags = new Set<number>();
  for (const field of fields) {
    if (names.has(field.name)) throw new Error(`${where}: duplicate field ${field.name}`);
    names.add(field.name);
    if (field.tag !== undefined) {
      if (tags.has(field.tag)) throw new Error(`${where}: duplicate tag ${field.tag}`);
      tags.add(field.tag);
    }
    if (field.fields) checkStruct(`${where}.${field.name}`, field.fields);
  }
}

/** `TopicName` → `topicName`: the property name a message body uses for a schema field. */
export function propertyName(schemaName: string): string {
  return schemaName.charAt(0).toLowerCase() + schemaName.slice(1);
}
