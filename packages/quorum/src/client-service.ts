/** tributary.quorum.v1.QuorumClientService: propose to / read / describe / snapshot the replicated map. */
import * as grpc from '@grpc/grpc-js';
import type { RaftNode } from '@tributary/raft';
import { quorumClientServiceClient, toServiceError, type RpcError } from '@tributary/rpc';
import { ProposalError, type QuorumDriver } from './driver.ts';
import { encodeKvCommand, type KvStateMachine } from './state-machine.ts';
import type { StoredRaftLog } from './stored-log.ts';

export const MAX_KEY_BYTES = 1024;
export const MAX_VALUE_BYTES = 256 * 1024;

export interface ClientServiceDeps {
  driver: QuorumDriver;
  stateMachine: KvStateMachine;
  log: StoredRaftLog;
  node: RaftNode;
}

const PROPOSAL_STATUS: Record<ProposalError['reason'], grpc.status> = {
  'not-leader': grpc.status.FAILED_PRECONDITION,
  overloaded: grpc.status.RESOURCE_EXHAUSTED,
  'too-large': grpc.status.INVALID_ARGUMENT,
  timeout: grpc.status.DEADLINE_EXCEEDED,
  lost: grpc.status.ABORTED,
  stopped: grpc.status.UNAVAILABLE,
};

export function describeNode(deps: ClientServiceDeps): object {
  const { node, driver, log } = deps;
  const role = node.role;
  const description = node.describeQuorum();
  const out: Record<string, unknown> = {
    nodeId: node.nodeId,
    role: role.kind,
    epoch: role.epoch,
    highWatermark: node.highWatermark,
    appliedOffset: driver.appliedOffset,
    logStartOffset: log.startOffset,
    logEndOffset: log.endOffset,
    snapshotEndOffset: node.snapshot?.id.endOffset ?? 0,
    snapshotsInstalled: driver.stats.snapshotsInstalled,
    snapshotsCreated: driver.stats.snapshotsCreated,
    quorumJson: description ? JSON.stringify(description) : '',
  };
  if (role.leaderId !== null) out['leaderId'] = role.leaderId;
  return out;
}

export function addClientService(server: grpc.Server, deps: ClientServiceDeps): void {
  const fail = (callback: grpc.sendUnaryData<object>, e: RpcError): void => callback(toServiceError(e) as grpc.ServiceError, null);
  server.addService(quorumClientServiceClient().service, {
    Propose: (call: grpc.ServerUnaryCall<{ key: string; value: string }, object>, callback: grpc.sendUnaryData<object>) => {
      const { key, value } = call.request;
      if (typeof key !== 'string' || key.length === 0 || Buffer.byteLength(key) > MAX_KEY_BYTES || typeof value !== 'string' || Buffer.byteLength(value) > MAX_VALUE_BYTES) {
        fail(callback, { code: grpc.status.INVALID_ARGUMENT, reason: 'malformed', details: `key must be 1..${MAX_KEY_BYTES} bytes, value at most ${MAX_VALUE_BYTES}` });
        return;
      }
      deps.driver.propose(encodeKvCommand({ key, value })).then(
        (r) => callback(null, { offset: r.offset, epoch: r.epoch }),
        (err: unknown) => {
          if (err instanceof ProposalError) fail(callback, { code: PROPOSAL_STATUS[err.reason], reason: err.reason, details: err.message, leaderId: err.leaderId });
          else fail(callback, { code: grpc.status.INTERNAL, reason: 'internal', details: String(err) });
        },
      );
    },
    Read: (_call: grpc.ServerUnaryCall<object, object>, callback: grpc.sendUnaryData<object>) => {
      callback(null, { entries: deps.stateMachine.entries().map(([key, value]) => ({ key, value })), appliedOffset: deps.driver.appliedOffset });
    },
    Describe: (_call: grpc.ServerUnaryCall<object, object>, callback: grpc.sendUnaryData<object>) => {
      callback(null, describeNode(deps));
    },
    CreateSnapshot: (_call: grpc.ServerUnaryCall<object, object>, callback: grpc.sendUnaryData<object>) => {
      deps.driver.requestSnapshot().then(
        (id) => callback(null, { endOffset: id?.endOffset ?? 0, epoch: id?.epoch ?? 0 }),
        (err: unknown) => fail(callback, { code: grpc.status.INTERNAL, reason: 'internal', details: String(err) }),
      );
    },
  });
}
