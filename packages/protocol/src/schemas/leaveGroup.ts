// Tributary's own definition of the LeaveGroup API (key 13) in the schema DSL of ../dsl.ts.
import { api, f } from '../dsl.ts';

export const leaveGroup = api(13, 'LeaveGroup', '0-5', '4+', {
  request: [
    f('GroupId', 'string', '0+'),
    f('MemberId', 'string', '0-2'),
    f('Members', '[]MemberIdentity', '3+', {}, [
      f('MemberId', 'string', '3+'),
      f('GroupInstanceId', 'string', '3+', { nullable: '3+', default: null }),
      f('Reason', 'string', '5+', { nullable: '5+', default: null, ignorable: true }),
    ]),
  ],
  response: [
    f('ThrottleTimeMs', 'int32', '1+', { ignorable: true }),
    f('ErrorCode', 'int16', '0+'),
    f('Members', '[]MemberResponse', '3+', {}, [
      f('MemberId', 'string', '3+'),
      f('GroupInstanceId', 'string', '3+', { nullable: '3+' }),
      f('ErrorCode', 'int16', '3+'),
    ]),
  ],
});
