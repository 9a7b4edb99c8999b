export { startNode, loadConfig, type StartNodeOptions, type RunningNode } from './node.ts';
export { configFromEnv, envNameToKey, parseProperties } from './config-sources.ts';
