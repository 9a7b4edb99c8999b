/**
 * Where broker config comes from, lowest precedence first: defaults, then `KAFKA_*` environment
 * variables (mapped as the apache/kafka image maps them), then the properties file, then
 * `--override key=value`. The result is validated as a whole by BrokerConfig.
 */
import { ConfigError } from '@tributary/broker';

/** Environment variables the apache/kafka image reads itself; they are not broker configs. */
const NON_CONFIG_ENV = new Set([
  'KAFKA_HEAP_OPTS', 'KAFKA_OPTS', 'KAFKA_JVM_PERFORMANCE_OPTS', 'KAFKA_GC_LOG_OPTS', 'KAFKA_LOG4J_OPTS',
  'KAFKA_JMX_OPTS', 'KAFKA_DEBUG', 'KAFKA_VERSION', 'KAFKA_HOME', 'KAFKA_LOG_DIR_OPTS',
]);

/** KAFKA_NODE_ID → node.id; `__` → `_`, `___` → `-` (the apache/kafka image's rules). */
export function envNameToKey(envName: string): string {
  return envName
    .slice('KAFKA_'.length)
    .toLowerCase()
    .replaceAll('___', '\u0001')
    .replaceAll('__', '\u0002')
    .replaceAll('_', '.')
    .replaceAll('\u0001', '-')
    .replaceAll('\u0002', '_');
}

/** node.id → KAFKA_NODE_ID: the inverse of envNameToKey, for messages that name the variable. */
export function keyToEnvName(key: string): string {
  return `KAFKA_${key.replaceAll('_', '__').replaceAll('-', '___').replaceAll('.', '_').toUpperCase()}`;
}

export function configFromEnv(env: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith('KAFKA_') || value === undefined || NON_CONFIG_ENV.has(name) || name.startsWith('KAFKA_JMX')) continue;
    out[envNameToKey(name)] = value;
  }
  return out;
}

/** Java properties subset: `key=value` or `key: value`, `#`/`!` comments, trailing `\` continuations. */
export function parseProperties(text: string, source: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!.trim();
    if (line === '' || line.startsWith('#') || line.startsWith('!')) continue;
    const startLine = i + 1;
    while (line.endsWith('\\') && i + 1 < lines.length) line = line.slice(0, -1) + lines[++i]!.trim();
    const match = /^([^=:\s]+)\s*[=:\s]\s*(.*)$/.exec(line);
    if (!match) throw new ConfigError(line, `${source}:${startLine}: cannot parse "${line}": expected key=value`);
    out[match[1]!] = match[2]!;
  }
  return out;
}

export function parseOverride(text: string): [string, string] {
  const eq = text.indexOf('=');
  if (eq <= 0) throw new ConfigError(text, `invalid --override "${text}": expected key=value`);
  return [text.slice(0, eq).trim(), text.slice(eq + 1)];
}
