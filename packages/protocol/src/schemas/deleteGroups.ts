// Tributary's own definition of the DeleteGroups API (key 42) in the schema DSL of ../dsl.ts.
import { api, f } from '../dsl.ts';

export const deleteGroups = api(42, 'DeleteGroups', '0-2', '2+', {
  request: [
    f('GroupsNames', '[]string', '0+'),
  ],
  response: [
    f('ThrottleTimeMs', 'int32', '0+'),
    f('Results', '[]DeletableGroupResult', '0+', {}, [
      f('GroupId', 'string', '0+'),
      f('ErrorCode', 'int16', '0+'),
    ]),
  ],
});
