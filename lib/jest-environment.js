'use strict'
// `testEnvironment: 'seqloop/jest-environment'`: Jest's Node environment with its modern fake
// timers running on seqloop's clock.
//
// How: `jest-environment-node` builds `this.fakeTimersModern`, an `@jest/fake-timers`
// ModernFakeTimers, which keeps the result of `withGlobal(global)` of `@sinonjs/fake-timers` in
// its `_fakeTimers` field and calls only `.timers` and `.install(config)` on it (Jest 27 to 30).
// Putting seqloop's `withGlobal(global)` there makes `jest.useFakeTimers()`, every `jest.*` timer
// method and the `fakeTimers` config (`doNotFake`, `advanceTimers`, `timerLimit`, `now`) run on a
// seqloop clock, with Jest's own code deciding what each call means. If a Jest release moves that
// field, the constructor throws `ERR_UNSUPPORTED_RUNNER` instead of silently using sinon.
// `legacyFakeTimers: true` keeps Jest's legacy implementation, which has no clock to replace.

const { withGlobal } = require('./fake-timers')

function loadNodeEnvironment () {
  let mod
  try {
    mod = require('jest-environment-node')
  } catch (err) {
    const e = new Error("seqloop/jest-environment needs the 'jest-environment-node' package (npm i -D jest-environment-node)", { cause: err })
    e.code = 'ERR_UNSUPPORTED_RUNNER'
    throw e
  }
  const NodeEnvironment = mod.TestEnvironment || mod.default || mod
  if (typeof NodeEnvironment !== 'function') {
    const e = new Error('seqloop/jest-environment: jest-environment-node exports no environment class')
    e.code = 'ERR_UNSUPPORTED_RUNNER'
    throw e
  }
  return NodeEnvironment
}

/**
 * Puts seqloop's `withGlobal(global)` into a ModernFakeTimers object from `@jest/fake-timers`.
 * Returns `timers`; throws `ERR_UNSUPPORTED_RUNNER` when the object does not have the shape this
 * relies on (a `_fakeTimers` field holding `{ timers, install }`, and the clock methods).
 */
function useSeqloopClock (timers, global) {
  const ok = timers !== null && typeof timers === 'object' &&
    timers._fakeTimers !== null && typeof timers._fakeTimers === 'object' &&
    typeof timers._fakeTimers.install === 'function' && typeof timers._fakeTimers.timers === 'object' &&
    typeof timers.useFakeTimers === 'function' && typeof timers.useRealTimers === 'function'
  if (!ok) {
    const e = new Error('seqloop/jest-environment: this Jest version keeps its modern fake timers differently ' +
      '(no ModernFakeTimers._fakeTimers); supported: Jest 27 to 30. Use the @sinonjs/fake-timers override ' +
      'recipe from the README instead.')
    e.code = 'ERR_UNSUPPORTED_RUNNER'
    throw e
  }
  if (timers._fakingTime) timers.useRealTimers()
  timers._fakeTimers = withGlobal(global)
  return timers
}

const NodeEnvironment = loadNodeEnvironment()

class SeqloopEnvironment extends NodeEnvironment {
  constructor (config, context) {
    super(config, context)
    useSeqloopClock(this.fakeTimersModern, this.global)
  }
}

module.exports = SeqloopEnvironment
module.exports.TestEnvironment = SeqloopEnvironment
module.exports.default = SeqloopEnvironment
module.exports.useSeqloopClock = useSeqloopClock
