// Tributary's own definition of the ElectLeaders API (key 43) in the schema DSL of ../dsl.ts.
// A broker forwards it to the active controller, which runs a preferred (0) or unclean (1) election
// for the named partitions (null: every partition).
import { api, f } from '../dsl.ts';

export const electLeaders = api(43, 'ElectLeaders', '0-2', '2+', {
  request: [
    // v0 has no election type: it always elects the preferred replica.
    f('ElectionType', 'int8', '1+'),
    f('TopicPartitions', '[]TopicPartitions', '0+', { nullable: '0+' }, [
      f('Topic', 'string', '0+'),
      f('Partitions', '[]int32', '0+'),
    ]),
    f('TimeoutMs', 'int32', '0+', { default: 60000 }),
  ],
  response: [
    f('ThrottleTimeMs', 'int32', '0+'),
    f('ErrorCode', 'int16', '1+'),
    f('ReplicaElectionResults', '[]ReplicaElectionResult', '0+', {}, [
      f('Topic', 'string', '0+'),
      f('PartitionResult', '[]PartitionResult', '0+', {}, [
        f('PartitionId', 'int32', '0+'),
        f('ErrorCode', 'int16', '0+'),
        f('ErrorMessage', 'string', '0+', { nullable: '0+' }),
      ]),
    ]),
  ],
});
