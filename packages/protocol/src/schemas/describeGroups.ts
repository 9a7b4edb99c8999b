// Tributary's own definition of the DescribeGroups API (key 15) in the schema DSL of ../dsl.ts.
import { api, f } from '../dsl.ts';

export const describeGroups = api(15, 'DescribeGroups', '0-5', '5+', {
  request: [
    f('Groups', '[]string', '0+'),
    f('IncludeAuthorizedOperations', 'bool', '3+'),
  ],
  response: [
    f('ThrottleTimeMs', 'int32', '1+', { ignorable: true }),
    f('Groups', '[]DescribedGroup', '0+', {}, [
      f('ErrorCode', 'int16', '0+'),
      f('GroupId', 'string', '0+'),
      f('GroupState', 'string', '0+'),
      f('ProtocolType', 'string', '0+'),
      f('ProtocolData', 'string', '0+'),
      f('Members', '[]DescribedGroupMember', '0+', {}, [
        f('MemberId', 'string', '0+'),
        f('GroupInstanceId', 'string', '4+', { nullable: '4+', default: null, ignorable: true }),
        f('ClientId', 'string', '0+'),
        f('ClientHost', 'string', '0+'),
        f('MemberMetadata', 'bytes', '0+'),
        f('MemberAssignment', 'bytes', '0+'),
      ]),
      f('AuthorizedOperations', 'int32', '3+', { default: -2147483648 }),
    ]),
  ],
});
