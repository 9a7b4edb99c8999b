/**
 * What the nemesis runner needs of a cluster: the fault surface ProcessCluster and ContainerCluster share (same
 * names, same semantics). Methods one kind runs synchronously may return a promise in the other: callers await all.
 */
import type { NetemParams } from './netem.ts';

export interface FaultCluster {
  readonly names: string[];
  readonly brokerNames: string[];
  /** `host:port,...` the harness' clients dial. */
  readonly bootstrap: string;
  kill(names: readonly string[]): Promise<void>;
  stop(names: readonly string[]): Promise<void>;
  pause(names: readonly string[]): void | Promise<void>;
  resume(names: readonly string[]): void | Promise<void>;
  restart(names: readonly string[]): Promise<void>;
  partition(a: readonly string[], b: readonly string[], oneWay?: boolean): void | Promise<void>;
  heal(): void | Promise<void>;
  netem(names: readonly string[], params: NetemParams): Promise<void>;
  netemHeal(): Promise<void>;
  diskFull(names: readonly string[]): Record<string, number>;
  diskReadonly(names: readonly string[]): void | Promise<void>;
  diskHeal(names?: readonly string[]): void | Promise<void>;
  diskMounts(): string[];
  powerLoss(names: readonly string[]): Promise<void>;
  healAll(): Promise<void>;
  logTails(lines?: number): Record<string, string> | Promise<Record<string, string>>;
  destroy(o?: { saveData?: boolean }): Promise<void>;
}
