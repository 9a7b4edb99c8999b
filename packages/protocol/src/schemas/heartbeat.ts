// Tributary's own definition of the Heartbeat API (key 12) in the schema DSL of ../dsl.ts.
import { api, f } from '../dsl.ts';

export const heartbeat = api(12, 'Heartbeat', '0-4', '4+', {
  request: [
    f('GroupId', 'string', '0+'),
    f('GenerationId', 'int32', '0+'),
    f('MemberId', 'string', '0+'),
    f('GroupInstanceId', 'string', '3+', { nullable: '3+', default: null }),
  ],
  response: [
    f('ThrottleTimeMs', 'int32', '1+', { ignorable: true }),
    f('ErrorCode', 'int16', '0+'),
  ],
});
