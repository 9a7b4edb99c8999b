// Tributary's own definition of the JoinGroup API (key 11) in the schema DSL of ../dsl.ts.
import { api, f } from '../dsl.ts';

export const joinGroup = api(11, 'JoinGroup', '0-9', '6+', {
  request: [
    f('GroupId', 'string', '0+'),
    f('SessionTimeoutMs', 'int32', '0+'),
    f('RebalanceTimeoutMs', 'int32', '1+', { default: -1, ignorable: true }),
    f('MemberId', 'string', '0+'),
    f('GroupInstanceId', 'string', '5+', { nullable: '5+', default: null }),
    f('ProtocolType', 'string', '0+'),
    f('Protocols', '[]JoinGroupRequestProtocol', '0+', {}, [
      f('Name', 'string', '0+'),
      f('Metadata', 'bytes', '0+'),
    ]),
    f('Reason', 'string', '8+', { nullable: '8+', default: null, ignorable: true }),
  ],
  response: [
    f('ThrottleTimeMs', 'int32', '2+', { ignorable: true }),
    f('ErrorCode', 'int16', '0+'),
    f('GenerationId', 'int32', '0+', { default: -1 }),
    f('ProtocolType', 'string', '7+', { nullable: '7+', default: null, ignorable: true }),
    f('ProtocolName', 'string', '0+', { nullable: '7+' }),
    f('Leader', 'string', '0+'),
    f('SkipAssignment', 'bool', '9+', { default: false }),
    f('MemberId', 'string', '0+'),
    f('Members', '[]JoinGroupResponseMember', '0+', {}, [
      f('MemberId', 'string', '0+'),
      f('GroupInstanceId', 'string', '5+', { nullable: '5+', default: null, ignorable: true }),
      f('Metadata', 'bytes', '0+'),
    ]),
  ],
});
