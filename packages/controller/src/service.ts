/**
 * tributary.controller.v1.ControllerService on a grpc-js server: cluster-id check, request validation (wire.ts),
 * the call's deadline passed on as the operation's timeout, then QuorumController. ControllerErrors become a gRPC
 * status with the reason, the Kafka error code and the active controller in trailers (controller.proto's table).
 */
import * as grpc from '@grpc/grpc-js';
import { silentLogger, type Logger } from '@tributary/common';
import type { CallOptions } from './api.ts';
import { ControllerError } from './errors.ts';
import type { QuorumController } from './quorum-controller.ts';
import { API_WIRES, Check, controllerErrorToStatus, controllerServiceClient, defaultWireLimits, describeQuorumWire, describeWire, type MethodWire, type WireLimits } from './wire.ts';

export interface ControllerServiceOptions {
  controller: QuorumController;
  clusterId: string;
  limits?: Partial<WireLimits>;
  logger?: Logger;
  /** Used when a call carries no deadline, and as the ceiling of one that does. */
  maxCallTimeoutMs?: number;
}

type Handler = (call: grpc.ServerUnaryCall<Record<string, unknown>, object>, callback: grpc.sendUnaryData<object>) => void;

export function addControllerService(server: grpc.Server, opts: ControllerServiceOptions): void {
  const limits = { ...defaultWireLimits, ...opts.limits };
  const logger = (opts.logger ?? silentLogger).child({ component: 'controller-service' });
  const maxCallTimeoutMs = opts.maxCallTimeoutMs ?? 60_000;
  const controller = opts.controller;

  const callOptions = (call: grpc.ServerUnaryCall<unknown, unknown>): CallOptions => {
    const deadline = call.getDeadline();
    const at = deadline instanceof Date ? deadline.getTime() : typeof deadline === 'number' ? deadline : Infinity;
    const remaining = Number.isFinite(at) ? at - Date.now() : maxCallTimeoutMs;
    return { timeoutMs: Math.max(1, Math.min(remaining, maxCallTimeoutMs)) };
  };

  const unary = <Req, Res>(wire: MethodWire<Req, Res>, invoke: (request: Req, options: CallOptions) => Promise<Res>): Handler => {
    return (call, callback) => {
      const fail = (err: unknown): void => {
        const e = err instanceof ControllerError ? err : new ControllerError('internal', String(err));
        if (e.reason === 'internal') logger.error({ rpc: wire.rpc, err: err instanceof Error ? (err.stack ?? err.message) : String(err) }, 'controller call failed');
        callback(controllerErrorToStatus(e) as grpc.ServiceError, null);
      };
      try {
        const check = new Check(wire.rpc, limits);
        const header = call.request['header'];
        const clusterId = typeof header === 'object' && header !== null ? (header as Record<string, unknown>)['clusterId'] : undefined;
        if (clusterId !== opts.clusterId) {
          throw new ControllerError('cluster-mismatch', `${wire.rpc}: cluster id ${JSON.stringify(clusterId ?? '')} is not this cluster's (${JSON.stringify(opts.clusterId)})`);
        }
        const request = wire.requestFromWire(call.request, check);
        invoke(request, callOptions(call)).then((response) => callback(null, wire.responseToWire(response)), fail);
      } catch (err) {
        fail(err);
      }
    };
  };

  const handlers: Record<string, Handler> = {
    RegisterBroker: unary(API_WIRES.registerBroker, (r, o) => controller.registerBroker(r, o)),
    BrokerHeartbeat: unary(API_WIRES.brokerHeartbeat, (r, o) => controller.brokerHeartbeat(r, o)),
    UnregisterBroker: unary(API_WIRES.unregisterBroker, (r, o) => controller.unregisterBroker(r, o)),
    AlterPartition: unary(API_WIRES.alterPartition, (r, o) => controller.alterPartition(r, o)),
    AllocateProducerIds: unary(API_WIRES.allocateProducerIds, (r, o) => controller.allocateProducerIds(r, o)),
    FetchMetadata: unary(API_WIRES.fetchMetadata, (r, o) => controller.fetchMetadata(r, o)),
    CreateTopics: unary(API_WIRES.createTopics, (r, o) => controller.createTopics(r, o)),
    DeleteTopics: unary(API_WIRES.deleteTopics, (r, o) => controller.deleteTopics(r, o)),
    CreatePartitions: unary(API_WIRES.createPartitions, (r, o) => controller.createPartitions(r, o)),
    IncrementalAlterConfigs: unary(API_WIRES.incrementalAlterConfigs, (r, o) => controller.incrementalAlterConfigs(r, o)),
    AlterConfigs: unary(API_WIRES.alterConfigs, (r, o) => controller.alterConfigs(r, o)),
    ElectLeaders: unary(API_WIRES.electLeaders, (r, o) => controller.electLeaders(r, o)),
    AlterPartitionReassignments: unary(API_WIRES.alterPartitionReassignments, (r, o) => controller.alterPartitionReassignments(r, o)),
    ListPartitionReassignments: unary(API_WIRES.listPartitionReassignments, (r, o) => controller.listPartitionReassignments(r, o)),
    DescribeQuorum: unary(describeQuorumWire, (_r, o) => controller.describeQuorum(o)),
    Describe: unary(describeWire, async (r) => controller.status(r.includeImage)),
  };
  server.addService(controllerServiceClient().service, handlers);
}
