export { Broker, NO_RESPONSE, type RequestContext, type BrokerOptions, type HandlerResult } from './broker.ts';
export { BrokerConfig, brokerConfigDefs, dynamicBrokerConfigDefs, parseListener, type Listener } from './config/broker-config.ts';
export { brokerConfigSchema, effectiveBrokerConfig } from './config/dynamic-broker-config.ts';
export { ConfigError, parseConfigValue, type ConfigDef } from './config/config-def.ts';
export { topicConfigDefs } from './config/topic-config.ts';
export { advertisedApis, isAdvertised } from './api-versions.ts';
export { unsupportedApiVersionsBody } from './handlers/api-versions.ts';
export { topicNameProblem } from './topic-name.ts';
export { ClusterMetadata } from './cluster-metadata.ts';
