// Tributary's own definition of the DescribeLogDirs API (key 35) in the schema DSL of ../dsl.ts.
// Sent to one broker, which answers for its own log directories: each partition replica it hosts with
// the replica's size on disk, so tools can watch a new replica fill up during a reassignment.
import { api, f } from '../dsl.ts';

export const describeLogDirs = api(35, 'DescribeLogDirs', '0-4', '2+', {
  request: [
    // null: every partition the broker hosts.
    f('Topics', '[]DescribableLogDirTopic', '0+', { nullable: '0+' }, [
      f('Topic', 'string', '0+'),
      f('Partitions', '[]int32', '0+'),
    ]),
  ],
  response: [
    f('ThrottleTimeMs', 'int32', '0+'),
    f('ErrorCode', 'int16', '3+', { ignorable: true }),
    f('Results', '[]DescribeLogDirsResult', '0+', {}, [
      f('ErrorCode', 'int16', '0+'),
      f('LogDir', 'string', '0+'),
      f('Topics', '[]DescribeLogDirsTopic', '0+', {}, [
        f('Name', 'string', '0+'),
        f('Partitions', '[]DescribeLogDirsPartition', '0+', {}, [
          f('PartitionIndex', 'int32', '0+'),
          f('PartitionSize', 'int64', '0+'),
          // A leader's own replica: 0. A follower: how far its log end is behind the leader's.
          f('OffsetLag', 'int64', '0+'),
          // True only for a replica being moved between log dirs of one broker, which we never do.
          f('IsFutureKey', 'bool', '0+'),
        ]),
      ]),
      // Volume sizes from v4; -1 when unknown.
      f('TotalBytes', 'int64', '4+', { ignorable: true, default: -1 }),
      f('UsableBytes', 'int64', '4+', { ignorable: true, default: -1 }),
    ]),
  ],
});
