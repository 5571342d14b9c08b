'use strict'
// `fakeTimers: { enableGlobally: true, now, doNotFake }` in the Jest config: every test file starts
// on a seqloop clock without calling jest.useFakeTimers() (see jest.config.js).
const SEQLOOP_CLOCK = Object.getPrototypeOf(require('seqloop/fake-timers').createClock())
const methodsOf = (proto) => Object.getOwnPropertyNames(proto).sort()

test('timers are fake from the start, on a seqloop clock, with the configured options', () => {
  const clock = setTimeout.clock
  expect(clock).toBeDefined()
  expect(clock.constructor.name).toBe(SEQLOOP_CLOCK.constructor.name)
  expect(methodsOf(Object.getPrototypeOf(clock))).toEqual(methodsOf(SEQLOOP_CLOCK))
  expect(Date.now()).toBe(Date.UTC(2020, 5, 15))
  expect(clock.methods).toContain('Date')
  expect(clock.methods).not.toContain('performance') // doNotFake: ['performance']
  const fn = jest.fn()
  setTimeout(fn, 1000)
  jest.advanceTimersByTime(999)
  expect(fn).not.toHaveBeenCalled()
  jest.advanceTimersByTime(1)
  expect(fn).toHaveBeenCalledTimes(1)
})

test('useRealTimers still restores the real functions', () => {
  const fake = setTimeout
  jest.useRealTimers()
  expect(setTimeout).not.toBe(fake)
  expect(setTimeout.clock).toBeUndefined()
})
