// Tributary's own definition of the OffsetCommit API (key 8) in the schema DSL of ../dsl.ts.
import { api, f } from '../dsl.ts';

export const offsetCommit = api(8, 'OffsetCommit', '0-9', '8+', {
  request: [
    f('GroupId', 'string', '0+'),
    f('GenerationIdOrMemberEpoch', 'int32', '1+', { default: -1, ignorable: true }),
    f('MemberId', 'string', '1+', { ignorable: true }),
    f('GroupInstanceId', 'string', '7+', { nullable: '7+', default: null }),
    f('RetentionTimeMs', 'int64', '2-4', { default: -1, ignorable: true }),
    f('Topics', '[]OffsetCommitRequestTopic', '0+', {}, [
      f('Name', 'string', '0+'),
      f('Partitions', '[]OffsetCommitRequestPartition', '0+', {}, [
        f('PartitionIndex', 'int32', '0+'),
        f('CommittedOffset', 'int64', '0+'),
        f('CommittedLeaderEpoch', 'int32', '6+', { default: -1, ignorable: true }),
        f('CommitTimestamp', 'int64', '1', { default: -1 }),
        f('CommittedMetadata', 'string', '0+', { nullable: '0+' }),
      ]),
    ]),
  ],
  response: [
    f('ThrottleTimeMs', 'int32', '3+', { ignorable: true }),
    f('Topics', '[]OffsetCommitResponseTopic', '0+', {}, [
      f('Name', 'string', '0+'),
      f('Partitions', '[]OffsetCommitResponsePartition', '0+', {}, [
        f('PartitionIndex', 'int32', '0+'),
        f('ErrorCode', 'int16', '0+'),
      ]),
    ]),
  ],
});
