// Tributary's own definition of the DescribeQuorum API (key 55) in the schema DSL of ../dsl.ts.
// Asked of a broker (which forwards to the active controller) or of a controller, about the metadata
// log's Raft quorum: leader, epoch, high watermark and each voter's and observer's progress.
import { api, f, type FieldDef } from '../dsl.ts';

// Voters and observers share one struct (Kafka's common struct ReplicaState).
const replicaState: readonly FieldDef[] = [
  f('ReplicaId', 'int32', '0+'),
  f('ReplicaDirectoryId', 'uuid', '2+'),
  f('LogEndOffset', 'int64', '0+'),
  f('LastFetchTimestamp', 'int64', '1+', { default: -1, ignorable: true }),
  f('LastCaughtUpTimestamp', 'int64', '1+', { default: -1, ignorable: true }),
];

export const describeQuorum = api(55, 'DescribeQuorum', '0-2', '0+', {
  request: [
    f('Topics', '[]TopicData', '0+', {}, [
      f('TopicName', 'string', '0+'),
      f('Partitions', '[]PartitionData', '0+', {}, [f('PartitionIndex', 'int32', '0+')]),
    ]),
  ],
  response: [
    f('ErrorCode', 'int16', '0+'),
    f('ErrorMessage', 'string', '2+', { nullable: '2+', default: null, ignorable: true }),
    f('Topics', '[]TopicData', '0+', {}, [
      f('TopicName', 'string', '0+'),
      f('Partitions', '[]PartitionData', '0+', {}, [
        f('PartitionIndex', 'int32', '0+'),
        f('ErrorCode', 'int16', '0+'),
        f('ErrorMessage', 'string', '2+', { nullable: '2+', default: null, ignorable: true }),
        f('LeaderId', 'int32', '0+'),
        f('LeaderEpoch', 'int32', '0+'),
        f('HighWatermark', 'int64', '0+'),
        f('CurrentVoters', '[]ReplicaState', '0+', {}, replicaState),
        f('Observers', '[]ReplicaState', '0+', {}, replicaState),
      ]),
    ]),
    f('Nodes', '[]Node', '2+', {}, [
      f('NodeId', 'int32', '2+'),
      f('Listeners', '[]Listener', '2+', {}, [
        f('Name', 'string', '2+'),
        f('Host', 'string', '2+'),
        f('Port', 'uint16', '2+'),
      ]),
    ]),
  ],
});
