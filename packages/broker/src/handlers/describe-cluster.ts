import { ErrorCode } from '@tributary/protocol';
import type { Broker, RequestContext } from '../broker.ts';
import { brokerEntry } from './common.ts';

const BROKERS_ENDPOINT = 1;

export async function handleDescribeCluster(broker: Broker, _ctx: RequestContext, body: any): Promise<object> {
  const base = { throttleTimeMs: 0, endpointType: BROKERS_ENDPOINT, clusterId: broker.clusterId, controllerId: broker.nodeId, clusterAuthorizedOperations: -2147483648 };
  if (body.endpointType !== undefined && body.endpointType !== BROKERS_ENDPOINT) {
    return { ...base, errorCode: ErrorCode.UNSUPPORTED_ENDPOINT_TYPE, errorMessage: 'only the brokers endpoint type (1) is served', endpointType: body.endpointType, brokers: [] };
  }
  const b = brokerEntry(broker);
  return { ...base, errorCode: ErrorCode.NONE, errorMessage: null, brokers: [{ brokerId: b.brokerId, host: b.host, port: b.port, rack: b.rack }] };
}
