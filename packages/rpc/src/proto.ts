/**
 * Loads the repo's .proto contracts at run time (no codegen): `proto/` at the repository root, or the directory in
 * TRIB_PROTO_DIR. The loader options fix the JavaScript shapes every module here relies on: camelCase field names,
 * int64 as `number` (a value beyond 2^53 arrives inexact, so validators require safe integers), enums as their
 * names, scalar defaults filled in, absent sub-messages as null and absent `optional` fields as undefined.
 */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const PROTO_LOADER_OPTIONS: protoLoader.Options = Object.freeze({
  keepCase: false,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
});

export function protoDir(): string {
  const fromEnv = process.env['TRIB_PROTO_DIR'];
  if (fromEnv) return fromEnv;
  return fileURLToPath(new URL('../../../proto/', import.meta.url));
}

const cache = new Map<string, grpc.GrpcObject>();

/** Loads one .proto (path relative to the proto dir) as a grpc object tree, once per process. */
export function loadProto(relativePath: string): grpc.GrpcObject {
  let loaded = cache.get(relativePath);
  if (!loaded) {
    const dir = protoDir();
    if (!existsSync(`${dir}/${relativePath}`)) throw new Error(`proto file ${relativePath} not found under ${dir} (set TRIB_PROTO_DIR)`);
    const definition = protoLoader.loadSync(relativePath, { ...PROTO_LOADER_OPTIONS, includeDirs: [dir] });
    loaded = grpc.loadPackageDefinition(definition);
    cache.set(relativePath, loaded);
  }
  return loaded;
}

function lookup(root: grpc.GrpcObject, dotted: string): grpc.ServiceClientConstructor {
  let node: unknown = root;
  for (const part of dotted.split('.')) node = (node as Record<string, unknown>)[part];
  if (typeof node !== 'function' || !('service' in node)) throw new Error(`service ${dotted} not found`);
  return node as grpc.ServiceClientConstructor;
}

export function raftServiceClient(): grpc.ServiceClientConstructor {
  return lookup(loadProto('tributary/raft/v1/raft.proto'), 'tributary.raft.v1.RaftService');
}

export function quorumClientServiceClient(): grpc.ServiceClientConstructor {
  return lookup(loadProto('tributary/quorum/v1/quorum.proto'), 'tributary.quorum.v1.QuorumClientService');
}

/** The trailer carrying a machine-readable reason with every error status we return. */
export const ERROR_TRAILER = 'tributary-error';
/** The trailer naming the leader on a not-leader error. */
export const LEADER_TRAILER = 'tributary-leader';

export interface RpcError {
  code: grpc.status;
  reason: string;
  details: string;
  leaderId?: number | null;
}

export function toServiceError(e: RpcError): Partial<grpc.ServiceError> {
  const metadata = new grpc.Metadata();
  metadata.set(ERROR_TRAILER, e.reason);
  if (e.leaderId !== undefined && e.leaderId !== null) metadata.set(LEADER_TRAILER, String(e.leaderId));
  return { code: e.code, details: `${e.reason}: ${e.details}`, metadata };
}

/** The reason trailer of a failed call ('' when the failure did not come from our server, e.g. a connection error). */
export function errorReason(err: grpc.ServiceError): string {
  const value = err.metadata?.get(ERROR_TRAILER)[0];
  return typeof value === 'string' ? value : '';
}

export function errorLeader(err: grpc.ServiceError): number | null {
  const value = err.metadata?.get(LEADER_TRAILER)[0];
  if (typeof value !== 'string') return null;
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : null;
}
