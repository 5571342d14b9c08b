'use strict'
// Jest's own fake-timer API (`jest.*` and the `fakeTimers` config) on seqloop's clock. Run by
// both Jest routes: `testEnvironment: 'seqloop/jest-environment'` (../jest/jest.config.js) and
// the README's `@sinonjs/fake-timers` override (override/jest.config.js).

// Jest's registry gives the test its own instance of seqloop/fake-timers, while the clock behind
// `jest.useFakeTimers()` comes from the instance Node loaded for the environment (or the override
// shim): two copies of one class, with the same prototype methods. Sinon's clock is a plain
// object, so this cannot pass on Jest's own fake timers.
const SEQLOOP_CLOCK = Object.getPrototypeOf(require('seqloop/fake-timers').createClock())
const methodsOf = (proto) => Object.getOwnPropertyNames(proto).sort()

function expectSeqloopClock (clock) {
  expect(clock).toBeDefined()
  expect(clock.constructor.name).toBe(SEQLOOP_CLOCK.constructor.name)
  expect(methodsOf(Object.getPrototypeOf(clock))).toEqual(methodsOf(SEQLOOP_CLOCK))
}

/** The clock behind the faked globals, checked to be a seqloop clock (not sinon's). */
function currentClock () {
  const clock = setTimeout.clock
  expectSeqloopClock(clock)
  return clock
}

const runnerTimerCases = require('../fixtures/runner_timer_cases.js')
const { stopsAtLoopLimit, extensionCases } = runnerTimerCases

afterEach(() => {
  // Whatever a test faked ran on seqloop (checked after restoring, so a failure does not cascade).
  const clock = setTimeout.clock ?? Date.clock
  jest.useRealTimers()
  if (clock !== undefined) expectSeqloopClock(clock)
})

describe('seqloop is the clock', () => {
  test('useFakeTimers installs a seqloop clock on every faked global', () => {
    jest.useFakeTimers()
    const clock = currentClock()
    expect(Date.clock).toBe(clock)
    expect(setInterval.clock).toBe(clock)
    expect(setImmediate.clock).toBe(clock)
    const id = setTimeout(() => {}, 10)
    expect(clock.countTimers()).toBe(1)
    expect(jest.getTimerCount()).toBe(1)
    clearTimeout(id)
    expect(clock.countTimers()).toBe(0)
  })

  test('useRealTimers puts the real functions back', () => {
    const realSetTimeout = setTimeout
    const RealDate = Date
    jest.useFakeTimers()
    expect(setTimeout).not.toBe(realSetTimeout)
    jest.useRealTimers()
    expect(setTimeout).toBe(realSetTimeout)
    expect(Date).toBe(RealDate)
    expect(setTimeout.clock).toBeUndefined()
  })

  test('a second useFakeTimers replaces the clock instead of failing', () => {
    jest.useFakeTimers()
    const first = currentClock()
    jest.useFakeTimers()
    const second = currentClock()
    expect(second).not.toBe(first)
  })
})

describe('jest.* timer methods', () => {
  beforeEach(() => {
    jest.useFakeTimers({ now: 1_000_000 })
  })

  runnerTimerCases({ api: jest, test, expect, start: 1_000_000 })

  test('advanceTimersToNextTimer(steps) jumps timer by timer', () => {
    const log = []
    setTimeout(() => log.push(10), 10)
    setTimeout(() => log.push(30), 30)
    setTimeout(() => log.push(60), 60)
    jest.advanceTimersToNextTimer()
    expect(log).toEqual([10])
    expect(Date.now()).toBe(1_000_010)
    jest.advanceTimersToNextTimer(2)
    expect(log).toEqual([10, 30, 60])
    expect(Date.now()).toBe(1_000_060)
  })

  test('advanceTimersToNextTimerAsync(steps) awaits each step', async () => {
    const log = []
    setTimeout(async () => { await null; log.push('a') }, 10)
    setTimeout(() => log.push('b'), 20)
    await jest.advanceTimersToNextTimerAsync(1)
    expect(log).toEqual(['a'])
    await jest.advanceTimersToNextTimerAsync(5)
    expect(log).toEqual(['a', 'b'])
  })

  test('runAllTicks drains faked process.nextTick callbacks', () => {
    const log = []
    process.nextTick(() => log.push('tick'))
    expect(log).toEqual([])
    jest.runAllTicks()
    expect(log).toEqual(['tick'])
  })

  test('now follows the fake clock and setSystemTime', () => {
    expect(jest.now()).toBe(1_000_000)
    jest.advanceTimersByTime(5)
    expect(jest.now()).toBe(1_000_005)
    jest.setSystemTime(Date.UTC(2030, 0, 1))
    expect(jest.now()).toBe(Date.UTC(2030, 0, 1))
  })

  test('setTimerTickMode nextAsync runs timers without explicit ticks', async () => {
    const fired = new Promise((resolve) => setTimeout(() => resolve(Date.now()), 5000))
    jest.setTimerTickMode({ mode: 'nextAsync' })
    expect(await fired).toBe(1_005_000)
    jest.setTimerTickMode({ mode: 'manual' })
  })

  test('fake Date, performance.now and hrtime follow the clock', () => {
    const p0 = performance.now()
    const h0 = process.hrtime.bigint()
    jest.advanceTimersByTime(250)
    expect(performance.now() - p0).toBe(250)
    expect(process.hrtime.bigint() - h0).toBe(250_000_000n)
    expect(new Date().getTime()).toBe(1_000_250)
  })
})

describe('fakeTimers config', () => {
  test('doNotFake leaves the listed APIs real', () => {
    const realNextTick = process.nextTick
    const realPerformance = performance
    jest.useFakeTimers({ doNotFake: ['nextTick', 'performance', 'setImmediate'] })
    currentClock()
    expect(process.nextTick).toBe(realNextTick)
    expect(performance).toBe(realPerformance)
    expect(setImmediate.clock).toBeUndefined()
    expect(setInterval.clock).toBe(setTimeout.clock)
  })

  test('advanceTimers: true lets the fake clock follow real time', async () => {
    jest.useFakeTimers({ advanceTimers: true })
    currentClock()
    // No jest.advance* call: only the clock's own real-time advancing can fire this.
    const firedAt = await new Promise((resolve) => setTimeout(() => resolve(true), 30))
    expect(firedAt).toBe(true)
  })

  test('advanceTimers: <delta> advances the fake clock in steps of delta', async () => {
    jest.useFakeTimers({ advanceTimers: 7, now: 0 })
    currentClock()
    await new Promise((resolve) => setTimeout(resolve, 30))
    const now = Date.now()
    expect(now).toBeGreaterThanOrEqual(30)
    expect(now % 7).toBe(0)
  })

  test('timerLimit bounds runAllTimers on a timer that keeps re-arming', () => {
    jest.useFakeTimers({ timerLimit: 50 })
    stopsAtLoopLimit({ api: jest, expect, limit: 50 })
  })

  test('now sets the start of the fake clock', () => {
    jest.useFakeTimers({ now: new Date('2001-02-03T04:05:06Z') })
    expect(Date.now()).toBe(Date.UTC(2001, 1, 3, 4, 5, 6))
  })
})

describe("seqloop's extensions under Jest", () => {
  extensionCases({ api: jest, test, expect, currentClock, keepReal: { doNotFake: ['AbortSignal'] } })
})
