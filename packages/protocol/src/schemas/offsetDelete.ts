// Tributary's own definition of the OffsetDelete API (key 47) in the schema DSL of ../dsl.ts.
import { api, f } from '../dsl.ts';

export const offsetDelete = api(47, 'OffsetDelete', '0', 'none', {
  request: [
    f('GroupId', 'string', '0+'),
    f('Topics', '[]OffsetDeleteRequestTopic', '0+', {}, [
      f('Name', 'string', '0+'),
      f('Partitions', '[]OffsetDeleteRequestPartition', '0+', {}, [
        f('PartitionIndex', 'int32', '0+'),
      ]),
    ]),
  ],
  response: [
    f('ErrorCode', 'int16', '0+'),
    f('ThrottleTimeMs', 'int32', '0+', { ignorable: true }),
    f('Topics', '[]OffsetDeleteResponseTopic', '0+', {}, [
      f('Name', 'string', '0+'),
      f('Partitions', '[]OffsetDeleteResponsePartition', '0+', {}, [
        f('PartitionIndex', 'int32', '0+'),
        f('ErrorCode', 'int16', '0+'),
      ]),
    ]),
  ],
});
