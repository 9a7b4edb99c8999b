import { ErrorCode } from '@tributary/protocol';
import type { Broker, RequestContext } from '../broker.ts';
import { ConfigError } from '../config/config-def.ts';
import { topicConfigDefsByName, validateTopicConfigs, type TopicConfigOverrides } from '../config/topic-config.ts';
import { messageOf } from './common.ts';
import { ResourceType } from './describe-configs.ts';

const SET = 0;
const DELETE = 1;
const APPEND = 2;
const SUBTRACT = 3;

interface Outcome {
  errorCode: number;
  errorMessage: string | null;
  resourceType: number;
  resourceName: string;
}

/** AlterConfigs replaces a topic's whole set of overrides. */
export async function handleAlterConfigs(broker: Broker, _ctx: RequestContext, body: any): Promise<object> {
  const responses = [];
  for (const r of body.resources as any[]) {
    responses.push(
      await alterResource(broker, r, body.validateOnly === true, () => {
        const next: TopicConfigOverrides = {};
        for (const c of r.configs as { name: string; value: string | null }[]) if (c.value !== null) next[c.name] = c.value;
        return next;
      }),
    );
  }
  return { throttleTimeMs: 0, responses };
}

/** IncrementalAlterConfigs: SET, DELETE, APPEND and SUBTRACT per key. */
export async function handleIncrementalAlterConfigs(broker: Broker, _ctx: RequestContext, body: any): Promise<object> {
  const responses = [];
  for (const r of body.resources as any[]) {
    responses.push(
      await alterResource(broker, r, body.validateOnly === true, (current) => {
        const next: TopicConfigOverrides = { ...current };
        const seen = new Set<string>();
        for (const c of r.configs as { name: string; configOperation: number; value: string | null }[]) {
          if (seen.has(c.name)) throw new ConfigError(c.name, `config ${c.name} appears more than once`);
          seen.add(c.name);
          const def = topicConfigDefsByName.get(c.name);
          if (!def) throw new ConfigError(c.name, `unknown topic config ${c.name}`);
          switch (c.configOperation) {
            case SET:
              if (c.value === null) throw new ConfigError(c.name, `SET of ${c.name} needs a value`);
              next[c.name] = c.value;
              break;
            case DELETE:
              delete next[c.name];
              break;
            case APPEND:
            case SUBTRACT: {
              if (def.type !== 'list') throw new ConfigError(c.name, `${c.name} is not a list config; APPEND and SUBTRACT apply to lists only`);
              const base = (next[c.name] ?? def.defaultValue ?? '').split(',').map((s) => s.trim()).filter(Boolean);
              const items = (c.value ?? '').split(',').map((s) => s.trim()).filter(Boolean);
              const result = c.configOperation === APPEND ? [...base, ...items.filter((i) => !base.includes(i))] : base.filter((b) => !items.includes(b));
              next[c.name] = result.join(',');
              break;
            }
            default:
              throw new ConfigError(c.name, `unknown config operation ${c.configOperation} for ${c.name}`);
          }
        }
        return next;
      }),
    );
  }
  return { throttleTimeMs: 0, responses };
}

async function alterResource(broker: Broker, r: any, validateOnly: boolean, compute: (current: TopicConfigOverrides) => TopicConfigOverrides): Promise<Outcome> {
  const out: Outcome = { errorCode: ErrorCode.NONE, errorMessage: null, resourceType: r.resourceType, resourceName: r.resourceName };
  if (r.resourceType === ResourceType.BROKER || r.resourceType === ResourceType.BROKER_LOGGER) {
    out.errorCode = ErrorCode.INVALID_REQUEST;
    out.errorMessage = 'dynamic broker configs are not supported yet: set broker configs in server.properties and restart';
    return out;
  }
  if (r.resourceType !== ResourceType.TOPIC) {
    out.errorCode = ErrorCode.INVALID_REQUEST;
    out.errorMessage = `unsupported resource type ${r.resourceType}`;
    return out;
  }
  const topic = broker.registry.get(r.resourceName);
  if (!topic) {
    out.errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
    out.errorMessage = `topic ${r.resourceName} does not exist`;
    return out;
  }
  try {
    const next = compute(topic.configs);
    validateTopicConfigs(next);
    if (!validateOnly) await broker.replicas.updateTopicConfig(topic.name, next);
  } catch (err) {
    out.errorCode = err instanceof ConfigError ? ErrorCode.INVALID_CONFIG : ErrorCode.KAFKA_STORAGE_ERROR;
    out.errorMessage = messageOf(err);
  }
  return out;
}
