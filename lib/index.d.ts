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
