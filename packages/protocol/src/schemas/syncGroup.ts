// Tributary's own definition of the SyncGroup API (key 14) in the schema DSL of ../dsl.ts.
import { api, f } from '../dsl.ts';

export const syncGroup = api(14, 'SyncGroup', '0-5', '4+', {
  request: [
    f('GroupId', 'string', '0+'),
    f('GenerationId', 'int32', '0+'),
    f('MemberId', 'string', '0+'),
    f('GroupInstanceId', 'string', '3+', { nullable: '3+', default: null }),
    f('ProtocolType', 'string', '5+', { nullable: '5+', default: null, ignorable: true }),
    f('ProtocolName', 'string', '5+', { nullable: '5+', default: null, ignorable: true }),
    f('Assignments', '[]SyncGroupRequestAssignment', '0+', {}, [
      f('MemberId', 'string', '0+'),
      f('Assignment', 'bytes', '0+'),
    ]),
  ],
  response: [
    f('ThrottleTimeMs', 'int32', '1+', { ignorable: true }),
    f('ErrorCode', 'int16', '0+'),
    f('ProtocolType', 'string', '5+', { nullable: '5+', default: null, ignorable: true }),
    f('ProtocolName', 'string', '5+', { nullable: '5+', default: null, ignorable: true }),
    f('Assignment', 'bytes', '0+'),
  ],
});
