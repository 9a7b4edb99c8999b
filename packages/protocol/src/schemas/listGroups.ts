// Tributary's own definition of the ListGroups API (key 16) in the schema DSL of ../dsl.ts.
import { api, f } from '../dsl.ts';

export const listGroups = api(16, 'ListGroups', '0-5', '3+', {
  request: [
    f('StatesFilter', '[]string', '4+'),
    f('TypesFilter', '[]string', '5+'),
  ],
  response: [
    f('ThrottleTimeMs', 'int32', '1+', { ignorable: true }),
    f('ErrorCode', 'int16', '0+'),
    f('Groups', '[]ListedGroup', '0+', {}, [
      f('GroupId', 'string', '0+'),
      f('ProtocolType', 'string', '0+'),
      f('GroupState', 'string', '4+', { ignorable: true }),
      f('GroupType', 'string', '5+', { ignorable: true }),
    ]),
  ],
});
