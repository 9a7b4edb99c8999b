// Tributary's own definition of the FindCoordinator API (key 10) in the schema DSL of ../dsl.ts.
import { api, f } from '../dsl.ts';

export const findCoordinator = api(10, 'FindCoordinator', '0-6', '3+', {
  request: [
    f('Key', 'string', '0-3'),
    f('KeyType', 'int8', '1+', { default: 0 }),
    f('CoordinatorKeys', '[]string', '4+'),
  ],
  response: [
    f('ThrottleTimeMs', 'int32', '1+', { ignorable: true }),
    f('ErrorCode', 'int16', '0-3'),
    f('ErrorMessage', 'string', '1-3', { nullable: '1-3', ignorable: true }),
    f('NodeId', 'int32', '0-3'),
    f('Host', 'string', '0-3'),
    f('Port', 'int32', '0-3'),
    f('Coordinators', '[]Coordinator', '4+', {}, [
      f('Key', 'string', '4+'),
      f('NodeId', 'int32', '4+'),
      f('Host', 'string', '4+'),
      f('Port', 'int32', '4+'),
      f('ErrorCode', 'int16', '4+'),
      f('ErrorMessage', 'string', '4+', { nullable: '4+', ignorable: true }),
    ]),
  ],
});
