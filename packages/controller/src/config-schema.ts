/**
 * ConfigSchema implementations for the controller: a permissive one (tests, tools) and one built from config
 * definitions shaped like @tributary/broker's `ConfigDef` (name, type, defaultValue, min, max, oneOf), so the server
 * can pass `configSchemaFromDefs({ topic: topicConfigDefs, broker: brokerConfigDefs }, parseConfigValue)` without
 * this package depending on the broker. The controller process (`main.ts --config-defs FILE`) loads the same shape
 * from JSON.
 */
import { ConfigResourceType, type ConfigResourceTypeCode, type ConfigSchema } from '@tributary/metadata';

export type ConfigKeyType = 'int' | 'long' | 'double' | 'boolean' | 'string' | 'list' | 'password' | 'class';

export interface ConfigKeyDef {
  readonly name: string;
  readonly type: ConfigKeyType;
  /** As text; null: no default. */
  readonly defaultValue: string | null;
  readonly min?: number;
  readonly max?: number;
  readonly oneOf?: readonly string[];
}

export interface ConfigDefs {
  readonly topic: readonly ConfigKeyDef[];
  /** Dynamic broker configs; absent: any broker key is accepted. */
  readonly broker?: readonly ConfigKeyDef[];
}

/** Checks one value; throws an Error whose message says why it is invalid. */
export type ConfigValueCheck = (def: ConfigKeyDef, raw: string) => unknown;

/** Accepts every key and value; nothing is a list; no defaults. */
export const permissiveConfigSchema: ConfigSchema = Object.freeze({
  validate: () => null,
  isList: () => false,
  defaultValue: () => null,
});

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

/** The broker's parsing rules (config-def.ts parseConfigValue), for when the caller passes no check of its own. */
export function checkConfigValue(def: ConfigKeyDef, raw: string): void {
  const text = raw.trim();
  const range = (value: number): void => {
    if (def.min !== undefined && value < def.min) throw new Error(`must be at least ${def.min}`);
    if (def.max !== undefined && value > def.max) throw new Error(`must be at most ${def.max}`);
  };
  switch (def.type) {
    case 'int':
    case 'long': {
      if (!/^[+-]?\d+$/.test(text)) throw new Error('expected an integer');
      const value = Number(text);
      if (!Number.isSafeInteger(value)) {
        if (def.type === 'long' && BigInt(text) >= BigInt(Number.MAX_SAFE_INTEGER)) return;
        throw new Error('integer out of range');
      }
      if (def.type === 'int' && (value < INT32_MIN || value > INT32_MAX)) throw new Error('out of the int32 range');
      range(value);
      return;
    }
    case 'double': {
      const value = Number(text);
      if (text === '' || !Number.isFinite(value)) throw new Error('expected a number');
      range(value);
      return;
    }
    case 'boolean':
      if (text.toLowerCase() !== 'true' && text.toLowerCase() !== 'false') throw new Error('expected true or false');
      return;
    case 'list': {
      const items = text === '' ? [] : text.split(',').map((s) => s.trim()).filter((s) => s !== '');
      if (def.oneOf) for (const item of items) if (!def.oneOf.includes(item)) throw new Error(`"${item}" is not one of ${def.oneOf.join(', ')}`);
      return;
    }
    case 'string':
    case 'password':
    case 'class':
      if (def.oneOf && !def.oneOf.includes(text)) throw new Error(`expected one of ${def.oneOf.join(', ')}`);
      return;
  }
}

/**
 * A schema from definitions: unknown keys → "Unknown topic config name: x" (Kafka's message), values checked by
 * `check` → "Invalid value v for configuration k: why". The controller answers both with INVALID_CONFIG.
 */
export function configSchemaFromDefs(defs: ConfigDefs, check: ConfigValueCheck = checkConfigValue): ConfigSchema {
  const topic = new Map(defs.topic.map((d) => [d.name, d]));
  const broker = defs.broker ? new Map(defs.broker.map((d) => [d.name, d])) : null;
  const table = (type: ConfigResourceTypeCode): ReadonlyMap<string, ConfigKeyDef> | null => (type === ConfigResourceType.TOPIC ? topic : broker);
  return Object.freeze({
    validate(resourceType: ConfigResourceTypeCode, _resourceName: string, configs: ReadonlyMap<string, string>): string | null {
      const known = table(resourceType);
      if (known === null) return null;
      for (const [key, value] of configs) {
        const def = known.get(key);
        if (def === undefined) return `Unknown ${resourceType === ConfigResourceType.TOPIC ? 'topic' : 'broker'} config name: ${key}`;
        try {
          check(def, value);
        } catch (err) {
          const why = err instanceof Error ? err.message : String(err);
          return `Invalid value ${value} for configuration ${key}: ${why}`;
        }
      }
      return null;
    },
    isList(resourceType: ConfigResourceTypeCode, key: string): boolean {
      return table(resourceType)?.get(key)?.type === 'list';
    },
    defaultValue(resourceType: ConfigResourceTypeCode, key: string): string | null {
      return table(resourceType)?.get(key)?.defaultValue ?? null;
    },
  });
}

const KEY_TYPES: ReadonlySet<string> = new Set(['int', 'long', 'double', 'boolean', 'string', 'list', 'password', 'class']);

/** Parses `{"topic": [defs], "broker": [defs]}` (main.ts --config-defs); throws naming what is wrong. */
export function parseConfigDefs(json: string): ConfigDefs {
  const parsed = JSON.parse(json) as unknown;
  const list = (value: unknown, what: string): ConfigKeyDef[] => {
    if (!Array.isArray(value)) throw new Error(`${what} must be an array of config definitions`);
    if (value.length > 10_000) throw new Error(`${what}: too many definitions`);
    return value.map((d: unknown, i) => {
      const o = d as Record<string, unknown>;
      if (typeof o !== 'object' || o === null || typeof o['name'] !== 'string' || typeof o['type'] !== 'string' || !KEY_TYPES.has(o['type'])) {
        throw new Error(`${what}[${i}] needs a name and a type (${[...KEY_TYPES].join(', ')})`);
      }
      const num = (k: string): number | undefined => (typeof o[k] === 'number' ? (o[k] as number) : undefined);
      return {
        name: o['name'],
        type: o['type'] as ConfigKeyType,
        defaultValue: typeof o['defaultValue'] === 'string' ? o['defaultValue'] : null,
        min: num('min'),
        max: num('max'),
        oneOf: Array.isArray(o['oneOf']) ? (o['oneOf'] as unknown[]).map(String) : undefined,
      };
    });
  };
  if (typeof parsed !== 'object' || parsed === null) throw new Error('config defs must be an object {"topic": [...], "broker": [...]}');
  const o = parsed as Record<string, unknown>;
  return { topic: list(o['topic'] ?? [], 'topic'), broker: o['broker'] === undefined ? undefined : list(o['broker'], 'broker') };
}
