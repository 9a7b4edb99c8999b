// Tributary's own definition of the AlterPartitionReassignments API (key 45) in the schema DSL of ../dsl.ts.
// A broker forwards it to the active controller: a replica list starts (or changes) a partition's reassignment,
// null replicas cancel the one in progress.
import { api, f } from '../dsl.ts';

export const alterPartitionReassignments = api(45, 'AlterPartitionReassignments', '0', '0+', {
  request: [
    f('TimeoutMs', 'int32', '0+', { default: 60000 }),
    f('Topics', '[]ReassignableTopic', '0+', {}, [
      f('Name', 'string', '0+'),
      f('Partitions', '[]ReassignablePartition', '0+', {}, [
        f('PartitionIndex', 'int32', '0+'),
        f('Replicas', '[]int32', '0+', { nullable: '0+', default: null }),
      ]),
    ]),
  ],
  response: [
    f('ThrottleTimeMs', 'int32', '0+'),
    f('ErrorCode', 'int16', '0+'),
    f('ErrorMessage', 'string', '0+', { nullable: '0+' }),
    f('Responses', '[]ReassignableTopicResponse', '0+', {}, [
      f('Name', 'string', '0+'),
      f('Partitions', '[]ReassignablePartitionResponse', '0+', {}, [
        f('PartitionIndex', 'int32', '0+'),
        f('ErrorCode', 'int16', '0+'),
        f('ErrorMessage', 'string', '0+', { nullable: '0+' }),
      ]),
    ]),
  ],
});
