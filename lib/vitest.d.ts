import type { Clock } from './fake-timers'

/** The state behind `vi`'s timer methods once seqloop/vitest is set up. */
export interface SeqloopViTimers {
  /** The installed seqloop clock, or null when `vi` fakes nothing. */
  readonly clock: Clock | null
  isFakeTimers(): boolean
}

export interface UseSeqloopTimersOptions {
  /** The global object to fake (default: globalThis). */
  global?: object
  /** Returns the project's `test.fakeTimers` config (default: read from Vitest's worker state). */
  config?: () => object | null | undefined
}

/**
 * Makes the timer methods of Vitest's `vi` run on a seqloop clock (idempotent per `vi`).
 * Importing `seqloop/vitest` (e.g. from `test.setupFiles`) does this for Vitest's own `vi`.
 * Throws an Error with code `ERR_UNSUPPORTED_RUNNER` when `vi` lacks the expected methods.
 */
export declare function useSeqloopTimers(vi: object, options?: UseSeqloopTimersOptions): SeqloopViTimers
/** The seqloop clock behind `vi` (default: the `vi` set up last), or null when not faking. */
export declare function currentClock(vi?: object): Clock | null
/** Throws `ERR_UNSUPPORTED_RUNNER` unless `version` is a supported Vitest release (5.x). */
export declare function checkVersion(version: string): void
