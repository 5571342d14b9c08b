'use strict'
// seqloop/fake-timers against @sinonjs/fake-timers 15 (same scenario, same log) and against real
// Node (async ordering, delay coercion), plus install/uninstall, globals, runners and the swap.
const { test } = require('node:test')
const assert = require('node:assert/strict')
const { execFileSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { pathToFileURL } = require('node:url')
const util = require('node:util')
const timersModule = require('node:timers')
const timersPromises = require('node:timers/promises')

const sinon = require('@sinonjs/fake-timers')
const seqloop = require('seqloop/fake-timers')
const main = require('..')
const scenarios = require('./fixtures/order_scenarios.js')
const { seeded } = require('./helpers.js')

const IMPLS = { sinon, seqloop }
const FIXTURES = path.join(__dirname, 'fixtures')
// What both libraries fake in install tests that compare them (sinon 15 also fakes nextTick and
// queueMicrotask by default, which would stall node:test itself).
const TO_FAKE = ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'setImmediate', 'clearImmediate', 'Date', 'hrtime', 'performance']

/** Runs `scenario(FT, log)` against both libraries; both logs must equal `expected`. */
function compat (name, expected, scenario) {
  test(`compat: ${name}`, async () => {
    for (const [impl, FT] of Object.entries(IMPLS)) {
      const log = []
      await scenario(FT, log)
      assert.deepEqual(log, expected, `${impl}: ${util.inspect(log, { depth: 4 })}`)
    }
  })
}

/**
 * The message of what `fn` throws. Classes are compared separately (`classOf`): seqloop's coded
 * errors use the class the README's error table gives their code, where sinon throws a plain Error.
 */
function errorOf (fn) {
  try {
    fn()
  } catch (e) {
    return `Error: ${e.message}`
  }
  return 'no error'
}

// ---- timers and tick ---------------------------------------------------------------------

compat('setTimeout order, arguments and tick return value', ['a:x,y@1', 'b@5', 'c@5', 'tick=10', 'd@12', 'tick=20'], (FT, log) => {
  const c2 = FT.createClock()
  c2.setTimeout((x, y) => log.push(`a:${x},${y}@${c2.now}`), 1, 'x', 'y')
  c2.setTimeout(() => log.push('b@' + c2.now), 5)
  c2.setTimeout(() => log.push('c@' + c2.now), 5)
  c2.setTimeout(() => log.push('d@' + c2.now), 12)
  log.push('tick=' + c2.tick(10))
  log.push('tick=' + c2.tick(10))
})

compat('tick strings and invalid tick values', [8000, 60000, 3600000, 0,
  "Error: tick only understands numbers, 'm:s' and 'h:m:s'. Each part must be two digits",
  "Error: tick only understands numbers, 'm:s' and 'h:m:s'. Each part must be two digits",
  'Error: Invalid time 00:60',
  'Error: Negative ticks are not supported',
  'Error: Negative ticks are not supported'], (FT, log) => {
  for (const s of ['08', '01:00', '01:00:00', '']) {
    const c = FT.createClock()
    c.tick(s)
    log.push(c.now)
  }
  const c = FT.createClock()
  log.push(errorOf(() => c.tick('1:00')), errorOf(() => c.tick('123')), errorOf(() => c.tick('00:60')),
    errorOf(() => c.tick(-1)), errorOf(() => c.jump(-5)))
})

compat('timers set during tick fire in the same tick when in range; zero delay means +1', ['A@10', 'Aimm@11', 'A0@11', 'A+5@15', 'now=20'], (FT, log) => {
  const c = FT.createClock()
  c.setTimeout(() => {
    log.push('A@' + c.now)
    c.setTimeout(() => log.push('A0@' + c.now), 0)
    c.setTimeout(() => log.push('A+5@' + c.now), 5)
    c.setImmediate(() => log.push('Aimm@' + c.now))
  }, 10)
  c.tick(10)
  c.tick(10)
  log.push('now=' + c.now)
})

compat('setImmediate runs before timeouts due at the same time', ['I1', 'I2', 'T0', 'T0b'], (FT, log) => {
  const c = FT.createClock()
  c.setTimeout(() => log.push('T0'), 0)
  c.setImmediate(() => log.push('I1'))
  c.setTimeout(() => log.push('T0b'), 0)
  c.setImmediate(() => log.push('I2'))
  c.tick(0)
})

compat('setInterval: repeats from its own deadline, may clear itself, ties with timeouts by (deadline, seq)',
  ['I@10', 'T@20', 'I@20', 'I@30', 'count=0'], (FT, log) => {
    const c = FT.createClock()
    const h = c.setInterval(() => {
      log.push('I@' + c.now)
      if (c.now === 30) c.clearInterval(h)
    }, 10)
    c.tick(5)
    c.setTimeout(() => log.push('T@' + c.now), 15)
    c.tick(100)
    log.push('count=' + c.countTimers())
  })

compat('clearTimeout by handle, number, string id; clearInterval and clearTimeout interchangeable', [0, 0, 0, 0, 0, 'b'], (FT, log) => {
  const c = FT.createClock()
  const a = c.setTimeout(() => log.push('a'), 5)
  c.clearTimeout(a)
  log.push(c.countTimers())
  c.clearTimeout(+c.setTimeout(() => log.push('n'), 5))
  log.push(c.countTimers())
  c.clearTimeout(String(+c.setTimeout(() => log.push('s'), 5)))
  log.push(c.countTimers())
  c.clearInterval(c.setTimeout(() => log.push('ti'), 5))
  c.clearTimeout(c.setInterval(() => log.push('it'), 5))
  log.push(c.countTimers())
  c.clearTimeout(undefined)
  c.clearTimeout(null)
  c.clearTimeout(a) // already cleared
  log.push(c.countTimers())
  let h = null
  c.setTimeout(() => { log.push('b'); c.clearTimeout(h) }, 7)
  h = c.setTimeout(() => log.push('cleared by b at the same instant'), 7)
  c.tick(10)
})

compat('clearing with the wrong function throws', [
  'Error: Cannot clear timer: timer created with setTimeout() but cleared with clearImmediate()',
  'Error: Cannot clear timer: timer created with setImmediate() but cleared with clearTimeout()',
  'Error: Cannot clear timer: timer created with requestAnimationFrame() but cleared with clearTimeout()',
  'Error: Cannot clear timer: timer created with setTimeout() but cleared with cancelIdleCallback()',
  'Error: Cannot clear timer: timer created with requestIdleCallback() but cleared with cancelAnimationFrame()'], (FT, log) => {
  const c = FT.createClock()
  log.push(errorOf(() => c.clearImmediate(c.setTimeout(() => {}, 1))))
  log.push(errorOf(() => c.clearTimeout(c.setImmediate(() => {}))))
  log.push(errorOf(() => c.clearTimeout(c.requestAnimationFrame(() => {}))))
  log.push(errorOf(() => c.cancelIdleCallback(c.setTimeout(() => {}, 1))))
  log.push(errorOf(() => c.cancelAnimationFrame(c.requestIdleCallback(() => {}))))
})

compat('callback validation', [
  'Error: [ERR_INVALID_CALLBACK]: Callback must be a function. Received x of type string',
  'Error: Callback must be provided to timer calls',
  'Error: [ERR_INVALID_CALLBACK]: Callback must be a function. Received 5 of type number',
  'Error: [ERR_INVALID_CALLBACK]: Callback must be a function. Received null of type object',
  'Error: [ERR_INVALID_CALLBACK]: Callback must be a function. Received null of type object',
  'Error: [ERR_INVALID_CALLBACK]: Callback must be a function. Received null of type object'], (FT, log) => {
  const c = FT.createClock()
  log.push(errorOf(() => c.setTimeout('x', 1)), errorOf(() => c.setTimeout(undefined, 1)),
    errorOf(() => c.setInterval(5, 1)), errorOf(() => c.setImmediate(null)),
    errorOf(() => c.requestAnimationFrame(null)), errorOf(() => c.requestIdleCallback(null)))
})

compat('delays: NaN, negative, undefined, fractional and > 2^31-1', ['NaN->0', '-5->0', 'undefined->0', '1.5->1', '0.5->0', '2147483648->1', '2147483647->2147483647', '10->10'], (FT, log) => {
  const c = FT.createClock()
  for (const d of [NaN, -5, undefined, 1.5, 0.5, 2 ** 31, 2 ** 31 - 1, '10']) {
    c.reset()
    let at = null
    c.setTimeout(() => { at = c.now }, d)
    c.runAll()
    log.push(`${d}->${at}`)
  }
})

compat('exceptions: tick runs every due timer and rethrows the first; next and runAll stop at once', [
  'x', 'y', 'z', 'tick threw e1 now=5', 'x', 'next threw e1 now=1 count=1', 'x', 'runAll threw e1 now=1 count=1'], (FT, log) => {
  let c = FT.createClock()
  c.setTimeout(() => { log.push('x'); throw new Error('e1') }, 1)
  c.setTimeout(() => { log.push('y'); throw new Error('e2') }, 2)
  c.setTimeout(() => log.push('z'), 3)
  try { c.tick(5) } catch (e) { log.push(`tick threw ${e.message} now=${c.now}`) }
  for (const method of ['next', 'runAll']) {
    c = FT.createClock()
    c.setTimeout(() => { log.push('x'); throw new Error('e1') }, 1)
    c.setTimeout(() => log.push('never'), 3)
    try { c[method]() } catch (e) { log.push(`${method} threw ${e.message} now=${c.now} count=${c.countTimers()}`) }
  }
})

compat('next', [0, 5, 'i,a', 5, 'i,a,b', 5], (FT, log) => {
  const c = FT.createClock()
  const seen = []
  c.setTimeout(() => seen.push('a'), 5)
  c.setImmediate(() => seen.push('i'))
  c.setTimeout(() => seen.push('b'), 5)
  log.push(c.next(), c.next(), seen.join(), c.next(), seen.join(), c.next())
})

compat('runAll: nested timers, return value, loop limit', ['a@5', 'a2@7', 'b@10', 'a50@55', 55, 0,
  'Error: Aborting after running 10 timers, assuming an infinite loop!', 'Timeout - again', 1000,
  'Error: Aborting after running 5 timers, assuming an infinite loop!'], (FT, log) => {
  let c = FT.createClock()
  c.setTimeout(() => {
    log.push('a@' + c.now)
    c.setTimeout(() => log.push('a2@' + c.now), 2)
    c.setTimeout(() => log.push('a50@' + c.now), 50)
  }, 5)
  c.setTimeout(() => log.push('b@' + c.now), 10)
  log.push(c.runAll(), c.countTimers())
  c = FT.createClock(0, 10)
  const again = () => c.setTimeout(again, 1)
  again()
  try { c.runAll() } catch (e) { log.push(`${e.constructor.name}: ${e.message}`, e.stack.split('\n')[1]) }
  log.push(FT.createClock().loopLimit)
  c = FT.createClock(0, 5)
  c.setInterval(() => {}, 1)
  log.push(errorOf(() => c.runAll()))
})

compat('runToLast: runs up to the last timer known when called', [['a', 'a2', 'b'], 10, 1, 3], (FT, log) => {
  const c = FT.createClock()
  const seen = []
  c.setTimeout(() => {
    seen.push('a')
    c.setTimeout(() => seen.push('a2'), 2)
    c.setTimeout(() => seen.push('a50'), 50)
  }, 5)
  c.setTimeout(() => seen.push('b'), 10)
  log.push(seen, c.runToLast(), c.countTimers())
  const d = FT.createClock()
  d.tick(3)
  log.push(d.runToLast())
})

compat('requestAnimationFrame, cancelAnimationFrame and runToFrame', [['raf 16 now=1016', 't16', 'raf2 16', 'raf3 32 now=1032'], 1032, 0], (FT, log) => {
  const c = FT.createClock(1000)
  const seen = []
  c.tick(5)
  c.requestAnimationFrame((t) => seen.push(`raf ${t} now=${c.now}`))
  c.setTimeout(() => seen.push('t16'), 11)
  c.requestAnimationFrame((t) => seen.push(`raf2 ${t}`))
  c.cancelAnimationFrame(c.requestAnimationFrame(() => seen.push('cancelled')))
  c.runToFrame()
  c.requestAnimationFrame((t) => seen.push(`raf3 ${t} now=${c.now}`))
  log.push(seen, c.runToFrame(), c.countTimers())
})

compat('requestIdleCallback: timeout option, deadline object, cancel', [[[0, true, 50], [10, true, 50], [500, true, 0]], 0], (FT, log) => {
  const c = FT.createClock()
  const seen = []
  c.setTimeout(() => {}, 100)
  const note = (d) => seen.push([c.now, d.didTimeout, d.timeRemaining()])
  c.requestIdleCallback(note)
  c.requestIdleCallback(note, { timeout: 10 })
  c.requestIdleCallback(note, { timeout: 500 })
  c.cancelIdleCallback(c.requestIdleCallback(() => seen.push('cancelled'), { timeout: 5 }))
  c.runAll()
  log.push(seen, c.countTimers())
})

compat('jump fires each due timer once, at the new time, in creation order', [50, ['a@50', 'i@50'], 50, 2, ['a@50', 'i@50', 'i@53'], 110,
  ['x@100', 'i@100', 'x0@101', 'x5@105']], (FT, log) => {
  let c = FT.createClock()
  const seen = []
  c.setTimeout(() => seen.push('a@' + c.now), 10)
  c.setInterval(() => seen.push('i@' + c.now), 3)
  c.setTimeout(() => seen.push('b@' + c.now), 100)
  log.push(c.jump(50), seen.slice(), c.now, c.countTimers())
  c.tick(3)
  log.push(seen)
  c = FT.createClock()
  const s2 = []
  c.setTimeout(() => {
    s2.push('x@' + c.now)
    c.setTimeout(() => s2.push('x0@' + c.now), 0)
    c.setTimeout(() => s2.push('x5@' + c.now), 5)
  }, 5)
  c.setInterval(() => s2.push('i@' + c.now), 20)
  c.jump('00:00')
  c.jump(100)
  log.push(c.tick(10), s2)
})

compat('reset', [50, 0, 0, [0, 0], 'fired after reset: no'], (FT, log) => {
  const c = FT.createClock(50)
  let fired = false
  c.tick(10.5)
  c.setTimeout(() => { fired = true }, 3)
  c.setImmediate(() => { fired = true })
  c.reset()
  log.push(c.now, c.countTimers(), c.performance.now(), c.hrtime())
  c.runAll()
  log.push('fired after reset: ' + (fired ? 'yes' : 'no'))
})

compat('setSystemTime moves now and Date, not timers, performance or hrtime', [1000, [1010], 1010, 10, [0, 10000000], 5000, 0, 'Error: now should be milliseconds since UNIX epoch'], (FT, log) => {
  const c = FT.createClock(100)
  const seen = []
  c.setTimeout(() => seen.push(c.Date.now()), 10)
  c.setSystemTime(1000)
  log.push(c.now)
  c.tick(10)
  log.push(seen, c.now, c.performance.now(), c.hrtime())
  c.setSystemTime(new Date(5000))
  log.push(c.now)
  c.setSystemTime()
  log.push(c.now, errorOf(() => c.setSystemTime('abc')))
})

compat('Date advances with tick and reads the callback instant', [[5, 7], 10, 1010], (FT, log) => {
  let c = FT.createClock()
  const seen = []
  c.setTimeout(() => seen.push(c.Date.now()), 5)
  c.setTimeout(() => seen.push(new c.Date().getTime()), 7)
  c.tick(10)
  log.push(seen, c.Date.now())
  c = FT.createClock(new Date(1000))
  c.tick(10)
  log.push(new c.Date().valueOf())
})

compat('countTimers counts timers, intervals, immediates, frames, idle callbacks and faked microtasks', [5, 6, 0], (FT, log) => {
  const c = FT.createClock()
  c.setTimeout(() => {}, 1)
  c.setInterval(() => {}, 1)
  c.setImmediate(() => {})
  c.requestAnimationFrame(() => {})
  c.requestIdleCallback(() => {})
  log.push(c.countTimers())
  c.nextTick(() => {})
  log.push(c.countTimers())
  c.reset()
  log.push(c.countTimers())
})

compat('clock.nextTick, queueMicrotask and runMicrotasks', [['pre', 'a', 'tick', 'b'], ['q', 'n:1:2'], 'Error: Aborting after running 5 timers, assuming an infinite loop!'], (FT, log) => {
  let c = FT.createClock()
  const seen = []
  c.setTimeout(() => { seen.push('a'); c.nextTick(() => seen.push('tick')) }, 1)
  c.setTimeout(() => seen.push('b'), 1)
  c.nextTick(() => seen.push('pre'))
  c.tick(1)
  log.push(seen)
  const s2 = []
  c.queueMicrotask(() => s2.push('q'))
  c.nextTick((x, y) => s2.push(`n:${x}:${y}`), 1, 2)
  c.runMicrotasks()
  log.push(s2)
  c = FT.createClock(0, 5)
  const f = () => c.nextTick(f)
  f()
  log.push(errorOf(() => c.runMicrotasks()))
})

compat('fractional ticks accumulate for performance.now and hrtime', [['x0', 1, 'y1'], 1.2, [0, 1200000], 0], (FT, log) => {
  const c = FT.createClock()
  const seen = []
  c.setTimeout(() => seen.push(c.now), 1)
  c.tick(0.6)
  seen.push('x' + c.now)
  c.tick(0.6)
  seen.push('y' + c.now)
  log.push(seen, c.performance.now(), c.hrtime(), FT.createClock().performance.now())
})

compat('hrtime with a previous value, and hrtime.bigint', [[1, 500500000], [0, 250000000], 1750500000n], (FT, log) => {
  const c = FT.createClock()
  c.tick(1500.5)
  const p = c.hrtime()
  c.tick(250)
  log.push(p, c.hrtime(p), c.hrtime.bigint())
})

compat('timer handles: ref/unref/hasRef, refresh while pending and after firing', [true, true, false, true, true, ['x', 15, 25], true], (FT, log) => {
  const c = FT.createClock()
  const h = c.setTimeout(() => {}, 10)
  log.push(h.hasRef(), h.unref() === h, h.hasRef(), h.ref() === h, h.hasRef())
  const seen = []
  const r = c.setTimeout(() => seen.push(c.now), 10)
  c.tick(5)
  const same = r.refresh() === r
  c.tick(9)
  seen.push('x')
  c.tick(1)
  r.refresh()
  c.tick(20)
  log.push(seen, same)
})

compat('fake Date: constructor forms, statics, instanceof both ways', [
  'function', 1000, 1000, true, 'Thu Jan 01 1970 00:00:01 GMT+0000 (Coordinated Universal Time)', 5, 1, 1577836800000,
  1577836800000, true, true, 0, 'ClockDate', 'function Date() { [native code] }', 1577923200000, true, 99, 'NaN', 0,
  'string', true, 'Thu Jan 01 1970 00:00:01 GMT+0000 (Coordinated Universal Time)'], (FT, log) => {
  const c = FT.createClock(1000)
  const D = c.Date
  log.push(typeof D, D.now(), new D().getTime(), D.isFake, new D().toString(), new D(5).getTime(),
    new D(2020, 1).getMonth(), D.UTC(2020, 0), D.parse('2020-01-01T00:00:00Z'), new D() instanceof Date,
    new Date() instanceof D, D.length, D.name, D.toString(), new D('2020-01-02T00:00:00Z').getTime(),
    new D(2020, 0, 2, 3, 4, 5, 6).getTime() === new Date(2020, 0, 2, 3, 4, 5, 6).getTime(),
    new D(new Date(99)).getTime(), String(new D(undefined).getTime()), new D(null).getTime(), typeof D(),
    D(5) === new Date(1000).toString(), new Date(D.now()).toString())
})

compat('createClock arguments', [12345, -5, 0, 'Error: now should be milliseconds since UNIX epoch', 7], (FT, log) => {
  log.push(FT.createClock(new Date(12345)).now, FT.createClock(-5).now, FT.createClock().now,
    errorOf(() => FT.createClock('x')), FT.createClock(0, 7).loopLimit)
})

// ---- async methods (scenarios where sinon and real Node agree) ---------------------------

compat('tickAsync lets promise chains schedule timers that still fire in range', [10, 15, 'resolved@15', 'now=30'], async (FT, log) => {
  const c = FT.createClock()
  const sleep = (ms) => new Promise((resolve) => c.setTimeout(resolve, ms))
  ;(async () => {
    await sleep(10)
    log.push(c.now)
    await sleep(5)
    log.push(c.now)
  })().then(() => log.push('resolved@' + c.now))
  log.push('now=' + await c.tickAsync(30))
})

compat('nextAsync, runAllAsync and runToLastAsync', ['a@5', 'n:5', 'b@10', 'c@15', 'all=15', 'e@35', 'last=35', 'left=1'], async (FT, log) => {
  const c = FT.createClock()
  c.setTimeout(() => {
    log.push('a@' + c.now)
    Promise.resolve().then(() => c.setTimeout(() => log.push('c@' + c.now), 10))
  }, 5)
  c.setTimeout(() => log.push('b@' + c.now), 10)
  log.push('n:' + await c.nextAsync())
  log.push('all=' + await c.runAllAsync())
  c.setTimeout(() => {
    log.push('e@' + c.now)
    c.setTimeout(() => log.push('beyond'), 1)
  }, 20)
  log.push('last=' + await c.runToLastAsync())
  log.push('left=' + c.countTimers())
})

compat('runAllAsync loop limit rejects', ['Error: Aborting after running 5 timers, assuming an infinite loop!'], async (FT, log) => {
  const c = FT.createClock(0, 5)
  c.setInterval(() => {}, 1)
  await c.runAllAsync().catch((e) => log.push(`${e.constructor.name}: ${e.message}`))
})

// ---- install / uninstall ---------------------------------------------------------------

compat('install: globals use the clock, uninstall restores and returns pending timers', [
  true, true, 1000, 'ClockDate', true, 1007, 7, [0, 7000000], 7000000n, ['t@1005', 'i@1000'], ['Timeout'], true, true, true, true, true, true], (FT, log) => {
  const before = { setTimeout, Date, hrtime: process.hrtime, performance: globalThis.performance, setImmediate }
  const clock = FT.install({ now: 1000, toFake: TO_FAKE })
  try {
    log.push(setTimeout !== before.setTimeout, Date !== before.Date, Date.now(), Date.name, new Date() instanceof before.Date)
    const seen = []
    setTimeout(() => seen.push('t@' + Date.now()), 5)
    setImmediate(() => seen.push('i@' + Date.now()))
    setTimeout(() => {}, 100)
    clock.tick(7)
    log.push(Date.now(), performance.now(), process.hrtime(), process.hrtime.bigint(), seen.reverse())
  } finally {
    const pending = clock.uninstall()
    log.push(pending.map((t) => t.type))
  }
  log.push(setTimeout === before.setTimeout, Date === before.Date, process.hrtime === before.hrtime,
    globalThis.performance === before.performance, setImmediate === before.setImmediate,
    Date.now() > 1e12)
})

compat('install options: toNotFake, loopLimit, now as Date, errors', [
  true, 3, 777, 777,
  'Error: config.toFake and config.toNotFake cannot be used together',
  "Error: non-existent timers and/or objects cannot be faked: 'nope'",
  "Error: Can't install fake timers twice on the same global object.",
  'Error: FakeTimers.install called with 5 install requires an object parameter'], (FT, log) => {
  const RealDate = Date
  let clock = FT.install({ toNotFake: ['Date', 'nextTick', 'queueMicrotask'], loopLimit: 3 })
  log.push(Date === RealDate, clock.loopLimit)
  clock.uninstall()
  clock = FT.install({ now: new Date(777), toFake: ['Date'] })
  log.push(Date.now(), clock.now)
  clock.uninstall()
  log.push(errorOf(() => FT.install({ toNotFake: ['Date'], toFake: ['setTimeout'] })))
  log.push(errorOf(() => FT.install({ toFake: ['nope'] })))
  clock = FT.install({ toFake: ['Date', 'setTimeout'] })
  log.push(errorOf(() => FT.install({ toFake: ['Date'] })))
  clock.uninstall()
  log.push(errorOf(() => FT.install(5)))
})

compat('withGlobal: module shape, another global, missing timers', [
  ['timers', 'createClock', 'install', 'withGlobal'], ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'],
  true, 1, 'done@5', true, true,
  "Error: non-existent timers and/or objects cannot be faked: 'requestAnimationFrame'",
  ['setTimeout', 'requestAnimationFrame'], 'undefined'], (FT, log) => {
  const g = { Date, setTimeout, clearTimeout, setInterval, clearInterval }
  const api = FT.withGlobal(g)
  log.push(Object.keys(api), Object.keys(api.timers))
  const clock = api.install()
  const original = { setTimeout: api.timers.setTimeout, Date: api.timers.Date }
  log.push(g.setTimeout !== original.setTimeout)
  g.setTimeout(() => log.push('done@' + g.Date.now()), 5)
  log.push(clock.countTimers())
  clock.tick(5)
  clock.uninstall()
  log.push(g.setTimeout === original.setTimeout, g.Date === original.Date)
  const g2 = { Date, setTimeout, clearTimeout }
  log.push(errorOf(() => FT.withGlobal(g2).install({ toFake: ['setTimeout', 'requestAnimationFrame'] })))
  const c2 = FT.withGlobal(g2).install({ toFake: ['setTimeout', 'requestAnimationFrame'], ignoreMissingTimers: true })
  log.push(c2.methods, typeof g2.requestAnimationFrame)
  c2.uninstall()
})

/** A small stand-in for Temporal (Node 20/22 have none): Instant on BigInt nanoseconds, Now read-only. */
function stubTemporal (realNowMs) {
  class Instant {
    constructor (ns) { this.epochNanoseconds = ns }
    get epochMilliseconds () { return Number(this.epochNanoseconds / 1000000n) }
    static fromEpochNanoseconds (ns) { return new Instant(ns) }
    static fromEpochMilliseconds (ms) { return new Instant(BigInt(ms) * 1000000n) }
    toZonedDateTimeISO (timeZone) {
      const at = `${this.epochNanoseconds}ns@${timeZone}`
      return { at, toPlainDateTime: () => `pdt ${at}`, toPlainDate: () => `pd ${at}`, toPlainTime: () => `pt ${at}` }
    }
  }
  const Temporal = { Instant, Duration: function Duration () {} }
  Object.defineProperty(Temporal, 'Now', {
    value: { instant: () => Instant.fromEpochMilliseconds(realNowMs), timeZoneId: () => 'Europe/Paris' },
    writable: false,
    enumerable: false,
    configurable: true
  })
  return Temporal
}

compat('Temporal.Now follows the clock where the global has Temporal; tick takes a Temporal.Duration', [
  'listed', 'faked', 'same Instant', '1000000000ns', 'Europe/Paris', '1000000000ns@Europe/Paris', '1000000000ns@UTC',
  'pdt 1000000000ns@Europe/Paris', 'pd 1000000000ns@UTC', 'pt 1000000000ns@Europe/Paris',
  '1000500000ns', 'total millisecond relativeTo 1000ns@Europe/Paris', 1250, 'restored', 'only Temporal: Date real',
  'missing: ReferenceError', 'missing ignored'
], (FT, log) => {
  const Temporal = stubTemporal(5)
  const g = { Date, setTimeout, clearTimeout, setInterval, clearInterval, Temporal }
  const api = FT.withGlobal(g)
  log.push(api.timers.Temporal === Temporal ? 'listed' : 'not listed')
  let clock = api.install({ now: 1000 })
  log.push(g.Temporal !== Temporal ? 'faked' : 'real')
  log.push(g.Temporal.Instant === Temporal.Instant ? 'same Instant' : 'other Instant')
  log.push(`${g.Temporal.Now.instant().epochNanoseconds}ns`, g.Temporal.Now.timeZoneId())
  log.push(g.Temporal.Now.zonedDateTimeISO().at, g.Temporal.Now.zonedDateTimeISO('UTC').at)
  log.push(g.Temporal.Now.plainDateTimeISO(), g.Temporal.Now.plainDateISO('UTC'), g.Temporal.Now.plainTimeISO())
  clock.tick(0.5)
  log.push(`${g.Temporal.Now.instant().epochNanoseconds}ns`)
  clock.tick({ total (options) { log.push(`total ${options.unit} relativeTo ${options.relativeTo.at.replace(/^\d+000000ns/, (m) => `${BigInt(m.slice(0, -2)) / 1000000n}ns`)}`); return 250 } })
  log.push(clock.now)
  clock.uninstall()
  log.push(g.Temporal === Temporal ? 'restored' : 'left faked')
  clock = api.install({ toFake: ['Temporal'], now: 7 })
  log.push(g.Date === Date && g.Temporal.Now.instant().epochMilliseconds === 7 ? 'only Temporal: Date real' : 'wrong')
  clock.uninstall()
  const bare = FT.withGlobal({ Date, setTimeout, clearTimeout, setInterval, clearInterval })
  try { bare.install({ toFake: ['Temporal'] }).uninstall(); log.push('no error') } catch (e) { log.push(`missing: ${e.constructor.name}`) }
  bare.install({ toFake: ['Temporal', 'Date'], ignoreMissingTimers: true }).uninstall()
  log.push('missing ignored')
})

compat('timers and timers/promises modules are patched while installed', [
  true, true, true, ['im@0', 'iv@20', 'iv@40', 'tp v@50', 'iv@60'], 'AbortError', true, true, true], async (FT, log) => {
  const real = { st: timersModule.setTimeout, pst: timersPromises.setTimeout, psi: timersPromises.setInterval }
  const clock = FT.install({ toFake: TO_FAKE })
  try {
    log.push(timersModule.setTimeout === setTimeout, timersPromises.setTimeout !== real.pst, timersPromises.setInterval !== real.psi)
    const seen = []
    timersPromises.setTimeout(50, 'v').then((v) => seen.push(`tp ${v}@${Date.now()}`))
    ;(async () => {
      for await (const v of timersPromises.setInterval(20, 'i')) {
        seen.push(`${v}v@${Date.now()}`)
        if (Date.now() >= 60) break
      }
    })()
    timersPromises.setImmediate('im').then((v) => seen.push(`${v}@${Date.now()}`))
    await clock.tickAsync(100)
    log.push(seen)
    const ac = new AbortController()
    const p = timersPromises.setTimeout(10, 'x', { signal: ac.signal })
    ac.abort()
    await p.catch((e) => log.push(e.name))
  } finally {
    clock.uninstall()
  }
  log.push(timersModule.setTimeout === real.st, timersPromises.setTimeout === real.pst, timersPromises.setInterval === real.psi)
})

compat('Intl.DateTimeFormat formats the fake now', ['1/1/1971', '1/1/1970', 'function', true], (FT, log) => {
  const clock = FT.install({ now: 86400000 * 365, toFake: ['Date', 'Intl'] })
  try {
    log.push(new Intl.DateTimeFormat('en-US', { timeZone: 'UTC' }).format(),
      new Intl.DateTimeFormat('en-US', { timeZone: 'UTC' }).format(0), typeof Intl.NumberFormat,
      new Intl.DateTimeFormat('en-US', { timeZone: 'UTC' }).formatToParts().some((p) => p.value === '1971'))
  } finally {
    clock.uninstall()
  }
})

compat('performance is faked when installed and restored', [7, 'function', 5000, true], (FT, log) => {
  const real = globalThis.performance
  const clock = FT.install({ now: 5000, toFake: ['performance'] })
  try {
    clock.tick(7)
    log.push(performance.now(), typeof performance.mark, performance.timeOrigin)
  } finally {
    clock.uninstall()
  }
  log.push(globalThis.performance === real)
})

compat('shouldClearNativeTimers clears native timers through the fake clear functions', [true, 'native never fired'], async (FT, log) => {
  const realSetTimeout = timersModule.setTimeout
  let fired = false
  const native = realSetTimeout(() => { fired = true }, 1)
  const clock = FT.install({ toFake: ['setTimeout', 'clearTimeout'], shouldClearNativeTimers: true })
  clearTimeout(native)
  clock.uninstall()
  log.push(native._destroyed === true)
  await new Promise((resolve) => realSetTimeout(resolve, 5))
  log.push(fired ? 'native fired' : 'native never fired')
})

compat('shouldAdvanceTime moves fake time with real time', ['fired', true], async (FT, log) => {
  const clock = FT.install({ toFake: ['setTimeout', 'Date'], shouldAdvanceTime: true, advanceTimeDelta: 5 })
  try {
    await new Promise((resolve) => setTimeout(resolve, 20))
    log.push('fired', Date.now() >= 20)
  } finally {
    clock.uninstall()
  }
})

// ---- semantics: 'node' (and where the default is sinon's) -----------------------------------

const NODE = { semantics: 'node' }

for (const name of Object.keys(scenarios)) {
  test(`semantics 'node': async order matches a real Node run: ${name}`, async () => {
    const real = JSON.parse(execFileSync(process.execPath, ['--no-warnings', path.join(FIXTURES, 'run_real.js'), name], { encoding: 'utf8' }))
    assert.ok(real.length >= 4)
    const clock = seqloop.install(NODE)
    const log = []
    try {
      scenarios[name](log)
      await clock.runAllAsync()
    } finally {
      clock.uninstall()
    }
    assert.deepEqual(log, real)
  })
}

test('tickAsync order: real Node and semantics \'node\' print T0a, nextTick, promise, queueMicrotask, T0b; the default prints sinon\'s order', async () => {
  const name = 'promise, nextTick and queueMicrotask between two timers due at once'
  const run = (...args) => JSON.parse(execFileSync(process.execPath, [path.join(FIXTURES, 'run_fake.js'), name, ...args], { encoding: 'utf8' }))
  const real = JSON.parse(execFileSync(process.execPath, ['--no-warnings', path.join(FIXTURES, 'run_real.js'), name], { encoding: 'utf8' }))
  assert.deepEqual(real, ['T0a', 'nextTick', 'promise', 'queueMicrotask', 'T0b'])
  assert.deepEqual(run('seqloop', 'node'), real)
  const sinonOrder = ['T0a', 'promise', 'nextTick', 'queueMicrotask', 'T0b']
  assert.deepEqual(run('sinon'), sinonOrder)
  assert.deepEqual(run('seqloop'), sinonOrder)
})

test('delays: the default coerces as sinon (parseInt; NaN, ±Infinity, negative are 0), semantics \'node\' as Node (Number(); 1 ms floor)', () => {
  const order = (clock) => {
    const seen = []
    for (const d of ['0x20', '10px', true, 10, NaN, Infinity, -Infinity, -5, 0, 0.5, 2 ** 31]) {
      clock.setTimeout(() => seen.push(`${String(d)}@${clock.now}`), d)
    }
    clock.runAll()
    return seen
  }
  assert.deepEqual(order(seqloop.createClock()), ['0x20@0', 'true@0', 'NaN@0', 'Infinity@0', '-Infinity@0', '-5@0', '0@0', '0.5@0',
    '2147483648@1', '10px@10', '10@10'])
  assert.deepEqual(order(sinon.createClock()), order(seqloop.createClock()))
  assert.deepEqual(order(seqloop.createClock(0, undefined, NODE)), ['10px@1', 'true@1', 'NaN@1', 'Infinity@1', '-Infinity@1', '-5@1', '0@1', '0.5@1',
    '2147483648@1', '10@10', '0x20@32'])
  // Node itself: a zero delay is 1 ms, so tick(0) runs nothing in node mode
  const c = seqloop.createClock(0, undefined, NODE)
  let ran = false
  c.setTimeout(() => { ran = true }, 0)
  c.tick(0)
  assert.equal(ran, false)
  c.tick(1)
  assert.equal(ran, true)
})

test('install() fakes process.nextTick and queueMicrotask (as sinon); semantics \'node\' leaves them real unless listed', () => {
  const nt = process.nextTick
  const qm = globalThis.queueMicrotask
  let clock = seqloop.install()
  try {
    assert.notEqual(process.nextTick, nt)
    assert.notEqual(globalThis.queueMicrotask, qm)
    assert.ok(clock.methods.includes('nextTick'))
  } finally {
    clock.uninstall()
  }
  assert.equal(process.nextTick, nt)
  clock = seqloop.install(NODE)
  try {
    assert.equal(process.nextTick, nt)
    assert.equal(globalThis.queueMicrotask, qm)
    assert.ok(!clock.methods.includes('nextTick'))
  } finally {
    clock.uninstall()
  }
  for (const config of [{ toNotFake: [] }, { toFake: [] }, { toNotFake: ['Date'] }]) {
    clock = seqloop.install({ semantics: 'node', ...config })
    try {
      assert.equal(process.nextTick, nt)
      assert.equal(globalThis.queueMicrotask, qm)
    } finally {
      clock.uninstall()
    }
  }
  clock = seqloop.install({ semantics: 'node', toFake: ['nextTick', 'queueMicrotask'] })
  const seen = []
  try {
    process.nextTick((v) => seen.push(v), 'nt')
    queueMicrotask(() => seen.push('qm'))
    assert.equal(clock.countTimers(), 2)
    clock.runMicrotasks()
  } finally {
    clock.uninstall()
  }
  assert.deepEqual(seen, ['nt', 'qm'])
  assert.equal(process.nextTick, nt)
})

test('toFake entries that are not timer names find nothing (not even Object.prototype members)', () => {
  const g = { Date, setTimeout, clearTimeout }
  for (const name of ['toString', '__proto__', 'constructor', 'hasOwnProperty']) {
    assert.throws(() => seqloop.withGlobal(g).install({ toFake: [name] }), { code: 'ERR_MISSING_TIMER' })
    const clock = seqloop.withGlobal(g).install({ toFake: [name], ignoreMissingTimers: true })
    clock.uninstall()
  }
  assert.equal(Object.prototype.toString.clock, undefined)
  assert.deepEqual(Object.keys(g), ['Date', 'setTimeout', 'clearTimeout'])
})

test('toFake: [] fakes everything, as sinon 15.5', () => {
  const clock = seqloop.install({ toFake: [] })
  try {
    assert.deepEqual(clock.methods, Object.keys(seqloop.timers))
    assert.equal(process.nextTick.clock, clock)
  } finally {
    clock.uninstall()
  }
})

test('uninstall restores every original exactly and leaks no globals', () => {
  const snapshot = () => {
    const out = new Map()
    for (const [name, obj] of [['global', globalThis], ['process', process], ['timers', timersModule], ['timers/promises', timersPromises]]) {
      for (const key of Reflect.ownKeys(obj)) {
        const d = Object.getOwnPropertyDescriptor(obj, key)
        out.set(`${name}.${String(key)}`, [d.value, d.get, d.set, d.writable, d.enumerable, d.configurable])
      }
    }
    return out
  }
  // Reading a descriptor can itself add globals: on Node 24 the first read of every global's
  // descriptor materialises Node's lazy ones (`fetch` & co. load undici, which stores its
  // dispatcher under `Symbol(undici.globalDispatcher.N)`). Read once so only install can differ.
  snapshot()
  const before = snapshot()
  const clock = seqloop.install({ toNotFake: [] })
  assert.notEqual(Date, before.get('global.Date')[0])
  setTimeout(() => {}, 10)
  clock.uninstall()
  const after = snapshot()
  assert.deepEqual([...after.keys()].sort(), [...before.keys()].sort())
  for (const [key, value] of before) assert.deepEqual(after.get(key), value, key)
})

test('handles look like Node timers; `this` is the handle with semantics \'node\', null (sinon) by default', () => {
  for (const [clock, expected] of [[seqloop.createClock(0, undefined, NODE), 'handle'], [seqloop.createClock(), null]]) {
    let self
    const h = clock.setTimeout(function () { self = this }, 5)
    assert.equal(typeof +h, 'number')
    assert.ok(+h >= 1e12)
    assert.equal(clock.countTimers(), 1)
    clock.tick(5)
    assert.equal(self, expected === 'handle' ? h : null)
    const k = clock.setInterval(() => {}, 5)
    assert.equal(k.close(), k)
    assert.equal(clock.countTimers(), 0)
    assert.match(util.inspect(clock.setTimeout(() => {}, 3)), /^Timeout \{ id: \d+, callAt: 8, delay: 3, state: 'pending' \}$/)
    assert.equal(clock.setTimeout(() => {}, 1).refed, true)
    assert.equal(clock.semantics, expected === 'handle' ? 'node' : 'sinon')
  }
  let self
  const s = sinon.createClock()
  s.setTimeout(function () { self = this }, 1)
  s.tick(1)
  assert.equal(self, null)
})

test('util.promisify(setTimeout) uses the fake clock while installed', async () => {
  // only setTimeout: node:test's runner schedules its own work while a test awaits (with nextTick
  // and setImmediate faked, that work would wait on the fake clock or be dropped by uninstall)
  const clock = seqloop.install({ toFake: ['setTimeout', 'clearTimeout'] })
  try {
    const sleep = util.promisify(setTimeout)
    const p = sleep(50, 'woke')
    assert.equal(clock.countTimers(), 1)
    await clock.tickAsync(50)
    assert.equal(await p, 'woke')
  } finally {
    clock.uninstall()
  }
})

test('timers/promises aborts: signal.reason by default (sinon), Node\'s AbortError with semantics \'node\'', async () => {
  const reason = new Error('stop')
  let clock = seqloop.install({ toFake: ['setTimeout', 'clearTimeout'] }) // (node:test needs a real nextTick)
  try {
    await assert.rejects(timersPromises.setTimeout(10, 'x', { signal: AbortSignal.abort(reason) }), (e) => e === reason)
    assert.equal(clock.countTimers(), 0)
    assert.equal(clock.abortListenerMap.size, 0)
  } finally {
    clock.uninstall()
  }
  clock = seqloop.install({ semantics: 'node', toFake: ['setTimeout', 'clearTimeout'] })
  try {
    await assert.rejects(timersPromises.setTimeout(10, 'x', { signal: AbortSignal.abort(reason) }),
      (e) => e.name === 'AbortError' && e.code === 'ABORT_ERR' && e.cause === reason)
    assert.equal(clock.countTimers(), 0)
  } finally {
    clock.uninstall()
  }
})

test('errors carry stable codes, each with the class the README gives it', async () => {
  const c = seqloop.createClock(0, 2)
  // the abuse matrix's first fake-timers finding: these came with other classes
  assert.throws(() => c.jump(-1), { code: 'ERR_OUT_OF_RANGE', name: 'RangeError' })
  assert.throws(() => c.jump('x'), { code: 'ERR_INVALID_ARG_VALUE', name: 'TypeError' })
  await assert.rejects(c.tickAsync(-1), { code: 'ERR_OUT_OF_RANGE', name: 'RangeError' })
  await assert.rejects(c.tickAsync('1:2:3:4'), { code: 'ERR_INVALID_ARG_VALUE', name: 'TypeError' })
  assert.throws(() => c.setTimeout(5), { code: 'ERR_INVALID_ARG_TYPE', name: 'TypeError' })
  assert.throws(() => c.setTimeout(), { code: 'ERR_INVALID_ARG_TYPE', name: 'TypeError' })
  assert.throws(() => c.setTimeout(() => {}, Symbol('x')), { code: 'ERR_INVALID_ARG_TYPE', name: 'TypeError' })
  assert.throws(() => c.tick(-1), { code: 'ERR_OUT_OF_RANGE', name: 'RangeError', message: 'Negative ticks are not supported' })
  assert.throws(() => c.tick('x'), { code: 'ERR_INVALID_ARG_VALUE', name: 'TypeError' })
  assert.throws(() => c.tick(NaN), { code: 'ERR_INVALID_ARG_TYPE', name: 'TypeError' })
  assert.throws(() => c.tick(Infinity), { code: 'ERR_OUT_OF_RANGE', name: 'RangeError' })
  assert.throws(() => c.hrtime([1]), { code: 'ERR_OUT_OF_RANGE', name: 'RangeError' })
  assert.throws(() => c.clearImmediate(c.setTimeout(() => {}, 1)), { code: 'ERR_INVALID_ARG_VALUE', name: 'TypeError' })
  assert.equal(c.tick(), 0) // no argument: 0, as sinon
  c.setInterval(() => {}, 1)
  assert.throws(() => c.runAll(), { code: 'ERR_LOOP_LIMIT', name: 'Error' })
  const api = seqloop.withGlobal({ Date, setTimeout, clearTimeout })
  for (const bad of [-1, 5, 'setTimeout', true]) {
    assert.throws(() => api.install({ toNotFake: bad }), { code: 'ERR_INVALID_ARG_TYPE', name: 'TypeError' })
    assert.throws(() => api.install({ toFake: bad }), { code: 'ERR_INVALID_ARG_TYPE', name: 'TypeError' })
  }
  assert.throws(() => api.install({ toFake: { length: 2 ** 32 - 1 } }), { code: 'ERR_OUT_OF_RANGE', name: 'RangeError' })
  assert.throws(() => api.install({ toFake: new Array(2 ** 32 - 1) }), { code: 'ERR_OUT_OF_RANGE', name: 'RangeError' })
  assert.throws(() => api.install({ toFake: ['nope'] }), { code: 'ERR_MISSING_TIMER', name: 'ReferenceError' })
  assert.throws(() => api.install({ semantics: 'browser' }), { code: 'ERR_INVALID_ARG_VALUE', name: 'TypeError' })
  assert.throws(() => api.install({ loopLimit: 'x' }), { code: 'ERR_INVALID_ARG_TYPE', name: 'TypeError' })
  assert.throws(() => api.install({ target: {} }), { code: 'ERR_INVALID_ARG_VALUE', name: 'TypeError' })
  assert.throws(() => api.install(5), { code: 'ERR_INVALID_ARG_TYPE', name: 'TypeError' })
  assert.throws(() => seqloop.withGlobal({}), { code: 'ERR_INVALID_ARG_VALUE', name: 'TypeError' })
  const clock = api.install({ toFake: ['setTimeout'] })
  assert.throws(() => api.install({ toFake: ['setTimeout'] }), { code: 'ERR_INVALID_STATE', name: 'TypeError' })
  clock.uninstall()
  const { proxy: revoked, revoke } = Proxy.revocable({}, {})
  revoke()
  const d = seqloop.createClock()
  for (const call of [() => d.clearTimeout(revoked), () => d.hrtime(revoked), () => d.setSystemTime(revoked),
    () => d.requestIdleCallback(() => {}, revoked), () => d.setTickMode(revoked), () => seqloop.createClock(revoked),
    () => seqloop.createClock(0, 10, revoked), () => api.install(revoked), () => seqloop.withGlobal(revoked),
    () => seqloop.withGlobal(globalThis, revoked)]) {
    assert.throws(call, { code: 'ERR_INVALID_ARG_TYPE', name: 'TypeError' })
  }
  for (const delta of [-1, 0, NaN, Infinity]) {
    assert.throws(() => d.setTickMode({ mode: 'interval', delta }), { code: 'ERR_OUT_OF_RANGE', name: 'RangeError' })
    if (delta) { // (0 and NaN mean sinon's default, 20)
      assert.throws(() => api.install({ shouldAdvanceTime: true, advanceTimeDelta: delta }), { code: 'ERR_OUT_OF_RANGE' })
    }
  }
  assert.throws(() => d.setTickMode({ mode: 'interval', delta: '5' }), { code: 'ERR_INVALID_ARG_TYPE', name: 'TypeError' })
  assert.equal(Date.isFake, undefined) // nothing was installed by the refused calls
  const proto = Object.getPrototypeOf(c.setTimeout(() => {}, 1))
  for (const m of ['refresh', 'close']) {
    assert.throws(() => proto[m].call({}), { code: 'ERR_INVALID_THIS', name: 'TypeError' })
  }
})

test('a delay or handle that cannot become a number: sinon\'s error (class, message) by default, Node\'s with semantics \'node\', each with a code', () => {
  const nested = (n) => { const root = []; let d = root; for (let i = 0; i < n; i++) { const x = []; d.push(x); d = x } return root }
  const detached = () => { const b = new ArrayBuffer(8); const u = new Uint8Array(b); structuredClone(b, { transfer: [b] }); return u }
  const values = {
    Symbol: () => Symbol('delay'),
    'null-prototype object': () => Object.create(null),
    'non-callable Symbol.toPrimitive': () => ({ [Symbol.toPrimitive]: 1 }),
    'detached typed array': detached,
    'sparse Array(2**32 - 1)': () => new Array(2 ** 32 - 1), // joins past the longest string
    'arrays nested 1e5 deep': () => nested(1e5) // joins past the stack
  }
  const calls = {
    setTimeout: (k, v) => k.setTimeout(() => {}, v),
    setInterval: (k, v) => k.setInterval(() => {}, v),
    'requestIdleCallback timeout': (k, v) => k.requestIdleCallback(() => {}, { timeout: v }),
    clearTimeout: (k, v) => k.clearTimeout(v),
    clearInterval: (k, v) => k.clearInterval(v),
    clearImmediate: (k, v) => k.clearImmediate(v),
    cancelAnimationFrame: (k, v) => k.cancelAnimationFrame(v),
    cancelIdleCallback: (k, v) => k.cancelIdleCallback(v)
  }
  const caught = (fn) => { try { fn() } catch (e) { return e } return null }
  const CODE = { TypeError: 'ERR_INVALID_ARG_TYPE', RangeError: 'ERR_OUT_OF_RANGE' }
  const sameAs = (want, got, what) => {
    if (want === null) return assert.equal(got, null, `${what}: does not throw`)
    assert.ok(got !== null, `${what}: throws`)
    assert.equal(got.constructor, want.constructor, what)
    assert.equal(got.message, want.message, what)
    assert.equal(got.code, CODE[want.constructor.name], what)
    assert.equal(got.cause.message, want.message, what)
  }
  const s = sinon.createClock()
  const c = seqloop.createClock()
  let thrown = 0
  for (const [vname, make] of Object.entries(values)) {
    for (const [cname, call] of Object.entries(calls)) {
      const want = caught(() => call(s, make()))
      if (want !== null) thrown++
      sameAs(want, caught(() => call(c, make())), `default: ${cname}(${vname})`)
    }
  }
  assert.ok(thrown >= 30, `sinon throws in most of these cases (${thrown})`)
  // sinon reads an interval through String(): a Symbol is a NaN interval there, not an error
  assert.equal(caught(() => c.setInterval(() => {}, Symbol('i'))), null)

  // semantics 'node': the error real Node's setTimeout/setInterval throw; its clear functions ignore such values
  const n = seqloop.createClock(0, 1000, { semantics: 'node' })
  for (const [vname, make] of Object.entries(values)) {
    for (const name of ['setTimeout', 'setInterval']) {
      let handle
      const want = caught(() => { handle = globalThis[name](() => {}, make()) })
      if (handle !== undefined) clearTimeout(handle)
      sameAs(want, caught(() => calls[name](n, make())), `node: ${name}(${vname})`)
    }
    assert.equal(caught(() => n.clearTimeout(make())), null, `node: clearTimeout(${vname})`)
  }

  // what the caller's own toString/valueOf throws propagates untouched (sinon's parseInt reads toString)
  const mine = new Error('mine')
  const hostile = { toString () { throw mine }, valueOf () { throw mine } }
  for (const k of [c, n]) {
    assert.equal(caught(() => k.setTimeout(() => {}, hostile)), mine)
    assert.equal(caught(() => k.setInterval(() => {}, hostile)), mine)
  }
  assert.equal(caught(() => c.clearTimeout(hostile)), mine)
  assert.equal(c.countTimers() + n.countTimers(), 2, 'only the two Symbol intervals were created')
})

test('a tick that would fire more than max(loopLimit, 1e7) timers throws ERR_LOOP_LIMIT and keeps the timer', () => {
  const c = seqloop.createClock()
  let n = 0
  c.setInterval(() => { n++ }, 1)
  assert.throws(() => c.tick(2 ** 31 - 1), { code: 'ERR_LOOP_LIMIT', message: /after running 10000000 timers/ })
  assert.equal(n, 1e7)
  assert.equal(c.countTimers(), 1)
  c.tick(1) // still there, due when it was: it runs again
  assert.equal(n, 1e7 + 2)
})

test('the clock refuses to move where deadlines would stop being exact integers, and stays usable', () => {
  const c = seqloop.createClock(0, 1e9)
  const limit = Number.MAX_SAFE_INTEGER - (2 ** 31 - 1)
  c.tick(limit - 10)
  const log = []
  c.setTimeout(() => log.push('a'), 5)
  c.setTimeout(() => log.push('b'), 2 ** 31 - 1) // due exactly at 2^53 - 1 - 10
  c.setTimeout(() => log.push('c'), 2)
  assert.throws(() => c.tick(1000), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' })
  assert.throws(() => c.jump(11), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' })
  assert.equal(c.now, limit - 10)
  assert.deepEqual(log, [])
  assert.equal(c.countTimers(), 3)
  c.tick(10)
  assert.deepEqual(log, ['c', 'a'])
  assert.equal(c.runAll(), Number.MAX_SAFE_INTEGER - 10)
  assert.deepEqual(log, ['c', 'a', 'b'])
  // Running timers took the clock past the limit: later deadlines clamp to 2^53 - 1.
  c.setTimeout(() => log.push('d'), 100)
  c.setTimeout(() => log.push('e'), 50)
  assert.equal(c.runAll(), Number.MAX_SAFE_INTEGER)
  assert.deepEqual(log, ['c', 'a', 'b', 'd', 'e'])
})

test('setInterval with zero delay: every millisecond from 1 ms with semantics \'node\', at the same instant by default (sinon)', () => {
  const c = seqloop.createClock(0, undefined, NODE)
  const at = []
  c.setInterval(() => at.push(c.now), 0)
  c.tick(3)
  assert.deepEqual(at, [1, 2, 3])
  for (const FT of [seqloop, sinon]) {
    const d = FT.createClock()
    const seen = []
    const id = d.setInterval(() => { if (seen.push(d.now) === 5) d.clearInterval(id) }, 0)
    d.setTimeout(() => seen.push('t'), 0)
    d.tick(0)
    assert.deepEqual(seen, [0, 't', 0, 0, 0])
  }
})

test('timer records carry args, interval and immediacy (uninstall lists them in creation order)', () => {
  const c = seqloop.withGlobal({ Date, setTimeout, clearTimeout, setInterval, clearInterval, setImmediate, clearImmediate })
    .install({ toFake: ['setTimeout', 'setInterval', 'setImmediate'] })
  const t1 = c.setTimeout(() => {}, 5, 'x', 1)
  const t2 = c.setInterval(() => {}, 2)
  const t3 = c.setInterval(() => {}, 7)
  const t4 = c.setImmediate((a) => a, 'y')
  const t5 = c.setTimeout(() => {}, 3)
  assert.deepEqual(t1.args, ['x', 1])
  assert.deepEqual(t5.args, [])
  assert.deepEqual(t4.args, ['y'])
  assert.deepEqual([t1.interval, t2.interval, t3.interval, t5.interval], [undefined, 2, 7, undefined])
  assert.deepEqual([t1, t2, t3, t4, t5].map((t) => t.type), ['Timeout', 'Interval', 'Interval', 'Immediate', 'Timeout'])
  c.tick(0) // the immediate runs
  assert.equal(c.countTimers(), 4)
  const pending = c.uninstall()
  assert.deepEqual(pending.map((t) => t.id), [t1, t2, t3, t5].map((t) => t.id))
})

test('many pending timers keep exact (deadline, seq) order', () => {
  const c = seqloop.createClock()
  const s = sinon.createClock()
  const fired = { seqloop: [], sinon: [] }
  const rand = seeded(12345)
  for (let i = 0; i < 2000; i++) {
    const d = rand(200)
    c.setTimeout(() => fired.seqloop.push(i), d)
    s.setTimeout(() => fired.sinon.push(i), d)
    if (i % 7 === 0) {
      c.clearTimeout(c.setTimeout(() => fired.seqloop.push('x'), d))
      s.clearTimeout(s.setTimeout(() => fired.sinon.push('x'), d))
    }
  }
  for (let k = 0; k < 30; k++) {
    c.tick(7)
    s.tick(7)
  }
  assert.equal(fired.seqloop.length, 2000)
  assert.deepEqual(fired.seqloop, fired.sinon)
})

// ---- entry points and runners ----------------------------------------------------------

test('ESM entry and main-module re-exports', async () => {
  const esm = await import('seqloop/fake-timers')
  assert.equal(esm.install, seqloop.install)
  assert.equal(esm.withGlobal, seqloop.withGlobal)
  assert.equal(esm.default, seqloop)
  assert.deepEqual(Object.keys(seqloop), ['timers', 'createClock', 'install', 'withGlobal'])
  assert.equal(main.install, seqloop.install)
  assert.equal(main.withGlobal, seqloop.withGlobal)
  const mainEsm = await import('seqloop')
  assert.equal(mainEsm.install, seqloop.install)
  assert.deepEqual(Object.keys(seqloop.withGlobal(globalThis)), ['timers', 'createClock', 'install', 'withGlobal'])
})

test('ESM named imports of the CommonJS entry, directly and through a re-exporting shim (the README\'s npm override)', async (t) => {
  // An ESM test file's `import { install } from '@sinonjs/fake-timers'` reaches lib/fake-timers.js
  // as a CommonJS module when that package is the README's shim; Node finds the names by reading
  // the source, so all four must be there (sinon's own entry gives all four too).
  const entry = require.resolve('../lib/fake-timers.js')
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seqloop-shim-'))
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  fs.writeFileSync(path.join(dir, 'index.js'), `module.exports = require(${JSON.stringify(entry)})\n`)
  for (const file of [entry, path.join(dir, 'index.js')]) {
    const m = await import(pathToFileURL(file).href)
    for (const name of ['timers', 'createClock', 'install', 'withGlobal']) {
      assert.equal(m[name], seqloop[name], `${path.basename(file)}: named export ${name}`)
    }
    assert.equal(m.default, seqloop)
  }
  const sinonEsm = await import(pathToFileURL(require.resolve('@sinonjs/fake-timers')).href)
  assert.deepEqual(['timers', 'createClock', 'install', 'withGlobal'].filter((n) => n in sinonEsm), ['timers', 'createClock', 'install', 'withGlobal'])
})

test('node:test: install with semantics \'node\' in a test, mock async code, uninstall in t.after', async (t) => {
  const clock = seqloop.install({ now: Date.UTC(2030, 0, 1), semantics: 'node' }) // node:test needs the real nextTick
  t.after(() => clock.uninstall())
  const retry = async (fn, attempts, wait) => {
    for (let i = 1; ; i++) {
      try {
        return await fn(i)
      } catch (e) {
        if (i === attempts) throw e
        await new Promise((resolve) => setTimeout(resolve, wait * i))
      }
    }
  }
  const tries = []
  const result = retry(async (i) => {
    tries.push(new Date().toISOString().slice(11, 23))
    if (i < 3) throw new Error('flaky')
    return 'ok'
  }, 5, 1000)
  await clock.runAllAsync()
  assert.equal(await result, 'ok')
  assert.deepEqual(tries, ['00:00:00.000', '00:00:01.000', '00:00:03.000'])
})

test('Mocha: a spec using seqloop/fake-timers passes under mocha', () => {
  const spec = path.join(__dirname, 'mocha', 'fake_timers.spec.js')
  const out = execFileSync(process.execPath, [require.resolve('mocha/bin/mocha.js'), '--reporter', 'dot', spec], { encoding: 'utf8' })
  assert.match(out, /(\d+) passing/)
  assert.ok(Number(/(\d+) passing/.exec(out)[1]) >= 4)
  assert.doesNotMatch(out, /failing/)
})

test('swap: a sinon-style test file passes unchanged with either library', () => {
  const file = path.join(FIXTURES, 'sinon_style_suite.js')
  // a fresh node:test context (under `node --test` the parent sets one for its children)
  const env = { ...process.env }
  delete env.NODE_TEST_CONTEXT
  const asIs = execFileSync(process.execPath, ['--test-reporter=tap', file], { encoding: 'utf8', env })
  assert.match(asIs, /^# pass 4$/m)
  assert.match(asIs, /^# fail 0$/m)
  const swapped = require('node:child_process').spawnSync(process.execPath, ['--test-reporter=tap', '-r', path.join(FIXTURES, 'swap_hook.js'), file], { encoding: 'utf8', env })
  assert.equal(swapped.status, 0, swapped.stdout + swapped.stderr)
  assert.match(swapped.stdout, /^# pass 4$/m)
  assert.match(swapped.stderr, /resolved @sinonjs\/fake-timers to seqloop 1 time\(s\)/)
})
