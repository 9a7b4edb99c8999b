/** Argument parsing helpers shared by commands; they throw UsageError with a message naming the option. */
import { COMPRESSION_CODECS, type Compression } from '@tributary/client';
import { UsageError } from './context.ts';

/** `k=v` pairs (the value may contain `=`) into an object; a repeated key is an error. */
export function parseKeyValues(values: unknown, option: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of asStrings(values)) {
    const eq = raw.indexOf('=');
    if (eq <= 0) throw new UsageError(`--${option} expects key=value, got "${raw}"`);
    const key = raw.slice(0, eq);
    if (Object.hasOwn(out, key)) throw new UsageError(`--${option} ${key} given twice`);
    out[key] = raw.slice(eq + 1);
  }
  return out;
}

export function asStrings(values: unknown): string[] {
  if (values === undefined || values === null) return [];
  return (Array.isArray(values) ? values : [values]).map((v) => String(v));
}

/** An optional integer option within [min, max]; yargs turns non-numbers into NaN, caught here. */
export function intOption(value: unknown, option: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (value === undefined) return undefined;
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `in ${min}..${max}`;
    throw new UsageError(`--${option} must be an integer ${range}, got "${String(value)}"`);
  }
  return n;
}

export function compressionOption(value: unknown): Compression {
  const codec = String(value ?? 'none');
  if (!(COMPRESSION_CODECS as readonly string[]).includes(codec)) {
    throw new UsageError(`--compression must be one of ${COMPRESSION_CODECS.join(', ')}, got "${codec}"`);
  }
  return codec as Compression;
}

export function topicName(value: unknown): string {
  const name = String(value ?? '');
  if (name.length === 0) throw new UsageError('topic name must not be empty');
  if (name.length > 249 || !/^[a-zA-Z0-9._-]+$/.test(name)) {
    throw new UsageError(`invalid topic name "${name}": use up to 249 of a-z A-Z 0-9 . _ -`);
  }
  return name;
}
