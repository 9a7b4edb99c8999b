import { describeTopicConfigs, topicConfigDefsByName, type ConfigEntryView, type TopicConfigOverrides } from '../config/topic-config.ts';
import type { Broker } from '../broker.ts';

/** DescribeConfigs' ConfigSource numbers. */
export const ConfigSource = {
  UNKNOWN: 0,
  TOPIC_CONFIG: 1,
  DYNAMIC_BROKER_CONFIG: 2,
  DYNAMIC_DEFAULT_BROKER_CONFIG: 3,
  STATIC_BROKER_CONFIG: 4,
  DEFAULT_CONFIG: 5,
} as const;

/** DescribeConfigs' ConfigType numbers. */
export const ConfigTypeCode: Record<string, number> = { boolean: 1, string: 2, int: 3, long: 5, double: 6, list: 7, password: 9 };

export function sourceCode(view: ConfigEntryView): number {
  switch (view.source) {
    case 'topic':
      return ConfigSource.TOPIC_CONFIG;
    case 'static-broker':
      return ConfigSource.STATIC_BROKER_CONFIG;
    case 'dynamic-broker':
      return ConfigSource.DYNAMIC_BROKER_CONFIG;
    case 'default':
      return ConfigSource.DEFAULT_CONFIG;
  }
}

export function topicConfigViews(broker: Broker, overrides: TopicConfigOverrides): ConfigEntryView[] {
  return describeTopicConfigs(overrides, broker.config);
}

export function brokerKeyFor(topicConfig: string): string | null {
  return topicConfigDefsByName.get(topicConfig)?.brokerKey ?? null;
}
