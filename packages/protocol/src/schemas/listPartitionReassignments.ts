// Tributary's own definition of the ListPartitionReassignments API (key 46) in the schema DSL of ../dsl.ts.
// A broker forwards it to the active controller, which lists the reassignments in progress among the named
// partitions (null topics: all of them).
import { api, f } from '../dsl.ts';

export const listPartitionReassignments = api(46, 'ListPartitionReassignments', '0', '0+', {
  request: [
    f('TimeoutMs', 'int32', '0+', { default: 60000 }),
    f('Topics', '[]ListPartitionReassignmentsTopics', '0+', { nullable: '0+', default: null }, [
      f('Name', 'string', '0+'),
      f('PartitionIndexes', '[]int32', '0+'),
    ]),
  ],
  response: [
    f('ThrottleTimeMs', 'int32', '0+'),
    f('ErrorCode', 'int16', '0+'),
    f('ErrorMessage', 'string', '0+', { nullable: '0+' }),
    f('Topics', '[]OngoingTopicReassignment', '0+', {}, [
      f('Name', 'string', '0+'),
      f('Partitions', '[]OngoingPartitionReassignment', '0+', {}, [
        f('PartitionIndex', 'int32', '0+'),
        f('Replicas', '[]int32', '0+'),
        f('AddingReplicas', '[]int32', '0+'),
        f('RemovingReplicas', '[]int32', '0+'),
      ]),
    ]),
  ],
});
