/**
 * Long-running operations: a PATCH is accepted, the resource shows `provisioningState: Updating`,
 * and the change is applied when the operation's emulated completion time has passed. Completion
 * is evaluated lazily (on every request and control call), so no timers are needed for correctness.
 */
import { randomUUID } from 'node:crypto';
import { touch, type ComputeResource } from './store.js';

/** A failure the operation ends with (instead of applying its change). */
export interface OperationFailure {
  status: number;
  code: string;
  message: string;
}

/** One asynchronous operation on a VM/VMSS. */
export interface Operation {
  id: string;
  resource: ComputeResource;
  /** Emulated ms. */
  startedAt: number;
  /** Emulated ms. */
  doneAt: number;
  status: 'InProgress' | 'Succeeded' | 'Failed';
  failure?: OperationFailure;
  /** Applies the change; called once, at completion, with the emulated completion time. */
  apply: (doneAt: number) => void;
}

/** Registry of operations, keyed by ID; at most one running operation per resource. */
export class OperationRegistry {
  readonly #ops = new Map<string, Operation>();
  readonly #running = new Map<ComputeResource, Operation>();

  /** Starts an operation; the resource turns `Updating` until it completes. */
  start(resource: ComputeResource, now: number, latencyMs: number, apply: (doneAt: number) => void, failure?: OperationFailure): Operation {
    const op: Operation = {
      id: randomUUID(),
      resource,
      startedAt: now,
      doneAt: now + Math.max(0, latencyMs),
      status: 'InProgress',
      apply,
      ...(failure ? { failure } : {}),
    };
    this.#ops.set(op.id, op);
    this.#running.set(resource, op);
    resource.provisioningState = 'Updating';
    return op;
  }

  /** Completes every operation whose time has come, in completion order. */
  settle(now: number): void {
    const due = [...this.#running.values()].filter((op) => op.doneAt <= now).sort((a, b) => a.doneAt - b.doneAt);
    for (const op of due) {
      this.#running.delete(op.resource);
      if (op.failure) {
        op.status = 'Failed';
        op.resource.provisioningState = 'Failed';
        touch(op.resource);
      } else {
        op.apply(op.doneAt);
        op.status = 'Succeeded';
        op.resource.provisioningState = 'Succeeded';
      }
    }
  }

  /** The running operation on a resource, if any. */
  running(resource: ComputeResource): Operation | undefined {
    return this.#running.get(resource);
  }

  /** Operation by ID. */
  get(id: string): Operation | undefined {
    return this.#ops.get(id.toLowerCase()) ?? this.#ops.get(id);
  }
}
