import { ErrorCode } from '@tributary/protocol';
import type { Broker, RequestContext } from '../broker.ts';
import { brokerConfigDefs } from '../config/broker-config.ts';
import { formatConfigValue } from '../config/config-def.ts';
import { clusterDefaultBrokerConfigs, effectiveBrokerConfig, type BrokerConfigSource } from '../config/dynamic-broker-config.ts';
import { topicConfigDefsByName } from '../config/topic-config.ts';
import { ConfigSource, ConfigTypeCode, sourceCode, topicConfigViews } from './config-views.ts';

export const ResourceType = { TOPIC: 2, BROKER: 4, BROKER_LOGGER: 8 } as const;

const BROKER_SOURCE: Record<BrokerConfigSource, number> = {
  'dynamic-broker': ConfigSource.DYNAMIC_BROKER_CONFIG,
  'dynamic-default': ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG,
  'static-broker': ConfigSource.STATIC_BROKER_CONFIG,
  default: ConfigSource.DEFAULT_CONFIG,
};

export async function handleDescribeConfigs(broker: Broker, ctx: RequestContext, body: any): Promise<object> {
  const version = ctx.header.apiVersion;
  const includeSynonyms = version >= 1 && body.includeSynonyms === true;
  const includeDocumentation = version >= 3 && body.includeDocumentation === true;
  const results = [];
  for (const r of body.resources as any[]) {
    const keys: string[] | null = r.configurationKeys ?? null;
    const wanted = (name: string): boolean => keys === null || keys.includes(name);
    const out = { errorCode: ErrorCode.NONE as number, errorMessage: null as string | null, resourceType: r.resourceType, resourceName: r.resourceName, configs: [] as object[] };
    results.push(out);
    if (r.resourceType === ResourceType.TOPIC) {
      const topic = broker.metadata.image.topic(r.resourceName) ? { configs: broker.metadata.topicConfigs(r.resourceName) } : undefined;
      if (!topic) {
        out.errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
        out.errorMessage = `topic ${r.resourceName} does not exist`;
        continue;
      }
      for (const v of topicConfigViews(broker, topic.configs)) {
        if (!wanted(v.name)) continue;
        const def = topicConfigDefsByName.get(v.name)!;
        const synonyms: object[] = [];
        if (includeSynonyms) {
          if (topic.configs[v.name] !== undefined) synonyms.push({ name: v.name, value: topic.configs[v.name], source: ConfigSource.TOPIC_CONFIG });
          const brokerValue = def.brokerKey ? broker.config.explicitValue(def.brokerKey) : null;
          if (def.brokerKey && brokerValue !== null) synonyms.push({ name: def.brokerKey, value: brokerValue, source: ConfigSource.STATIC_BROKER_CONFIG });
          if (def.brokerKey) synonyms.push({ name: def.brokerKey, value: def.defaultValue, source: ConfigSource.DEFAULT_CONFIG });
        }
        out.configs.push({
          name: v.name,
          value: v.value,
          readOnly: false,
          isDefault: v.isDefault,
          configSource: sourceCode(v),
          isSensitive: false,
          synonyms,
          configType: ConfigTypeCode[def.type] ?? 0,
          documentation: includeDocumentation ? def.doc : null,
        });
      }
    } else if (r.resourceType === ResourceType.BROKER) {
      if (r.resourceName === '') {
        // The cluster default resource holds only what was set for every broker (as Kafka answers it).
        for (const { def, raw } of clusterDefaultBrokerConfigs(broker.metadata.image)) {
          if (!wanted(def.name)) continue;
          const value = def.sensitive ? null : raw;
          out.configs.push({
            name: def.name,
            value,
            readOnly: false,
            isDefault: false,
            configSource: ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG,
            isSensitive: def.sensitive === true,
            synonyms: includeSynonyms ? [{ name: def.name, value, source: ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG }] : [],
            configType: ConfigTypeCode[def.type] ?? 0,
            documentation: includeDocumentation ? def.doc : null,
          });
        }
        continue;
      }
      if (r.resourceName !== String(broker.nodeId)) {
        out.errorCode = ErrorCode.INVALID_REQUEST;
        out.errorMessage = `broker ${r.resourceName} is not this broker (${broker.nodeId}): send DescribeConfigs for a broker to that broker`;
        continue;
      }
      for (const def of brokerConfigDefs) {
        if (!wanted(def.name)) continue;
        const effective = effectiveBrokerConfig(broker.metadata.image, broker.nodeId, broker.config, def);
        const value = def.sensitive ? null : formatConfigValue(effective.value);
        const source = BROKER_SOURCE[effective.source];
        out.configs.push({
          name: def.name,
          value,
          readOnly: def.dynamic !== true,
          isDefault: effective.source === 'default',
          configSource: source,
          isSensitive: def.sensitive === true,
          synonyms: includeSynonyms ? effective.levels.map((l) => ({ name: def.name, value: def.sensitive ? null : l.raw, source: BROKER_SOURCE[l.source] })) : [],
          configType: ConfigTypeCode[def.type] ?? 0,
          documentation: includeDocumentation ? def.doc : null,
        });
      }
    } else if (r.resourceType === ResourceType.BROKER_LOGGER) {
      out.errorCode = ErrorCode.INVALID_REQUEST;
      out.errorMessage = 'broker logger configs are not supported';
    } else {
      out.errorCode = ErrorCode.INVALID_REQUEST;
      out.errorMessage = `unsupported resource type ${r.resourceType}`;
    }
  }
  return { throttleTimeMs: 0, results };
}
