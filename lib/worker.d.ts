// Types of `seqloop/worker`: the shard object inside a ShardedWorkers worker file (API.md §8).
import type { WorkerMessageMeta, WorkerBatch, WorkerSlot, SlotHandleLike } from './index'

/** The shard this worker thread runs. */
export interface Shard {
  readonly shardId: number
  /** The core the planner chose for this shard. */
  readonly coreId: number
  readonly numaNode: number
  /** True when the thread was bound to `coreId` (strict enforcement) and `sched_getcpu` confirmed it. */
  readonly pinned: boolean
  /** The CPU the thread ran on right after binding. */
  readonly cpu: number | null
  /** Why `pinned` is false. */
  readonly pinReason: string | null
  /** `options.workerData` of `ShardedWorkers.start`. */
  readonly workerData: unknown
  /** One message at a time; `view` is valid until `fn` returns unless `meta.retain()` was called. */
  onMessage(fn: (key: string, view: Uint8Array, meta: WorkerMessageMeta) => void): this
  /** Runs of messages; `batch.bytes` is valid only while `fn` runs. */
  onBatch(fn: (batch: WorkerBatch) => void): this
  /** Frees a slot kept with `meta.retain()` (or an allocated slot never sent). */
  free(meta: WorkerMessageMeta | SlotHandleLike): boolean
  /** A fresh slot for a message to the main thread, or null when this shard's slots are all in use. */
  allocate(): WorkerSlot | null
  /** Sends an allocated slot to the main thread (the slot's views are detached). */
  send(key: string, slot: WorkerSlot | SlotHandleLike, length?: number): void
  /** Like `send`, but returns false on a full lane instead of throwing. */
  trySend(key: string, slot: WorkerSlot | SlotHandleLike, length?: number): boolean
  /** Copies `bytes` into a fresh slot and sends it to the main thread. */
  sendBytes(key: string, bytes: ArrayBufferView | ArrayBuffer): void
  /** Sends message i = the next `lengths[i]` bytes; returns how many were sent (stops at a full lane). */
  sendBatch(keys: string[], bytes: ArrayBufferView | ArrayBuffer, lengths: ArrayLike<number>): number
}

/** This thread's shard; null outside a ShardedWorkers worker. */
export declare const shard: Shard
