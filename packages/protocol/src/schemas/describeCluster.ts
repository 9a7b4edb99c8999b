// Tributary's own definition of the DescribeCluster API (key 60) in the schema DSL of ../dsl.ts.
import { api, f } from '../dsl.ts';

export const describeCluster = api(60, 'DescribeCluster', '0-1', '0+', {
  request: [
    f('IncludeClusterAuthorizedOperations', 'bool', '0+'),
    f('EndpointType', 'int8', '1+', { default: 1 }),
  ],
  response: [
    f('ThrottleTimeMs', 'int32', '0+'),
    f('ErrorCode', 'int16', '0+'),
    f('ErrorMessage', 'string', '0+', { nullable: '0+', default: null }),
    f('EndpointType', 'int8', '1+', { default: 1 }),
    f('ClusterId', 'string', '0+'),
    f('ControllerId', 'int32', '0+', { default: -1 }),
    f('Brokers', '[]DescribeClusterBroker', '0+', {}, [
      f('BrokerId', 'int32', '0+'),
      f('Host', 'string', '0+'),
      f('Port', 'int32', '0+'),
      f('Rack', 'string', '0+', { nullable: '0+', default: null }),
    ]),
    f('ClusterAuthorizedOperations', 'int32', '0+', { default: -2147483648 }),
  ],
});
