export * from './stored-log.ts';
export * from './files.ts';
export * from './state-machine.ts';
export * from './driver.ts';
export * from './node.ts';
export * from './client.ts';
export * from './client-service.ts';
export * from './system.ts';
export { stopOnSignals } from './shutdown.ts';
