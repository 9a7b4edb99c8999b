// Tributary's own definition of the ListOffsets API (key 2) in the schema DSL of ../dsl.ts.
import { api, f } from '../dsl.ts';

export const listOffsets = api(2, 'ListOffsets', '0-10', '6+', {
  request: [
    f('ReplicaId', 'int32', '0+'),
    f('IsolationLevel', 'int8', '2+'),
    f('Topics', '[]ListOffsetsTopic', '0+', {}, [
      f('Name', 'string', '0+'),
      f('Partitions', '[]ListOffsetsPartition', '0+', {}, [
        f('PartitionIndex', 'int32', '0+'),
        f('CurrentLeaderEpoch', 'int32', '4+', { default: -1, ignorable: true }),
        f('Timestamp', 'int64', '0+'),
        f('MaxNumOffsets', 'int32', '0', { default: 1 }),
      ]),
    ]),
    f('TimeoutMs', 'int32', '10+', { ignorable: true }),
  ],
  response: [
    f('ThrottleTimeMs', 'int32', '2+', { ignorable: true }),
    f('Topics', '[]ListOffsetsTopicResponse', '0+', {}, [
      f('Name', 'string', '0+'),
      f('Partitions', '[]ListOffsetsPartitionResponse', '0+', {}, [
        f('PartitionIndex', 'int32', '0+'),
        f('ErrorCode', 'int16', '0+'),
        f('OldStyleOffsets', '[]int64', '0'),
        f('Timestamp', 'int64', '1+', { default: -1 }),
        f('Offset', 'int64', '1+', { default: -1 }),
        f('LeaderEpoch', 'int32', '4+', { default: -1 }),
      ]),
    ]),
  ],
});
