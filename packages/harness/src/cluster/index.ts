export * from './disks.ts';
export * from './firewall.ts';
export * from './netem.ts';
export * from './process-cluster.ts';
export * from './container-cluster.ts';
export * from './fault-cluster.ts';
