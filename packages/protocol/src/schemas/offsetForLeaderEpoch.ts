// Tributary's own definition of the OffsetForLeaderEpoch API (key 23) in the schema DSL of ../dsl.ts.
import { api, f } from '../dsl.ts';

export const offsetForLeaderEpoch = api(23, 'OffsetForLeaderEpoch', '0-4', '4+', {
  request: [
    f('ReplicaId', 'int32', '3+', { default: -2, ignorable: true }),
    f('Topics', '[]OffsetForLeaderTopic', '0+', {}, [
      f('Topic', 'string', '0+'),
      f('Partitions', '[]OffsetForLeaderPartition', '0+', {}, [
        f('Partition', 'int32', '0+'),
        f('CurrentLeaderEpoch', 'int32', '2+', { default: -1, ignorable: true }),
        f('LeaderEpoch', 'int32', '0+'),
      ]),
    ]),
  ],
  response: [
    f('ThrottleTimeMs', 'int32', '2+', { ignorable: true }),
    f('Topics', '[]OffsetForLeaderTopicResult', '0+', {}, [
      f('Topic', 'string', '0+'),
      f('Partitions', '[]EpochEndOffset', '0+', {}, [
        f('ErrorCode', 'int16', '0+'),
        f('Partition', 'int32', '0+'),
        f('LeaderEpoch', 'int32', '1+', { default: -1, ignorable: true }),
        f('EndOffset', 'int64', '0+', { default: -1 }),
      ]),
    ]),
  ],
});
