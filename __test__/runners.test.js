'use strict'
// The runner adapters outside their runners: seqloop/vitest's `useSeqloopTimers` on a `vi`-shaped
// object, and seqloop/jest-environment's `useSeqloopClock` on @jest/fake-timers' ModernFakeTimers,
// including the ERR_UNSUPPORTED_RUNNER refusals. The runners themselves run in __test__/jest and
// __test__/vitest (scripts/ci-runners.sh).
const { test } = require('node:test')
const assert = require('node:assert/strict')
const { ModernFakeTimers } = require('@jest/fake-timers')

const seqloop = require('seqloop/fake-timers')
const { useSeqloopTimers, currentClock, checkVersion, ViTimers } = require('seqloop/vitest')
const { useSeqloopClock } = require('seqloop/jest-environment')

const SEQLOOP_CLOCK = Object.getPrototypeOf(seqloop.createClock())
const VI_METHODS = [
  'useFakeTimers', 'useRealTimers', 'isFakeTimers', 'advanceTimersByTime', 'advanceTimersByTimeAsync',
  'advanceTimersToNextTimer', 'advanceTimersToNextTimerAsync', 'runAllTimers', 'runAllTimersAsync',
  'runOnlyPendingTimers', 'runOnlyPendingTimersAsync', 'runAllTicks', 'getTimerCount', 'clearAllTimers',
  'setSystemTime', 'getMockedSystemTime', 'getRealSystemTime', 'advanceTimersToNextFrame', 'setTimerTickMode'
]
const unsupported = { code: 'ERR_UNSUPPORTED_RUNNER' }

/** A stand-in for Vitest's `vi`: every timer method throws, as if it still reached sinon. */
function fakeVi (names = VI_METHODS) {
  const vi = {}
  for (const name of names) vi[name] = () => { throw new Error(`original vi.${name} called`) }
  return vi
}

test('vitest: useSeqloopTimers drives a seqloop clock on the global with the project config', () => {
  const vi = fakeVi()
  let project = { loopLimit: 5 }
  const timers = useSeqloopTimers(vi, { config: () => project })
  assert.equal(useSeqloopTimers(vi), timers, 'idempotent per vi')
  assert.equal(currentClock(vi), null)
  const realSetTimeout = setTimeout
  assert.equal(vi.useFakeTimers({ now: 0, toFake: ['setTimeout', 'Date'] }), vi)
  try {
    const clock = currentClock(vi)
    assert.equal(Object.getPrototypeOf(clock), SEQLOOP_CLOCK)
    assert.equal(setTimeout.clock, clock)
    const log = []
    setTimeout(() => log.push(Date.now()), 30)
    assert.equal(vi.getTimerCount(), 1)
    vi.advanceTimersToNextTimer()
    assert.deepEqual(log, [30])
    let runs = 0
    setTimeout(function again () { runs++; setTimeout(again, 1) }, 1)
    assert.throws(() => vi.runAllTimers(), /Aborting after running 5 timers/)
    assert.equal(runs, 5)
    project = { loopLimit: 7 }
    vi.useFakeTimers({ toFake: ['setTimeout'] })
    assert.notEqual(currentClock(vi), clock)
    assert.equal(currentClock(vi).loopLimit, 7)
  } finally {
    vi.useRealTimers()
  }
  assert.equal(setTimeout, realSetTimeout)
  assert.equal(currentClock(vi), null)
  assert.throws(() => vi.advanceTimersByTime(1), /the timers APIs are not mocked/)
})

test('vitest: ViTimers fakes a plain object given as the global, as Vitest\'s FakeTimers does', () => {
  const log = []
  const global = { Date, setTimeout, clearTimeout, process: { nextTick: process.nextTick } }
  const timers = new ViTimers({ global, config: { toFake: ['setTimeout', 'clearTimeout', 'Date'] } })
  timers.useFakeTimers()
  assert.notEqual(global.setTimeout, setTimeout)
  assert.equal(Object.getPrototypeOf(timers.clock), SEQLOOP_CLOCK)
  global.setTimeout(() => log.push(global.Date.now() - start), 25)
  const start = timers.clock.now
  timers.advanceTimersToNextTimer(5)
  assert.deepEqual(log, [25])
  timers.setSystemTime(0)
  assert.equal(timers.getMockedSystemTime().getTime(), 0)
  timers.dispose()
  assert.equal(global.setTimeout, setTimeout)
  assert.equal(timers.clock, null)
})

test('vitest: ViTimers follows the rules of the Vitest release it is told (toNotFake alone, Temporal dates)', () => {
  const fakes = (vitestVersion, config) => {
    const nextTick = () => {}
    const queueMicrotask = () => {}
    const global = { Date, setTimeout, clearTimeout, queueMicrotask, process: { nextTick } }
    const timers = new ViTimers({ global, config, vitestVersion })
    timers.useFakeTimers()
    const faked = { nextTick: global.process.nextTick !== nextTick, queueMicrotask: global.queueMicrotask !== queueMicrotask }
    timers.useRealTimers()
    return faked
  }
  // 5.0.0 and its pre-releases: `toNotFake` alone fakes everything not listed, nextTick included
  for (const v of ['5.0.0-rc.2', '5.0.0']) {
    assert.deepEqual(fakes(v, { toNotFake: [] }), { nextTick: true, queueMicrotask: true }, v)
    assert.deepEqual(fakes(v, { toNotFake: ['nextTick'] }), { nextTick: false, queueMicrotask: true }, v)
  }
  // 5.0.1 on (and the default: the latest): those two stay real unless in `toFake`
  for (const v of ['5.0.1', '5.1.2', '5.2.0-beta.1', undefined]) {
    assert.deepEqual(fakes(v, { toNotFake: [] }), { nextTick: false, queueMicrotask: false }, String(v))
    assert.deepEqual(fakes(v, { toFake: ['nextTick', 'queueMicrotask'] }), { nextTick: true, queueMicrotask: true }, String(v))
  }
  for (const v of ['5.0.0', '5.1.2']) assert.deepEqual(fakes(v, undefined), { nextTick: false, queueMicrotask: false }, v)

  // setSystemTime with a Temporal-like object: its epoch milliseconds from 5.1.0; 5.0.x hands it to `new Date`
  const instant = { epochMilliseconds: 86400000, valueOf () { throw new TypeError('use compare() or equals() to compare Temporal.Instant') } }
  for (const [v, ok] of [['5.0.5', false], ['5.1.0', true], [undefined, true]]) {
    const timers = new ViTimers({ global: { Date, setTimeout, clearTimeout }, vitestVersion: v })
    timers.useFakeTimers()
    try {
      if (ok) {
        timers.setSystemTime(instant)
        assert.equal(timers.getMockedSystemTime().getTime(), 86400000, String(v))
      } else {
        assert.throws(() => timers.setSystemTime(instant), /Temporal\.Instant/, v)
      }
    } finally {
      timers.useRealTimers()
    }
  }
})

test('vitest: vi reads the global at its first timer call, so a Temporal added by the test file is faked, as by Vitest', () => {
  const Instant = { fromEpochNanoseconds: (ns) => ({ ms: Number(ns / 1000000n) }) }
  const global = { Date, setTimeout, clearTimeout, setInterval, clearInterval }
  const vi = fakeVi()
  const timers = useSeqloopTimers(vi, { global, config: () => ({}) })
  const Temporal = { Instant, Now: { instant: () => 'real', timeZoneId: () => 'UTC' } } // added after setup
  global.Temporal = Temporal
  timers.setSystemTime(1234) // before useFakeTimers: Date and Temporal only
  assert.equal(timers.isFakeTimers(), false)
  assert.equal(global.Temporal.Now.instant().ms, 1234)
  assert.equal(global.Date.now(), 1234)
  assert.equal(global.setTimeout, setTimeout)
  timers.useFakeTimers()
  timers.advanceTimersByTime(100)
  assert.equal(global.Temporal.Now.instant().ms, 1334)
  timers.useRealTimers()
  assert.equal(global.Temporal, Temporal)
  assert.equal(global.Date, Date)
})

test('vitest: optional methods are replaced only when this Vitest has them', () => {
  const vi = fakeVi(VI_METHODS.filter((name) => name !== 'setTimerTickMode'))
  useSeqloopTimers(vi, { config: () => undefined })
  assert.equal(vi.setTimerTickMode, undefined)
  assert.equal(vi.isFakeTimers(), false)
})

test('vitest: a vi without the expected methods, a frozen vi, or no Vitest worker is refused', () => {
  assert.throws(() => useSeqloopTimers(null), unsupported)
  assert.throws(() => useSeqloopTimers(fakeVi(['useFakeTimers'])), (err) => {
    assert.equal(err.code, 'ERR_UNSUPPORTED_RUNNER')
    assert.match(err.message, /has no useRealTimers, isFakeTimers/)
    return true
  })
  assert.throws(() => useSeqloopTimers(Object.freeze(fakeVi()), { config: () => undefined }), /cannot replace vi\.useFakeTimers/)
  const partly = fakeVi()
  const original = partly.useFakeTimers
  Object.defineProperty(partly, 'runAllTicks', { value: partly.runAllTicks, writable: false })
  assert.throws(() => useSeqloopTimers(partly, { config: () => undefined }), /cannot replace vi\.runAllTicks/)
  assert.equal(partly.useFakeTimers, original, 'the methods replaced before the refusal are put back')
  const vi = fakeVi()
  useSeqloopTimers(vi) // the worker state is read at useFakeTimers, where it is missing here
  assert.throws(() => vi.useFakeTimers(), (err) => err.code === 'ERR_UNSUPPORTED_RUNNER' && /setupFiles/.test(err.message))
})

test('vitest: checkVersion accepts Vitest 5 only', () => {
  checkVersion('5.1.2')
  checkVersion('5.0.0-beta.1')
  for (const v of ['4.1.12', '3.2.4', '6.0.0', 'nonsense']) assert.throws(() => checkVersion(v), unsupported, v)
})

test('jest: useSeqloopClock makes ModernFakeTimers install seqloop clocks', () => {
  const timers = new ModernFakeTimers({ global: globalThis, config: { fakeTimers: {} } })
  assert.equal(useSeqloopClock(timers, globalThis), timers)
  const realSetTimeout = setTimeout
  timers.useFakeTimers({ now: 0, doNotFake: ['nextTick', 'queueMicrotask'] })
  try {
    assert.equal(Object.getPrototypeOf(setTimeout.clock), SEQLOOP_CLOCK)
    const log = []
    setTimeout(() => log.push(Date.now()), 40)
    timers.advanceTimersByTime(40)
    assert.deepEqual(log, [40])
    assert.equal(timers.now(), 40)
  } finally {
    timers.useRealTimers()
  }
  assert.equal(setTimeout, realSetTimeout)
})

test('jest: a ModernFakeTimers of another shape is refused, not half used', () => {
  assert.throws(() => useSeqloopClock(null, globalThis), unsupported)
  assert.throws(() => useSeqloopClock({ useFakeTimers () {}, useRealTimers () {} }, globalThis), unsupported)
  assert.throws(() => useSeqloopClock({ _fakeTimers: { install () {} }, useFakeTimers () {}, useRealTimers () {} }, globalThis), unsupported)
})
