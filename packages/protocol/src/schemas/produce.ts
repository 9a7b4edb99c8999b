// Tributary's own definition of the Produce API (key 0) in the schema DSL of ../dsl.ts.
import { api, f } from '../dsl.ts';

export const produce = api(0, 'Produce', '0-11', '9+', {
  request: [
    f('TransactionalId', 'string', '3+', { nullable: '3+', default: null }),
    f('Acks', 'int16', '0+'),
    f('TimeoutMs', 'int32', '0+'),
    f('TopicData', '[]TopicProduceData', '0+', {}, [
      f('Name', 'string', '0+'),
      f('PartitionData', '[]PartitionProduceData', '0+', {}, [
        f('Index', 'int32', '0+'),
        f('Records', 'records', '0+', { nullable: '0+' }),
      ]),
    ]),
  ],
  response: [
    f('Responses', '[]TopicProduceResponse', '0+', {}, [
      f('Name', 'string', '0+'),
      f('PartitionResponses', '[]PartitionProduceResponse', '0+', {}, [
        f('Index', 'int32', '0+'),
        f('ErrorCode', 'int16', '0+'),
        f('BaseOffset', 'int64', '0+'),
        f('LogAppendTimeMs', 'int64', '2+', { default: -1, ignorable: true }),
        f('LogStartOffset', 'int64', '5+', { default: -1, ignorable: true }),
        f('RecordErrors', '[]BatchIndexAndErrorMessage', '8+', { ignorable: true }, [
          f('BatchIndex', 'int32', '8+'),
          f('BatchIndexErrorMessage', 'string', '8+', { nullable: '8+', default: null }),
        ]),
        f('ErrorMessage', 'string', '8+', { nullable: '8+', default: null, ignorable: true }),
        f('CurrentLeader', 'LeaderIdAndEpoch', '10+', { tag: 0 }, [
          f('LeaderId', 'int32', '10+', { default: -1 }),
          f('LeaderEpoch', 'int32', '10+', { default: -1 }),
        ]),
      ]),
    ]),
    f('ThrottleTimeMs', 'int32', '1+', { default: 0, ignorable: true }),
    f('NodeEndpoints', '[]NodeEndpoint', '10+', { tag: 0 }, [
      f('NodeId', 'int32', '10+'),
      f('Host', 'string', '10+'),
      f('Port', 'int32', '10+'),
      f('Rack', 'string', '10+', { nullable: '10+', default: null }),
    ]),
  ],
});
