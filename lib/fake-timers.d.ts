// Types of `seqloop/fake-timers`: the module shape of @sinonjs/fake-timers 15, backed by
// seqloop's native TimerQueue. Default semantics are sinon's; `semantics: 'node'` opts into
// Node's (README.md, "Fake timers").

/** 'sinon' (the default: behaves as @sinonjs/fake-timers 15) or 'node' (behaves as Node's timers). */
export type Semantics = 'sinon' | 'node'

/**
 * What `install` can fake (`toFake` / `toNotFake` entries). 'AbortSignal' (seqloop's extension,
 * faked by default in both modes) puts `AbortSignal.timeout` on the fake clock.
 */
export type FakeMethod =
  | 'setTimeout' | 'clearTimeout' | 'setImmediate' | 'clearImmediate' | 'setInterval' | 'clearInterval'
  | 'Date' | 'nextTick' | 'hrtime' | 'requestAnimationFrame' | 'cancelAnimationFrame'
  | 'requestIdleCallback' | 'cancelIdleCallback' | 'performance' | 'queueMicrotask' | 'Intl' | 'Temporal'
  | 'AbortSignal'

/** A Temporal.Duration, or anything with its `total()`: read as `total({ unit: 'millisecond' })`. */
export interface TemporalDurationLike { total(options: { unit: 'millisecond'; relativeTo?: unknown }): number }

/**
 * A tick value: milliseconds (fractions accumulate as nanoseconds), "ss", "mm:ss", "hh:mm:ss", or a
 * Temporal.Duration.
 */
export type TickValue = number | string | TemporalDurationLike

/** The kind of a pending timer. */
export type TimerType = 'Timeout' | 'Interval' | 'Immediate' | 'AnimationFrame' | 'IdleCallback'

/**
 * A fake timer. In Node it is also the handle `setTimeout`/`setInterval`/`setImmediate` return,
 * shaped like Node's `Timeout`; `+handle` (or `Number(handle)`) is its numeric id, which the clear
 * functions accept too.
 */
export interface FakeTimer {
  /** Numeric id (>= 1e12, so it never collides with Node's own timer ids). */
  readonly id: number
  readonly type: TimerType
  readonly func: (...args: any[]) => unknown
  readonly args: unknown[]
  /** Delay after coercion (ms): sinon's by default, Node's with `semantics: 'node'`. */
  readonly delay: number
  /** Repeat period of an interval (ms), else undefined (NaN for a sinon interval set with a non-number). */
  readonly interval: number | undefined
  /** Fake epoch time the timer is due at. */
  readonly callAt: number
  /** Fake epoch time the timer was created (or last re-armed) at. */
  readonly createdAt: number
  /** Mirrors `hasRef()`. */
  readonly refed: boolean
  /** Marks the timer as keeping the (fake) loop alive; no effect on real Node. Returns itself. */
  ref(): this
  /** Opposite of `ref()`. Returns itself. */
  unref(): this
  hasRef(): boolean
  /** Re-arms the timer `delay` ms from now, even after it fired. Returns itself. */
  refresh(): this
  /** Clears the timer. Returns itself. */
  close(): this
  [Symbol.toPrimitive](): number
}

/** What `setTimeout` etc. return: the handle in Node, the numeric id for number-based globals. */
export type TimerId = number | FakeTimer

/** The function that created a pending timer, as `clock.pending()` names it. */
export type PendingKind =
  | 'setTimeout' | 'setInterval' | 'setImmediate' | 'requestAnimationFrame' | 'requestIdleCallback'
  | 'AbortSignal.timeout'

/** A pending timer as `clock.pending()` and `ERR_PENDING_TIMERS`'s `.pending` list it. */
export interface PendingTimer {
  /** The timer's numeric id (`+handle`). */
  id: number
  kind: PendingKind
  /** Delay after coercion (ms); an interval's period. */
  delay: number
  /** Fake epoch time it is due at. */
  callAt: number
  /**
   * Where it was created: the stack frames outside seqloop, one per line (`at fn (file:line:col)`),
   * or null when the site was not captured (see `InstallConfig.captureSites`).
   */
  createdAt: string | null
}

/** `.timer` of an `ERR_LOOP_LIMIT` error: the timer (or faked microtask) that kept re-arming. */
export interface LoopLimitTimer {
  /** Its callback's name ('anonymous' when it has none). */
  name: string
  /** Its delay (ms); 0 for a microtask. */
  delay: number
  /** Where it was created, as in `PendingTimer.createdAt`. */
  createdAt: string | null
}

/** The error `uninstall()` throws with `failOnPending: true` when timers are left. */
export interface PendingTimersError extends Error {
  code: 'ERR_PENDING_TIMERS'
  /** The ref'd timers left, in creation order. */
  pending: PendingTimer[]
}

/** The error a run past the loop limit throws. */
export interface LoopLimitError extends Error {
  code: 'ERR_LOOP_LIMIT'
  timer?: LoopLimitTimer
}

/** The deadline passed to `requestIdleCallback` callbacks. */
export interface IdleDeadline {
  didTimeout: boolean
  timeRemaining(): number
}

/** `Date` bound to a clock: `new Date()`, `Date()` and `Date.now()` read the fake time. */
export type ClockDate = DateConstructor & { readonly clock: Clock; readonly isFake: true }

/** How the clock advances by itself (`setTickMode`). */
export interface TickModeConfig {
  /** 'manual' (default), 'interval' (advance `delta` ms every `delta` real ms) or 'nextAsync'
   * (keep running the next timer, yielding to the real event loop in between). */
  mode: 'manual' | 'interval' | 'nextAsync'
  /** Interval length in ms for 'interval' (default 20). */
  delta?: number
}

/** A virtual clock with the timer API of the host and methods that move time. */
export interface Clock {
  /** Current fake time, epoch ms. Assigning it is `setSystemTime(value)`. */
  now: number
  /** The semantics the clock was made with. */
  readonly semantics: Semantics
  /** The pending timers by id (a new Map on each read). */
  readonly timers: Map<number, FakeTimer>
  /** Whether clear functions given a native timer clear it (else they warn once). */
  shouldClearNativeTimers: boolean
  /** Max timers `runAll`/`runAllAsync` (and faked microtasks) run before throwing. Default 1000. */
  loopLimit: number
  /** Names faked by `install` (empty for `createClock`). */
  methods: FakeMethod[]
  Date: ClockDate
  Intl: typeof Intl & { clock: Clock }
  /** The global's `Temporal` with `Now` on this clock (present only where the global has Temporal). */
  Temporal?: { Now: unknown; [name: string]: unknown }
  /** `performance.now()`: ms since the clock started, with sub-millisecond ticks (installed: also
   * no-op methods of the real prototype, `mark`/`measure` entries, `getEntries*` returning []). */
  performance: { now(): number; [name: string]: unknown }
  /** Listeners the fake `timers/promises` functions attached (installed clocks only). */
  abortListenerMap?: Map<() => void, AbortSignal>

  setTimeout<A extends unknown[]>(callback: (...args: A) => void, delay?: number, ...args: A): TimerId
  clearTimeout(id: TimerId | string | null | undefined): void
  setInterval<A extends unknown[]>(callback: (...args: A) => void, delay?: number, ...args: A): TimerId
  clearInterval(id: TimerId | string | null | undefined): void
  setImmediate<A extends unknown[]>(callback: (...args: A) => void, ...args: A): TimerId
  clearImmediate(id: TimerId | string | null | undefined): void
  /** Fires on the next 16 ms frame boundary with the frame time (ms since the clock started). */
  requestAnimationFrame(callback: (time: number) => void): number
  cancelAnimationFrame(id: number): void
  /** Fires after `options.timeout` ms; without one, after the other timers due at the same time. */
  requestIdleCallback(callback: (deadline: IdleDeadline) => void, options?: { timeout?: number }): number
  cancelIdleCallback(id: number): void
  /** Fake `process.nextTick`: queued until the clock runs microtasks (see `runMicrotasks`). */
  nextTick<A extends unknown[]>(callback: (...args: A) => void, ...args: A): void
  /** Fake `queueMicrotask`, same queue as `nextTick`. */
  queueMicrotask(callback: () => void): void
  /** `process.hrtime` of the fake clock (time since the clock started). */
  hrtime: ((prev?: [number, number]) => [number, number]) & { bigint(): bigint }

  /** Pending timers, immediates, frames, idle callbacks and fake microtasks. */
  countTimers(): number
  /** The pending timers (not the fake microtasks), in creation order, with where each was created. */
  pending(): PendingTimer[]
  /** Runs the fake `nextTick`/`queueMicrotask` queue. */
  runMicrotasks(): void
  /**
   * Advances time by `time`, firing every timer due on the way in (deadline, creation) order,
   * each with `now` at its deadline; timers they create within the range fire too. If callbacks
   * throw, the rest still run and the first error is rethrown. Returns the new `now`.
   */
  tick(time?: TickValue): number
  /** `tick` that runs each timer in its own real macrotask (original `setImmediate`), so promise
   * reactions settle between timers (with `semantics: 'node'`, in Node's nextTick/microtask order). */
  tickAsync(time?: TickValue): Promise<number>
  /** Advances to the first pending timer and fires it. Returns `now`. */
  next(): number
  nextAsync(): Promise<number>
  /** Runs timers until none is left; throws after `loopLimit` timers. Returns `now`. */
  runAll(): number
  runAllAsync(): Promise<number>
  /** Advances to the last timer pending now, firing what is due on the way. Returns `now`. */
  runToLast(): number
  runToLastAsync(): Promise<number>
  /** Advances to the next 16 ms frame boundary. Returns `now`. */
  runToFrame(): number
  /** Jumps forward firing each due timer once, all at the new time. Returns `now`. */
  jump(time: TickValue): number
  /** Drops all timers and microtasks and returns to the start time. */
  reset(): void
  /** Changes `now` and `Date` without moving timers, `performance.now` or `hrtime`. */
  setSystemTime(now?: number | Date | { epochMilliseconds: number }): void
  /** Switches how the clock advances by itself. */
  setTickMode(config: TickModeConfig): void
  /**
   * Restores every faked global exactly; returns the timers still pending. Installed with
   * `failOnPending: true`, it then throws a `PendingTimersError` when ref'd timers are left.
   */
  uninstall(): FakeTimer[]
}

/** Options of `install`. */
export interface InstallConfig {
  /** Start time (epoch ms or a Date). Default 0. */
  now?: number | Date | { epochMilliseconds: number }
  /** Only these are faked (an empty list: everything). Default: everything available (with
   * `semantics: 'node'`, everything but `nextTick` and `queueMicrotask`). At most 1024 entries. */
  toFake?: FakeMethod[]
  /** Everything available except these is faked. Cannot be combined with `toFake`. */
  toNotFake?: FakeMethod[]
  /** See `Clock.loopLimit`. Default 1000. */
  loopLimit?: number
  /** Advance fake time by `advanceTimeDelta` every `advanceTimeDelta` real ms. */
  shouldAdvanceTime?: boolean
  /** Default 20. */
  advanceTimeDelta?: number
  /** Clear functions also clear native (real) timers instead of warning. */
  shouldClearNativeTimers?: boolean
  /** Names in `toFake` that the global lacks are skipped instead of throwing. */
  ignoreMissingTimers?: boolean
  /** Default: the `withGlobal` default, 'sinon' for the module's own exports. */
  semantics?: Semantics
  /** No longer supported (throws, as sinon 15): use `withGlobal(target).install()`. */
  target?: never
  /**
   * `uninstall()` restores the globals, then throws `ERR_PENDING_TIMERS` (a `PendingTimersError`)
   * when timers other than unref'd ones are left. Implies `captureSites`. Default false.
   */
  failOnPending?: boolean
  /** Keep every timer's creation site (`createdAt`), at ~1 µs a timer. Default false. */
  captureSites?: boolean
}

/** Options of `createClock` (third argument) and `withGlobal` (second argument). */
export interface ClockOptions {
  semantics?: Semantics
  /** `createClock` only: keep every timer's creation site (see `InstallConfig.captureSites`). */
  captureSites?: boolean
}

/** The original (real) timer functions, captured when the module (or `withGlobal`) ran. */
export interface Timers {
  setTimeout: (callback: (...args: any[]) => void, delay?: number, ...args: any[]) => unknown
  clearTimeout: (id?: unknown) => void
  setInterval: (callback: (...args: any[]) => void, delay?: number, ...args: any[]) => unknown
  clearInterval: (id?: unknown) => void
  Date: DateConstructor
  setImmediate?: (callback: (...args: any[]) => void, ...args: any[]) => unknown
  clearImmediate?: (id?: unknown) => void
  hrtime?: ((prev?: [number, number]) => [number, number]) & { bigint(): bigint }
  nextTick?: (callback: (...args: any[]) => void, ...args: any[]) => void
  performance?: { now(): number }
  queueMicrotask?: (callback: () => void) => void
  Intl?: typeof Intl
  Temporal?: unknown
  /** The real `AbortSignal.timeout` (where the global has one). */
  AbortSignal?: { timeout(delay: number): AbortSignal }
  [name: string]: unknown
}

/** The module's four exports, bound to one global object. */
export interface FakeTimers {
  timers: Timers
  createClock(now?: number | Date | { epochMilliseconds: number }, loopLimit?: number, options?: ClockOptions): Clock
  install(config?: InstallConfig): Clock
  withGlobal(globalObject: object, options?: ClockOptions): FakeTimers
}

/** The real timers of `globalThis`. */
export declare const timers: Timers
/** A clock that fakes nothing global; use its methods directly. */
export declare function createClock(now?: number | Date | { epochMilliseconds: number }, loopLimit?: number, options?: ClockOptions): Clock
/** Replaces the globals (and the `timers`, `timers/promises` modules) with a new clock's. */
export declare function install(config?: InstallConfig): Clock
/** The same four exports for another global (a vm context, a jsdom window, a plain object). */
export declare function withGlobal(globalObject: object, options?: ClockOptions): FakeTimers
