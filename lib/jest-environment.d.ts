import { TestEnvironment as NodeEnvironment } from 'jest-environment-node'
import type { ModernFakeTimers } from '@jest/fake-timers'

/** `testEnvironment: 'seqloop/jest-environment'`: jest-environment-node with seqloop's clock. */
declare class SeqloopEnvironment extends NodeEnvironment {}

declare namespace SeqloopEnvironment {
  /**
   * Puts seqloop's `withGlobal(global)` into a ModernFakeTimers object (for custom environments,
   * e.g. one built on jest-environment-jsdom: call it with `this.fakeTimersModern, this.global`).
   * Throws an Error with code `ERR_UNSUPPORTED_RUNNER` when the object has another shape.
   */
  function useSeqloopClock (timers: ModernFakeTimers, global: object): ModernFakeTimers
  const TestEnvironment: typeof SeqloopEnvironment
}

export = SeqloopEnvironment
