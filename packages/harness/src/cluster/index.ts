export * from './firewall.ts';
export * from './process-cluster.ts';
export * from './container-cluster.ts';
