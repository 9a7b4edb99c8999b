export * from './firewall.ts';
export * from './process-cluster.ts';
