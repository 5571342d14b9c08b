// Vitest's own fake-timer API (`vi.*` and the `fakeTimers` config) on seqloop's clock, through
// `setupFiles: ['seqloop/vitest']` only: this file never imports seqloop/vitest.
import { createRequire } from 'node:module'
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest'
import runnerTimerCases, { stopsAtLoopLimit, extensionCases } from '../fixtures/runner_timer_cases.js'

// Node's own require: the seqloop module instance the setup file loaded, so its clock class can be
// compared by identity. Vitest's bundled sinon clock is a plain object and fails this.
const seqloop = createRequire(import.meta.url)('seqloop/fake-timers')
const SEQLOOP_CLOCK = Object.getPrototypeOf(seqloop.createClock())
const realSetImmediate = setImmediate

function currentClock () {
  const clock = setTimeout.clock
  expect(clock).toBeDefined()
  expect(Object.getPrototypeOf(clock)).toBe(SEQLOOP_CLOCK)
  return clock
}

afterEach(() => {
  // Whatever a test faked ran on seqloop (checked after restoring, so a failure does not cascade).
  const faking = vi.isFakeTimers() || vi.getMockedSystemTime() !== null
  const clock = setTimeout.clock ?? Date.clock
  vi.useRealTimers()
  vi.resetConfig()
  if (faking) expect(Object.getPrototypeOf(clock)).toBe(SEQLOOP_CLOCK)
})

describe('seqloop is the clock', () => {
  test('useFakeTimers installs a seqloop clock; isFakeTimers and useRealTimers', () => {
    const realSetTimeout = setTimeout
    const RealDate = Date
    expect(vi.isFakeTimers()).toBe(false)
    expect(vi.useFakeTimers()).toBe(vi)
    expect(vi.isFakeTimers()).toBe(true)
    const clock = currentClock()
    expect(Date.clock).toBe(clock)
    expect(setInterval.clock).toBe(clock)
    setTimeout(() => {}, 10)
    expect(clock.countTimers()).toBe(1)
    expect(vi.useRealTimers()).toBe(vi)
    expect(vi.isFakeTimers()).toBe(false)
    expect(setTimeout).toBe(realSetTimeout)
    expect(Date).toBe(RealDate)
  })

  test('by default nextTick and queueMicrotask stay real, everything else is faked', () => {
    const { nextTick } = process
    const realQueueMicrotask = queueMicrotask
    vi.useFakeTimers()
    const clock = currentClock()
    expect(process.nextTick).toBe(nextTick)
    expect(queueMicrotask).toBe(realQueueMicrotask)
    for (const fn of [setImmediate, clearImmediate, clearTimeout, clearInterval]) expect(fn.clock).toBe(clock)
    expect(typeof performance.now).toBe('function')
    expect(performance.now()).toBe(0)
  })

  test('advancing without fake timers throws Vitest\'s error', () => {
    expect(() => vi.advanceTimersByTime(10)).toThrow('the timers APIs are not mocked')
    expect(() => vi.runAllTimers()).toThrow('Call `vi.useFakeTimers()` in the test file first.')
    expect(() => vi.getTimerCount()).toThrow('the timers APIs are not mocked')
  })
})

describe('vi.* timer methods', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_000_000 })
  })

  runnerTimerCases({ api: vi, test, expect, start: 1_000_000 })

  test('the methods return vi, for chaining', async () => {
    for (const name of ['advanceTimersByTime', 'advanceTimersToNextTimer', 'advanceTimersToNextFrame', 'runAllTimers',
      'runOnlyPendingTimers', 'runAllTicks', 'clearAllTimers', 'setSystemTime', 'useFakeTimers']) {
      expect(vi[name](0), name).toBe(vi)
    }
    for (const name of ['advanceTimersByTimeAsync', 'advanceTimersToNextTimerAsync', 'runAllTimersAsync', 'runOnlyPendingTimersAsync']) {
      expect(await vi[name](0), name).toBe(vi)
    }
    expect(vi.useRealTimers()).toBe(vi)
  })

  test('advanceTimersToNextTimer runs the next timer and all due with it', () => {
    const log = []
    setTimeout(() => log.push('a1'), 10)
    setTimeout(() => log.push('a2'), 10)
    setTimeout(() => log.push('b'), 30)
    vi.advanceTimersToNextTimer()
    expect(log).toEqual(['a1', 'a2'])
    expect(Date.now()).toBe(1_000_010)
    vi.advanceTimersToNextTimer().advanceTimersToNextTimer() // chainable; the second finds nothing
    expect(log).toEqual(['a1', 'a2', 'b'])
    expect(Date.now()).toBe(1_000_030)
  })

  test('advanceTimersToNextTimerAsync awaits the step', async () => {
    const log = []
    setTimeout(async () => { await null; log.push('a') }, 10)
    setTimeout(() => log.push('b'), 20)
    await vi.advanceTimersToNextTimerAsync()
    expect(log).toEqual(['a'])
    await vi.advanceTimersToNextTimerAsync()
    expect(log).toEqual(['a', 'b'])
  })

  test('runAllTicks drains queueMicrotask callbacks when it is faked', () => {
    // (faking nextTick is refused in Vitest's default child-process pool)
    vi.useFakeTimers({ toFake: ['queueMicrotask', 'setTimeout'] })
    const log = []
    queueMicrotask(() => log.push('tick'))
    expect(log).toEqual([])
    vi.runAllTicks()
    expect(log).toEqual(['tick'])
  })

  test.runIf(!process.send)('runAllTicks drains faked process.nextTick callbacks (threads pool)', () => {
    vi.useFakeTimers({ toFake: ['nextTick', 'setTimeout'] })
    const log = []
    process.nextTick(() => log.push('tick'))
    expect(log).toEqual([])
    vi.runAllTicks()
    expect(log).toEqual(['tick'])
  })

  test.runIf(!!process.send)('faking nextTick in the child-process pool is refused, as Vitest does', () => {
    expect(() => vi.useFakeTimers({ toFake: ['nextTick'] })).toThrow('is not supported in node:child_process')
  })

  test('getMockedSystemTime is the fake now while faking', () => {
    vi.advanceTimersByTime(5)
    expect(vi.getMockedSystemTime().getTime()).toBe(1_000_005)
    vi.useRealTimers()
    expect(vi.getMockedSystemTime()).toBe(null)
  })

  test.runIf(typeof vi.setTimerTickMode === 'function')('setTimerTickMode', async () => {
    const fired = new Promise((resolve) => setTimeout(() => resolve(Date.now()), 5000))
    vi.setTimerTickMode('nextTimerAsync')
    expect(await fired).toBe(1_005_000)
    vi.setTimerTickMode('manual')
    const later = vi.fn()
    setTimeout(later, 1)
    await new Promise((resolve) => realSetImmediate(resolve)) // a real macrotask: nothing advances
    expect(later).not.toHaveBeenCalled()
    expect(() => vi.setTimerTickMode('sometimes')).toThrow('Invalid tick mode: sometimes')
  })
})

describe('setSystemTime without fake timers', () => {
  test('fakes Date only, then useFakeTimers starts from that date', () => {
    const realSetTimeout = setTimeout
    expect(vi.getMockedSystemTime()).toBe(null)
    vi.setSystemTime(new Date('2011-11-11T11:11:11Z'))
    expect(Date.now()).toBe(Date.UTC(2011, 10, 11, 11, 11, 11))
    expect(Date.clock).toBeDefined()
    expect(Object.getPrototypeOf(Date.clock)).toBe(SEQLOOP_CLOCK)
    expect(setTimeout).toBe(realSetTimeout)
    expect(vi.isFakeTimers()).toBe(false)
    vi.useFakeTimers()
    expect(Date.now()).toBe(Date.UTC(2011, 10, 11, 11, 11, 11))
    vi.advanceTimersByTime(1000)
    expect(new Date().toISOString()).toBe('2011-11-11T11:11:12.000Z')
  })

  test('a Temporal-like instant counts by its epochMilliseconds', () => {
    vi.useFakeTimers()
    vi.setSystemTime({ epochMilliseconds: 86_400_000 })
    expect(Date.now()).toBe(86_400_000)
  })
})

describe('fakeTimers config', () => {
  test('toFake fakes only the listed APIs', () => {
    const realSetInterval = setInterval
    const RealDate = Date
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    currentClock()
    expect(setInterval).toBe(realSetInterval)
    expect(Date).toBe(RealDate)
  })

  test('toNotFake keeps the listed APIs (and nextTick, queueMicrotask) real', () => {
    const RealDate = Date
    const { nextTick } = process
    vi.useFakeTimers({ toNotFake: ['Date'] })
    currentClock()
    expect(Date).toBe(RealDate)
    expect(process.nextTick).toBe(nextTick)
  })

  test('shouldAdvanceTime lets the fake clock follow real time', async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true })
    currentClock()
    // No vi.advance* call: only the clock's own real-time advancing can fire this.
    expect(await new Promise((resolve) => setTimeout(() => resolve('fired'), 30))).toBe('fired')
  })

  test('advanceTimeDelta sets the step of shouldAdvanceTime', async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true, advanceTimeDelta: 7, now: 0 })
    currentClock()
    await new Promise((resolve) => setTimeout(resolve, 30))
    expect(Date.now()).toBeGreaterThanOrEqual(30)
    expect(Date.now() % 7).toBe(0)
  })

  test('loopLimit from the project config bounds runAllTimers', () => {
    vi.useFakeTimers()
    stopsAtLoopLimit({ api: vi, expect, limit: 300 })
  })

  test('loopLimit given to useFakeTimers wins over the project config', () => {
    vi.useFakeTimers({ loopLimit: 20 })
    stopsAtLoopLimit({ api: vi, expect, limit: 20 })
  })

  test('vi.setConfig changes the config the next useFakeTimers reads', () => {
    vi.setConfig({ fakeTimers: { toFake: ['Date'] } })
    const realSetTimeout = setTimeout
    vi.useFakeTimers()
    expect(setTimeout).toBe(realSetTimeout)
    expect(Object.getPrototypeOf(Date.clock)).toBe(SEQLOOP_CLOCK)
  })

  test('now sets the start time', () => {
    vi.useFakeTimers({ now: new Date('2001-02-03T04:05:06Z') })
    expect(Date.now()).toBe(Date.UTC(2001, 1, 3, 4, 5, 6))
  })
})

describe("seqloop's extensions under Vitest", () => {
  extensionCases({ api: vi, test, expect, currentClock, keepReal: { toNotFake: ['AbortSignal'] } })
})
