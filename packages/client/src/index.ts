export * from './errors.ts';
export * from './codec.ts';
export * from './versions.ts';
export * from './connection.ts';
export * from './client.ts';
export * from './consumer-protocol.ts';
export * from './group-consumer.ts';
