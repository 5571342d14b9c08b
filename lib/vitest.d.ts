import type { Clock } from './fake-timers'

/** Vitest's FakeTimers (the object behind `vi`'s timer methods) on seqloop's clock. */
export declare class ViTimers {
  /** `vitestVersion`: follow that Vitest release's rules where 5.x releases differ (default: the latest's). */
  constructor(options?: { global?: object; config?: object | null; vitestVersion?: string })
  /** The installed seqloop clock, or null when nothing is faked. */
  readonly clock: Clock | null
  configure(config: object | null | undefined): void
  useFakeTimers(): void
  useRealTimers(): void
  dispose(): void
  isFakeTimers(): boolean
  runAllTimers(): void
  runAllTimersAsync(): Promise<void>
  runOnlyPendingTimers(): void
  runOnlyPendingTimersAsync(): Promise<void>
  advanceTimersByTime(ms: number): void
  advanceTimersByTimeAsync(ms: number): Promise<void>
  advanceTimersToNextTimer(steps?: number): void
  advanceTimersToNextTimerAsync(steps?: number): Promise<void>
  advanceTimersToNextFrame(): void
  runAllTicks(): void
  reset(): void
  setSystemTime(time?: number | string | Date | { epochMilliseconds: number }): void
  getMockedSystemTime(): Date | null
  getRealSystemTime(): number
  getTimerCount(): number
  clearAllTimers(): void
  setTimerTickMode(mode: 'manual' | 'nextTimerAsync'): void
  setTimerTickMode(mode: 'interval', interval?: number): void
}

export interface UseSeqloopTimersOptions {
  /** The global object to fake (default: globalThis). */
  global?: object
  /** Returns the project's `test.fakeTimers` config (default: read from Vitest's worker state). */
  config?: () => object | null | undefined
  /** The running Vitest's version, whose rules to follow where 5.x releases differ (default: the latest's). */
  vitestVersion?: string
}

/**
 * Makes the timer methods of Vitest's `vi` run on a seqloop clock (idempotent per `vi`).
 * Importing `seqloop/vitest` (e.g. from `test.setupFiles`) does this for Vitest's own `vi`.
 * Throws an Error with code `ERR_UNSUPPORTED_RUNNER` when `vi` lacks the expected methods.
 */
export declare function useSeqloopTimers(vi: object, options?: UseSeqloopTimersOptions): ViTimers
/** The seqloop clock behind `vi` (default: the `vi` set up last), or null when not faking. */
export declare function currentClock(vi?: object): Clock | null
/** Throws `ERR_UNSUPPORTED_RUNNER` unless `version` is a supported Vitest release (5.x). */
export declare function checkVersion(version: string): void
