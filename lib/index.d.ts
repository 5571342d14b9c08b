// Public types of the seqloop package: the generated native declarations plus the JS facades.
import { NativeEventLoop } from '../index'

export {
  DeterministicClock,
  WallClock,
  Scheduler,
  TimerQueue,
  HostcallOutcome,
  Macrotask,
  HugepageStatus,
  NumaSlab,
  NumaSlabPool,
  NumaSlabTelemetry,
  SlabHandle,
  replay,
  diffTraces,
  ReactorTopologySnapshot,
  ReactorPlacementManifest,
  ThreadAffinityAdvice,
  bindCurrentThread,
  ReactorMesh,
  ReactorMeshTelemetry,
  Trace,
  TraceDiff,
  TraceDivergence,
  ReplayResult,
} from '../index'

/** Options of `new EventLoop(options)`. */
export interface EventLoopOptions {
  /** `'virtual'` (default): time moves only with `advance`/`runAll`. `'wall'`: real time, `run()`. */
  clock?: 'virtual' | 'wall'
  /** Start of the virtual clock in ms (default 0). */
  startMs?: number
  /** Keep a trace of inputs and dispatches (record/replay). */
  record?: boolean
  /** Give each timer and immediate the async context it was created in (default true). */
  asyncContext?: boolean
}

/**
 * A deterministic event loop: timers, intervals, immediates, hostcalls, streams and events run by
 * the addon in seq order, one macrotask per tick (I1), with every `process.nextTick` and microtask
 * drained after each macrotask in real Node's order (I2).
 */
export declare class EventLoop extends NativeEventLoop {
  constructor (options?: EventLoopOptions)
  /** Runs `fn(...args)` after `ms` (default 0). Returns the timer id. */
  setTimeout<A extends unknown[]> (fn: (...args: A) => unknown, ms?: number, ...args: A): number
  /** Runs `fn(...args)` every `ms` (at least 1), re-armed from its own deadline. */
  setInterval<A extends unknown[]> (fn: (...args: A) => unknown, ms?: number, ...args: A): number
  /** Enqueues `fn(...args)` as a macrotask at once (after what is already queued). */
  setImmediate<A extends unknown[]> (fn: (...args: A) => unknown, ...args: A): number
  /** Cancels a timeout; true when it was pending. */
  clearTimeout (id: number | undefined | null): boolean
  /** Cancels an interval; true when it was pending. */
  clearInterval (id: number | undefined | null): boolean
  /** Cancels an immediate that has not run; true when it was queued. */
  clearImmediate (id: number | undefined | null): boolean
}

/** Installs seqloop's fake timers on the global object (see `seqloop/fake-timers`). */
export { install, withGlobal } from './fake-timers'

/** A slot handle of ShardedWorkers (`slotIndex` is the slot's index in its node's region). */
export interface SlotHandleLike {
  nodeId: number
  slotIndex: number
  generation: number
}

/** A slot from `allocate`: its handle and a view of its memory (detached when sent). */
export interface WorkerSlot {
  handle: SlotHandleLike
  buffer: Uint8Array
}

/** What a message handler gets besides key and view. */
export interface MessageMeta {
  shardId: number
  globalSeq: number
  shardSeq: number
  handle: SlotHandleLike
}

/** In a worker: a message handler's meta can also keep its slot. */
export interface WorkerMessageMeta extends MessageMeta {
  /** Keeps the slot (and the view) past the handler; free it with `shard.free(meta)`. */
  retain(): void
}

/** A run of received messages in consecutive slots. */
export interface WorkerBatch {
  count: number
  keys: string[]
  /** A window over the slots, valid only while the handler runs. */
  bytes: Uint8Array
  offsets: Uint32Array
  lengths: Uint32Array
  globalSeqs: Float64Array
  shardSeqs: Float64Array
  shardId: number
}

/** Options of `ShardedWorkers.start`. */
export interface ShardedWorkersOptions {
  /** Default: one per core of the topology. */
  shards?: number
  /** Default: `ReactorTopologySnapshot.detect()`. */
  topology?: import('../index').ReactorTopologySnapshot
  /** Default `'strict'`. */
  enforcement?: 'strict' | 'advisory' | 'disabled'
  /** Messages per lane (default 1024). */
  laneCapacity?: number
  /** Bytes per slot (default 512). */
  entrySizeBytes?: number
  /** Slots per shard and direction (default 4096). */
  slabCapacity?: number
  /** Keep traces of the producer's sends and each shard's handled sequence (default false). */
  record?: boolean
  /** Given to every worker as `shard.workerData`. */
  workerData?: unknown
}

/** Per-shard telemetry of ShardedWorkers. */
export interface ShardedWorkersShardTelemetry {
  shardId: number
  handled: number
  coreId: number
  numaNode: number
  /** The NUMA node of the shard's slot memory. */
  memoryNode: number
  pinned: boolean
  alive: boolean
  sentBack: number
  /** Slots of this shard's two partitions in use (queued, being handled, retained or allocated). */
  slotsInUse: number
}

export interface ShardedWorkersTelemetry {
  queueDepths: number[]
  maxQueueDepths: number[]
  rejectedEnqueues: number[]
  shardBindings: Array<{ shardId: number; coreId: number; numaNode: number }>
  fallbackReason: string | null
  shards: ShardedWorkersShardTelemetry[]
  asJson(): Record<string, unknown>
}

/** Key-affine shards on pinned worker threads, messages in shared NUMA slab memory (API.md §8). */
export declare class ShardedWorkers {
  private constructor()
  /** `'error'`: a handler's error (`shardId`, `globalSeq`, `shardSeq`, `key`) or `ERR_WORKER_EXITED`. */
  on(event: 'error', listener: (err: Error & { code?: string; shardId: number; globalSeq?: number }) => void): this
  once(event: 'error', listener: (err: Error & { code?: string; shardId: number; globalSeq?: number }) => void): this
  off(event: 'error', listener: (err: Error) => void): this
  static start(workerFile: string | URL, options?: ShardedWorkersOptions): Promise<ShardedWorkers>
  readonly shardCount: number
  readonly manifest: import('../index').ReactorPlacementManifest
  shardFor(key: string): number
  allocate(key: string): WorkerSlot | null
  send(key: string, slot: WorkerSlot | SlotHandleLike, length?: number): void
  trySend(key: string, slot: WorkerSlot | SlotHandleLike, length?: number): boolean
  sendBytes(key: string, bytes: ArrayBufferView | ArrayBuffer): void
  sendBatch(keys: string[], bytes: ArrayBufferView | ArrayBuffer, lengths: ArrayLike<number>): number
  onMessage(fn: (key: string, view: Uint8Array, meta: MessageMeta) => void): this
  onBatch(fn: (batch: WorkerBatch) => void): this
  undelivered(shardId: number): Array<{ key: string; bytes: Uint8Array; globalSeq: number }>
  restart(shardId: number): Promise<void>
  telemetry(): ShardedWorkersTelemetry
  trace(shardId?: number): import('../index').Trace
  close(): Promise<{ handled: number; undelivered: Array<{ shardId: number; key: string; bytes: Uint8Array; globalSeq: number }> }>
}
