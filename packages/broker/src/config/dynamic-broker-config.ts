/**
 * Dynamic broker configs: values the metadata carries for a broker id (`"4"`) or for every broker (`""`, the
 * cluster default), layered over the static server.properties value and the default, as in Kafka:
 * per-broker dynamic > cluster-default dynamic > static > default. Only keys marked `dynamic` may be set this way
 * (the controller's schema below refuses the others), and the broker applies them when its image shows them.
 */
import { configSchemaFromDefs } from '@tributary/controller';
import { ConfigResourceType, type ConfigResourceTypeCode, type ConfigSchema, type MetadataImage } from '@tributary/metadata';
import { brokerConfigDefsByName, dynamicBrokerConfigDefs, type BrokerConfig } from './broker-config.ts';
import { parseConfigValue, type ConfigDef, type ConfigValue } from './config-def.ts';
import { topicConfigDefs } from './topic-config.ts';

export type BrokerConfigSource = 'dynamic-broker' | 'dynamic-default' | 'static-broker' | 'default';

export interface BrokerConfigLevel {
  readonly source: BrokerConfigSource;
  /** As written (metadata, server.properties) or the default; null: no default. */
  readonly raw: string | null;
}

export interface EffectiveBrokerConfig {
  readonly value: ConfigValue;
  readonly source: BrokerConfigSource;
  /** Every level that has a value, highest precedence first (DescribeConfigs' synonyms). */
  readonly levels: readonly BrokerConfigLevel[];
}

/**
 * A key's value on broker `nodeId`. A dynamic value the metadata holds but this broker cannot parse (written by a
 * controller with other rules) is skipped, so the next level applies rather than a wrong value.
 */
export function effectiveBrokerConfig(image: MetadataImage, nodeId: number, config: BrokerConfig, def: ConfigDef): EffectiveBrokerConfig {
  const levels: BrokerConfigLevel[] = [];
  let chosen: { value: ConfigValue; source: BrokerConfigSource } | null = null;
  if (def.dynamic === true) {
    for (const [name, source] of [[String(nodeId), 'dynamic-broker'], ['', 'dynamic-default']] as const) {
      const raw = image.configs(ConfigResourceType.BROKER, name).get(def.name);
      if (raw === undefined) continue;
      let value: ConfigValue;
      try {
        value = parseConfigValue(def, raw);
      } catch {
        continue;
      }
      levels.push({ source, raw });
      chosen ??= { value, source };
    }
  }
  const explicit = config.isExplicit(def.name);
  if (explicit) {
    levels.push({ source: 'static-broker', raw: config.explicitEntries().find(([k]) => k === def.name)?.[1] ?? null });
    chosen ??= { value: config.get(def.name), source: 'static-broker' };
  }
  levels.push({ source: 'default', raw: def.defaultValue });
  chosen ??= { value: config.get(def.name), source: 'default' };
  return { ...chosen, levels };
}

/** The dynamic keys set for every broker (`""`), in the order the metadata holds them. */
export function clusterDefaultBrokerConfigs(image: MetadataImage): { def: ConfigDef; raw: string }[] {
  const out: { def: ConfigDef; raw: string }[] = [];
  for (const [name, raw] of image.configs(ConfigResourceType.BROKER, '')) {
    const def = brokerConfigDefsByName.get(name);
    if (def !== undefined) out.push({ def, raw });
  }
  return out;
}

/**
 * What the controller validates config changes with: topic configs by the topic definitions, broker configs
 * (a broker id or "") by the dynamic broker definitions; a static broker key is refused saying so.
 */
export function brokerConfigSchema(): ConfigSchema {
  const base = configSchemaFromDefs({ topic: topicConfigDefs, broker: dynamicBrokerConfigDefs }, (def, value) => {
    parseConfigValue(def as ConfigDef, value);
  });
  const dynamicNames = dynamicBrokerConfigDefs.map((d) => d.name).join(', ');
  return Object.freeze({
    validate(resourceType: ConfigResourceTypeCode, resourceName: string, configs: ReadonlyMap<string, string>): string | null {
      if (resourceType === ConfigResourceType.BROKER) {
        for (const key of configs.keys()) {
          const def = brokerConfigDefsByName.get(key);
          if (def !== undefined && def.dynamic !== true) {
            return `Broker config ${key} cannot be changed while brokers run: set it in server.properties and restart (dynamic broker configs: ${dynamicNames})`;
          }
        }
      }
      return base.validate(resourceType, resourceName, configs);
    },
    isList: (resourceType: ConfigResourceTypeCode, key: string) => base.isList(resourceType, key),
    defaultValue: (resourceType: ConfigResourceTypeCode, key: string) => base.defaultValue(resourceType, key),
  });
}
