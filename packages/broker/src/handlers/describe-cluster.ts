import { ErrorCode } from '@tributary/protocol';
import type { Broker, RequestContext } from '../broker.ts';
import { listenerOf } from './common.ts';

const BROKERS_ENDPOINT = 1;

/** DescribeCluster: the cluster id, the live brokers from the committed metadata, and a broker as "controller" (as Metadata). */
export async function handleDescribeCluster(broker: Broker, ctx: RequestContext, body: any): Promise<object> {
  const base = { throttleTimeMs: 0, endpointType: BROKERS_ENDPOINT, clusterId: broker.clusterId, controllerId: broker.metadata.controllerIdForClients(), clusterAuthorizedOperations: -2147483648 };
  if (body.endpointType !== undefined && body.endpointType !== BROKERS_ENDPOINT) {
    return { ...base, errorCode: ErrorCode.UNSUPPORTED_ENDPOINT_TYPE, errorMessage: 'only the brokers endpoint type (1) is served', endpointType: body.endpointType, brokers: [] };
  }
  const listenerName = listenerOf(broker, ctx);
  const brokers = broker.metadata.liveBrokers().flatMap((b) => {
    const e = broker.metadata.endpoint(b.brokerId, listenerName);
    return e ? [{ brokerId: b.brokerId, host: e.host, port: e.port, rack: b.rack, isFenced: false }] : [];
  });
  return { ...base, errorCode: ErrorCode.NONE, errorMessage: null, brokers };
}
