/**
 * Broker/client <-> controller calls over the simulated network. A request carries a ControllerApi method name
 * and its body; the controller side calls the real QuorumController and sends back its answer or its
 * ControllerError (reason + the active controller it names). The client side is a small ControllerClient: it
 * sends each call to the controller it believes active, follows NOT_CONTROLLER hints, walks the voters when the
 * target is silent, and times calls out on the simulated clock. One attempt per call: the callers (brokers, the
 * workload) retry on their own schedules, so every retry is a seeded event.
 */
import { assert } from '@tributary/common';
import type { ControllerApi } from '@tributary/controller';

export type RpcMethod = 'registerBroker' | 'brokerHeartbeat' | 'fetchMetadata' | 'alterPartition' | 'createTopics' | 'createPartitions' | 'deleteTopics' | 'electLeaders';

export interface RpcRequest {
  readonly kind: 'request';
  readonly from: number;
  readonly to: number;
  readonly callId: number;
  readonly method: RpcMethod;
  readonly body: unknown;
  readonly timeoutMs: number;
}

export type RpcOutcome =
  | { readonly ok: true; readonly body: unknown }
  | { readonly ok: false; readonly reason: string; readonly leaderId: number | null; readonly message: string };

export type RpcResponse = { readonly kind: 'response'; readonly from: number; readonly to: number; readonly callId: number } & RpcOutcome;

export type RpcMessage = RpcRequest | RpcResponse;

/** Calls the controller's method; the promise settles with what goes back on the wire. */
export function serve(controller: ControllerApi, request: RpcRequest): Promise<RpcOutcome> {
  const options = { timeoutMs: request.timeoutMs };
  const call = (): Promise<unknown> => {
    switch (request.method) {
      case 'registerBroker':
        return controller.registerBroker(request.body as Parameters<ControllerApi['registerBroker']>[0], options);
      case 'brokerHeartbeat':
        return controller.brokerHeartbeat(request.body as Parameters<ControllerApi['brokerHeartbeat']>[0], options);
      case 'fetchMetadata':
        return controller.fetchMetadata(request.body as Parameters<ControllerApi['fetchMetadata']>[0], options);
      case 'alterPartition':
        return controller.alterPartition(request.body as Parameters<ControllerApi['alterPartition']>[0], options);
      case 'createTopics':
        return controller.createTopics(request.body as Parameters<ControllerApi['createTopics']>[0], options);
      case 'createPartitions':
        return controller.createPartitions(request.body as Parameters<ControllerApi['createPartitions']>[0], options);
      case 'deleteTopics':
        return controller.deleteTopics(request.body as Parameters<ControllerApi['deleteTopics']>[0], options);
      case 'electLeaders':
        return controller.electLeaders(request.body as Parameters<ControllerApi['electLeaders']>[0], options);
    }
  };
  let pending: Promise<unknown>;
  try {
    pending = call();
  } catch (err) {
    pending = Promise.reject(err);
  }
  return pending.then(
    (body): RpcOutcome => ({ ok: true, body }),
    (err: unknown): RpcOutcome => {
      const e = err as { reason?: string; activeControllerId?: number | null; message?: string };
      return { ok: false, reason: e.reason ?? 'internal', leaderId: e.activeControllerId ?? null, message: e.message ?? String(err) };
    },
  );
}

interface PendingCall {
  readonly method: RpcMethod;
  readonly to: number;
  readonly deadlineMs: number;
  readonly done: (outcome: RpcOutcome) => void;
}

/** Calls one caller may have outstanding at once (a broker has at most four kinds in flight). */
export const MAX_PENDING_CALLS = 64;

export class SimRpcClient {
  readonly nodeId: number;
  readonly #controllers: readonly number[];
  readonly #send: (request: RpcRequest) => void;
  readonly #pending = new Map<number, PendingCall>();
  #nextCallId = 1;
  /** The controller calls go to: the last one named active, else the next voter in turn. */
  #target: number;
  readonly stats = { calls: 0, timeouts: 0, notController: 0, errors: 0 };

  constructor(nodeId: number, controllers: readonly number[], firstTarget: number, send: (request: RpcRequest) => void) {
    this.nodeId = nodeId;
    this.#controllers = controllers;
    this.#target = firstTarget;
    this.#send = send;
  }

  get pendingCalls(): number {
    return this.#pending.size;
  }

  call(method: RpcMethod, body: unknown, timeoutMs: number, nowMs: number, done: (outcome: RpcOutcome) => void): void {
    assert(this.#pending.size < MAX_PENDING_CALLS, () => `node ${this.nodeId}: more than ${MAX_PENDING_CALLS} calls pending`);
    const callId = this.#nextCallId++;
    this.stats.calls++;
    this.#pending.set(callId, { method, to: this.#target, deadlineMs: nowMs + timeoutMs, done });
    this.#send({ kind: 'request', from: this.nodeId, to: this.#target, callId, method, body, timeoutMs });
  }

  onResponse(response: RpcResponse): void {
    const call = this.#pending.get(response.callId);
    if (call === undefined) return; // timed out already, or a duplicate
    this.#pending.delete(response.callId);
    if (!response.ok) {
      if (response.reason === 'not-controller') {
        this.stats.notController++;
        // A node naming itself is becoming active: stay. Naming nobody: try the next voter.
        if (response.leaderId !== null && this.#controllers.includes(response.leaderId)) this.#target = response.leaderId;
        else this.#rotate(call.to);
      } else {
        this.stats.errors++;
        if (response.reason === 'stopped' || response.reason === 'unavailable') this.#rotate(call.to);
      }
    }
    call.done(response);
  }

  /** Fails calls past their deadline (the target may be dead or cut off: the next call tries another voter). */
  expire(nowMs: number): void {
    for (const [callId, call] of this.#pending) {
      if (call.deadlineMs > nowMs) continue;
      this.#pending.delete(callId);
      this.stats.timeouts++;
      this.#rotate(call.to);
      call.done({ ok: false, reason: 'timeout', leaderId: null, message: `${call.method} to controller ${call.to} timed out` });
    }
  }

  /** The process died: its calls' answers go nowhere, and nothing is called back. */
  reset(): void {
    this.#pending.clear();
  }

  #rotate(from: number): void {
    if (this.#target !== from) return;
    const i = this.#controllers.indexOf(from);
    this.#target = this.#controllers[(i + 1) % this.#controllers.length]!;
  }
}
