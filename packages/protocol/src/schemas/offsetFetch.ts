// Tributary's own definition of the OffsetFetch API (key 9) in the schema DSL of ../dsl.ts.
import { api, f } from '../dsl.ts';

export const offsetFetch = api(9, 'OffsetFetch', '0-9', '6+', {
  request: [
    f('GroupId', 'string', '0-7'),
    f('Topics', '[]OffsetFetchRequestTopic', '0-7', { nullable: '2-7' }, [
      f('Name', 'string', '0-7'),
      f('PartitionIndexes', '[]int32', '0-7'),
    ]),
    f('Groups', '[]OffsetFetchRequestGroup', '8+', {}, [
      f('GroupId', 'string', '8+'),
      f('MemberId', 'string', '9+', { nullable: '9+', default: null, ignorable: true }),
      f('MemberEpoch', 'int32', '9+', { default: -1, ignorable: true }),
      f('Topics', '[]OffsetFetchRequestTopics', '8+', { nullable: '8+' }, [
        f('Name', 'string', '8+'),
        f('PartitionIndexes', '[]int32', '8+'),
      ]),
    ]),
    f('RequireStable', 'bool', '7+', { default: false }),
  ],
  response: [
    f('ThrottleTimeMs', 'int32', '3+', { ignorable: true }),
    f('Topics', '[]OffsetFetchResponseTopic', '0-7', {}, [
      f('Name', 'string', '0-7'),
      f('Partitions', '[]OffsetFetchResponsePartition', '0-7', {}, [
        f('PartitionIndex', 'int32', '0-7'),
        f('CommittedOffset', 'int64', '0-7'),
        f('CommittedLeaderEpoch', 'int32', '5-7', { default: -1, ignorable: true }),
        f('Metadata', 'string', '0-7', { nullable: '0-7' }),
        f('ErrorCode', 'int16', '0-7'),
      ]),
    ]),
    f('ErrorCode', 'int16', '2-7', { default: 0, ignorable: true }),
    f('Groups', '[]OffsetFetchResponseGroup', '8+', {}, [
      f('GroupId', 'string', '8+'),
      f('Topics', '[]OffsetFetchResponseTopics', '8+', {}, [
        f('Name', 'string', '8+'),
        f('Partitions', '[]OffsetFetchResponsePartitions', '8+', {}, [
          f('PartitionIndex', 'int32', '8+'),
          f('CommittedOffset', 'int64', '8+'),
          f('CommittedLeaderEpoch', 'int32', '8+', { default: -1, ignorable: true }),
          f('Metadata', 'string', '8+', { nullable: '8+' }),
          f('ErrorCode', 'int16', '8+'),
        ]),
      ]),
      f('ErrorCode', 'int16', '8+', { default: 0 }),
    ]),
  ],
});
