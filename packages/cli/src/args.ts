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

export function groupId(value: unknown): string {
  const id = String(value ?? '');
  if (id.length === 0) throw new UsageError('group id must not be empty');
  if (id.length > 255) throw new UsageError(`group id is too long (${id.length} characters, at most 255)`);
  return id;
}

/** `--topic T` (every partition) or `--topic T:0,2,5` (those partitions). */
export interface TopicPartitionsArg {
  topic: string;
  partitions: number[] | null;
}

export function topicPartitions(values: unknown, option: string): TopicPartitionsArg[] {
  const out = new Map<string, TopicPartitionsArg>();
  for (const raw of asStrings(values)) {
    const colon = raw.indexOf(':');
    const topic = topicName(colon < 0 ? raw : raw.slice(0, colon));
    let partitions: number[] | null = null;
    if (colon >= 0) {
      const list = raw.slice(colon + 1);
      partitions = list.split(',').map((p) => {
        const n = /^\d+$/.test(p.trim()) ? Number(p.trim()) : NaN;
        if (!Number.isSafeInteger(n) || n > 2_147_483_647) throw new UsageError(`--${option} ${raw}: partitions must be a comma-separated list of integers >= 0, got "${p}"`);
        return n;
      });
    }
    const seen = out.get(topic);
    if (seen !== undefined) {
      // `--topic t:0 --topic t:1` adds up; a bare `--topic t` means every partition.
      seen.partitions = seen.partitions === null || partitions === null ? null : [...new Set([...seen.partitions, ...partitions])];
    } else {
      out.set(topic, { topic, partitions: partitions === null ? null : [...new Set(partitions)] });
    }
  }
  for (const t of out.values()) t.partitions?.sort((a, b) => a - b);
  return [...out.values()];
}

/** Group states as the coordinator names them; `--state` matches case-insensitively. */
export const GROUP_STATES = ['PreparingRebalance', 'CompletingRebalance', 'Stable', 'Empty', 'Dead'] as const;

export function groupStates(values: unknown): string[] {
  const out: string[] = [];
  for (const raw of asStrings(values).flatMap((v) => v.split(','))) {
    const s = raw.trim();
    const state = GROUP_STATES.find((x) => x.toLowerCase() === s.toLowerCase());
    if (state === undefined) throw new UsageError(`--state must be one of ${GROUP_STATES.join(', ')}, got "${s}"`);
    if (!out.includes(state)) out.push(state);
  }
  return out;
}

/** An ISO 8601 date-time (`2024-05-01T12:00:00Z`, `2024-05-01T12:00:00.000+02:00`; no zone means local time) in ms. */
export function dateTime(value: unknown, option: string): number {
  const s = String(value ?? '');
  const ms = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(s) ? Date.parse(s.length === 10 ? `${s}T00:00:00` : s) : NaN;
  if (!Number.isFinite(ms)) throw new UsageError(`--${option} expects an ISO 8601 date-time such as 2024-05-01T12:00:00Z, got "${s}"`);
  return ms;
}
