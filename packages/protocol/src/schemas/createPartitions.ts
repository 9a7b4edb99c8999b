// Tributary's own definition of the CreatePartitions API (key 37) in the schema DSL of ../dsl.ts.
import { api, f } from '../dsl.ts';

export const createPartitions = api(37, 'CreatePartitions', '0-3', '2+', {
  request: [
    f('Topics', '[]CreatePartitionsTopic', '0+', {}, [
      f('Name', 'string', '0+'),
      f('Count', 'int32', '0+'),
      f('Assignments', '[]CreatePartitionsAssignment', '0+', { nullable: '0+' }, [
        f('BrokerIds', '[]int32', '0+'),
      ]),
    ]),
    f('TimeoutMs', 'int32', '0+'),
    f('ValidateOnly', 'bool', '0+'),
  ],
  response: [
    f('ThrottleTimeMs', 'int32', '0+'),
    f('Results', '[]CreatePartitionsTopicResult', '0+', {}, [
      f('Name', 'string', '0+'),
      f('ErrorCode', 'int16', '0+'),
      f('ErrorMessage', 'string', '0+', { nullable: '0+', default: null }),
    ]),
  ],
});
