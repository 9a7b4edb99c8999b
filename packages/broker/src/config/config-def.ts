/**
 * Typed config definitions shared by broker-level and topic-level configs.
 * Values are parsed from strings (properties files, env, the wire) once, at the edge,
 * and every error names the key, the value and what is allowed.
 */
export type ConfigType = 'int' | 'long' | 'double' | 'boolean' | 'string' | 'list' | 'password';

export interface ConfigDef {
  readonly name: string;
  readonly type: ConfigType;
  /** The default as Kafka prints it (DescribeConfigs shows strings); null means "no default". */
  readonly defaultValue: string | null;
  readonly doc: string;
  readonly min?: number;
  readonly max?: number;
  readonly oneOf?: readonly string[];
  /** Accepted for compatibility with Kafka deployments but with no effect yet. */
  readonly inert?: boolean;
  readonly sensitive?: boolean;
  /**
   * Broker configs only: may be changed while brokers run (IncrementalAlterConfigs on a broker id or the cluster
   * default ""), and the broker applies the change when its metadata shows it. Every other key is read at start.
   */
  readonly dynamic?: boolean;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
  readonly key: string;
  constructor(key: string, message: string) {
    super(message);
    this.key = key;
  }
}

export type ConfigValue = number | boolean | string | string[] | null;

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

export function parseConfigValue(def: ConfigDef, raw: string): ConfigValue {
  const text = raw.trim();
  const fail = (why: string): never => {
    throw new ConfigError(def.name, `invalid value "${raw}" for config ${def.name}: ${why}`);
  };
  switch (def.type) {
    case 'int':
    case 'long': {
      if (!/^[+-]?\d+$/.test(text)) fail(`expected an integer`);
      const value = Number(text);
      if (!Number.isSafeInteger(value)) {
        // Kafka deployments write Long.MAX_VALUE for "never"; keep it as the largest safe integer.
        if (def.type === 'long' && BigInt(text) >= BigInt(Number.MAX_SAFE_INTEGER)) return Number.MAX_SAFE_INTEGER;
        fail('integer out of range');
      }
      if (def.type === 'int' && (value < INT32_MIN || value > INT32_MAX)) fail('out of the int32 range');
      checkRange(def, value, fail);
      return value;
    }
    case 'double': {
      const value = Number(text);
      if (text === '' || !Number.isFinite(value)) fail('expected a number');
      checkRange(def, value, fail);
      return value;
    }
    case 'boolean': {
      const lower = text.toLowerCase();
      if (lower !== 'true' && lower !== 'false') fail('expected true or false');
      return lower === 'true';
    }
    case 'list': {
      const items = text === '' ? [] : text.split(',').map((s) => s.trim()).filter((s) => s !== '');
      if (def.oneOf) for (const item of items) if (!def.oneOf.includes(item)) fail(`"${item}" is not one of ${def.oneOf.join(', ')}`);
      return items;
    }
    case 'string':
    case 'password': {
      if (def.oneOf && !def.oneOf.includes(text)) fail(`expected one of ${def.oneOf.join(', ')}`);
      return text;
    }
  }
}

function checkRange(def: ConfigDef, value: number, fail: (why: string) => never): void {
  if (def.min !== undefined && value < def.min) fail(`must be at least ${def.min}`);
  if (def.max !== undefined && value > def.max) fail(`must be at most ${def.max}`);
}

/** Renders a parsed value the way Kafka reports it in DescribeConfigs. */
export function formatConfigValue(value: ConfigValue): string | null {
  if (value === null) return null;
  if (Array.isArray(value)) return value.join(',');
  return String(value);
}
