export * from './proto.ts';
export * from './codec.ts';
export * from './transport.ts';
export * from './replica-fetch.ts';
export { status as GrpcStatus, Metadata as GrpcMetadata, credentials as grpcCredentials } from '@grpc/grpc-js';
export type { Server as GrpcServer, ServiceError as GrpcServiceError, Client as GrpcClient } from '@grpc/grpc-js';
