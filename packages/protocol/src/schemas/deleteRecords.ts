// Tributary's own definition of the DeleteRecords API (key 21) in the schema DSL of ../dsl.ts.
import { api, f } from '../dsl.ts';

export const deleteRecords = api(21, 'DeleteRecords', '0-2', '2+', {
  request: [
    f('Topics', '[]DeleteRecordsTopic', '0+', {}, [
      f('Name', 'string', '0+'),
      f('Partitions', '[]DeleteRecordsPartition', '0+', {}, [
        f('PartitionIndex', 'int32', '0+'),
        f('Offset', 'int64', '0+'),
      ]),
    ]),
    f('TimeoutMs', 'int32', '0+'),
  ],
  response: [
    f('ThrottleTimeMs', 'int32', '0+'),
    f('Topics', '[]DeleteRecordsTopicResult', '0+', {}, [
      f('Name', 'string', '0+'),
      f('Partitions', '[]DeleteRecordsPartitionResult', '0+', {}, [
        f('PartitionIndex', 'int32', '0+'),
        f('LowWatermark', 'int64', '0+'),
        f('ErrorCode', 'int16', '0+'),
      ]),
    ]),
  ],
});
