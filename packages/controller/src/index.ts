export * from './api.ts';
export * from './errors.ts';
export * from './config-schema.ts';
export { CommittedTail, defaultTailLimits, type TailLimits } from './committed-tail.ts';
export * from './quorum-controller.ts';
export { addControllerService, type ControllerServiceOptions } from './service.ts';
export { CONTROLLER_PROTO, CONTROLLER_SERVICE, controllerServiceClient, defaultWireLimits, type WireLimits } from './wire.ts';
export * from './client.ts';
export * from './follower.ts';
export * from './lifecycle.ts';
export * from './node.ts';
// Process plumbing a server needs next to ControllerNode (re-exported so it need not import the quorum package).
export { DEFAULT_CLUSTER_ID, parseVoters } from '@tributary/quorum';
