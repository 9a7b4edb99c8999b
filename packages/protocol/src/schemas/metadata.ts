// Tributary's own definition of the Metadata API (key 3) in the schema DSL of ../dsl.ts.
import { api, f } from '../dsl.ts';

export const metadata = api(3, 'Metadata', '0-12', '9+', {
  request: [
    f('Topics', '[]MetadataRequestTopic', '0+', { nullable: '1+' }, [
      f('TopicId', 'uuid', '10+', { ignorable: true }),
      f('Name', 'string', '0+', { nullable: '10+' }),
    ]),
    f('AllowAutoTopicCreation', 'bool', '4+', { default: true }),
    f('IncludeClusterAuthorizedOperations', 'bool', '8-10'),
    f('IncludeTopicAuthorizedOperations', 'bool', '8+'),
  ],
  response: [
    f('ThrottleTimeMs', 'int32', '3+', { ignorable: true }),
    f('Brokers', '[]MetadataResponseBroker', '0+', {}, [
      f('NodeId', 'int32', '0+'),
      f('Host', 'string', '0+'),
      f('Port', 'int32', '0+'),
      f('Rack', 'string', '1+', { nullable: '1+', default: null, ignorable: true }),
    ]),
    f('ClusterId', 'string', '2+', { nullable: '2+', default: null, ignorable: true }),
    f('ControllerId', 'int32', '1+', { default: -1, ignorable: true }),
    f('Topics', '[]MetadataResponseTopic', '0+', {}, [
      f('ErrorCode', 'int16', '0+'),
      f('Name', 'string', '0+', { nullable: '12+' }),
      f('TopicId', 'uuid', '10+', { ignorable: true }),
      f('IsInternal', 'bool', '1+', { default: false, ignorable: true }),
      f('Partitions', '[]MetadataResponsePartition', '0+', {}, [
        f('ErrorCode', 'int16', '0+'),
        f('PartitionIndex', 'int32', '0+'),
        f('LeaderId', 'int32', '0+'),
        f('LeaderEpoch', 'int32', '7+', { default: -1, ignorable: true }),
        f('ReplicaNodes', '[]int32', '0+'),
        f('IsrNodes', '[]int32', '0+'),
        f('OfflineReplicas', '[]int32', '5+', { ignorable: true }),
      ]),
      f('TopicAuthorizedOperations', 'int32', '8+', { default: -2147483648 }),
    ]),
    f('ClusterAuthorizedOperations', 'int32', '8-10', { default: -2147483648 }),
  ],
});
