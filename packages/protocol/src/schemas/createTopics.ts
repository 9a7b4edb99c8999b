// Tributary's own definition of the CreateTopics API (key 19) in the schema DSL of ../dsl.ts.
import { api, f } from '../dsl.ts';

export const createTopics = api(19, 'CreateTopics', '0-7', '5+', {
  request: [
    f('Topics', '[]CreatableTopic', '0+', {}, [
      f('Name', 'string', '0+'),
      f('NumPartitions', 'int32', '0+'),
      f('ReplicationFactor', 'int16', '0+'),
      f('Assignments', '[]CreatableReplicaAssignment', '0+', {}, [
        f('PartitionIndex', 'int32', '0+'),
        f('BrokerIds', '[]int32', '0+'),
      ]),
      f('Configs', '[]CreatableTopicConfig', '0+', {}, [
        f('Name', 'string', '0+'),
        f('Value', 'string', '0+', { nullable: '0+' }),
      ]),
    ]),
    f('timeoutMs', 'int32', '0+', { default: 60000 }),
    f('validateOnly', 'bool', '1+', { default: false }),
  ],
  response: [
    f('ThrottleTimeMs', 'int32', '2+', { ignorable: true }),
    f('Topics', '[]CreatableTopicResult', '0+', {}, [
      f('Name', 'string', '0+'),
      f('TopicId', 'uuid', '7+', { ignorable: true }),
      f('ErrorCode', 'int16', '0+'),
      f('ErrorMessage', 'string', '1+', { nullable: '0+', ignorable: true }),
      f('TopicConfigErrorCode', 'int16', '5+', { tag: 0, ignorable: true }),
      f('NumPartitions', 'int32', '5+', { default: -1, ignorable: true }),
      f('ReplicationFactor', 'int16', '5+', { default: -1, ignorable: true }),
      f('Configs', '[]CreatableTopicConfigs', '5+', { nullable: '5+', ignorable: true }, [
        f('Name', 'string', '5+'),
        f('Value', 'string', '5+', { nullable: '5+' }),
        f('ReadOnly', 'bool', '5+'),
        f('ConfigSource', 'int8', '5+', { default: -1, ignorable: true }),
        f('IsSensitive', 'bool', '5+'),
      ]),
    ]),
  ],
});
