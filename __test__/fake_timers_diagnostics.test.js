'use strict'
// seqloop's fake-timer extensions, in both semantics modes (API.md §3, docs/fake-timers.md):
// AbortSignal.timeout on the fake clock, clock.pending(), failOnPending and ERR_PENDING_TIMERS,
// and the loop-limit error naming the timer that kept re-arming.
const { test } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const timersPromises = require('node:timers/promises')
const FT = require('../lib/fake-timers.js')

const MODES = ['sinon', 'node']
const SOURCE = fs.readFileSync(__filename, 'utf8').split('\n')

/** `file:line:` of the line of this file that carries the comment `// site:<name>`. */
function siteOf (name) {
  const i = SOURCE.findIndex((l) => l.includes(`// site:${name}`) && !l.includes('siteOf('))
  assert.ok(i >= 0, `marker site:${name}`)
  return `${__filename}:${i + 1}:`
}

/** Runs `fn(clock)` on a clock installed with `config`, uninstalling it whatever happens. */
function withClock (config, fn) {
  const clock = FT.install(config)
  try {
    return fn(clock)
  } finally {
    try { clock.uninstall() } catch {}
  }
}

function errorOf (fn) {
  try {
    fn()
  } catch (e) {
    return e
  }
  assert.fail('expected a throw')
}

// ---- AbortSignal.timeout ---------------------------------------------------------------------

for (const semantics of MODES) {
  test(`${semantics}: AbortSignal.timeout fires at the fake deadline and not before, with Node's TimeoutError`, () => {
    withClock({ semantics, now: 1000 }, (clock) => {
      assert.ok(clock.methods.includes('AbortSignal'))
      assert.equal(AbortSignal.timeout.clock, clock)
      const signal = AbortSignal.timeout(100)
      assert.ok(signal instanceof AbortSignal)
      const seen = []
      signal.addEventListener('abort', () => seen.push(Date.now()))
      clock.tick(99)
      assert.equal(signal.aborted, false)
      assert.deepEqual(seen, [])
      clock.tick(1)
      assert.equal(signal.aborted, true)
      assert.deepEqual(seen, [1100])
      assert.ok(signal.reason instanceof DOMException)
      assert.equal(signal.reason.name, 'TimeoutError')
      assert.equal(signal.reason.message, 'The operation was aborted due to timeout')
      assert.throws(() => signal.throwIfAborted(), (e) => e === signal.reason)
      clock.tick(1000)
      assert.deepEqual(seen, [1100], 'fires once')
    })
  })

  test(`${semantics}: AbortSignal.timeout checks its delay as Node does`, () => {
    withClock({ semantics }, (clock) => {
      for (const bad of ['10', undefined, null, {}, 10n, -1, 1.5, NaN, Infinity, 2 ** 32]) {
        const real = errorOf(() => FT.timers.AbortSignal.timeout(bad))
        const fake = errorOf(() => AbortSignal.timeout(bad))
        assert.equal(fake.constructor, real.constructor, `class for ${String(bad)}`)
        assert.equal(fake.code, real.code, `code for ${String(bad)}`)
      }
      // where Node's own check lets an uncoded error through, the fake one still answers with a code
      const { proxy, revoke } = Proxy.revocable({}, {})
      revoke()
      const trap = new Proxy({}, { get () { throw new Error('trap') } })
      for (const odd of [proxy, trap, Object.create(null), () => {}]) {
        assert.throws(() => AbortSignal.timeout(odd), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' })
      }
      assert.equal(clock.countTimers(), 0, 'a refused call sets no timer')
      const longest = AbortSignal.timeout(2 ** 32 - 1) // accepted; past 2^31 - 1, Node waits 1 ms
      clock.tick(1)
      assert.equal(longest.aborted, true)
    })
  })

  test(`${semantics}: a fake AbortSignal.timeout aborts timers/promises and AbortSignal.any on fake time`, async () => {
    // (node:test needs the real nextTick and setImmediate while it awaits)
    const clock = FT.install({ semantics, toFake: ['setTimeout', 'clearTimeout', 'AbortSignal'] })
    try {
      const sleeping = timersPromises.setTimeout(1000, 'late', { signal: AbortSignal.timeout(50) })
      const any = AbortSignal.any([new AbortController().signal, AbortSignal.timeout(20)])
      const outcome = sleeping.then(() => 'resolved', (e) => e)
      await clock.tickAsync(20)
      assert.equal(any.aborted, true)
      assert.equal(any.reason.name, 'TimeoutError')
      await clock.tickAsync(30)
      const e = await outcome
      assert.notEqual(e, 'resolved')
      // sinon rejects with the signal's reason, Node mode with an AbortError caused by it
      const reason = semantics === 'node' ? e.cause : e
      assert.equal(reason.name, 'TimeoutError')
    } finally {
      clock.uninstall()
    }
  })

  test(`${semantics}: toNotFake: ['AbortSignal'] keeps the real one; toFake: ['AbortSignal'] fakes only it`, () => {
    const real = AbortSignal.timeout
    withClock({ semantics, toNotFake: ['AbortSignal'] }, (clock) => {
      assert.equal(AbortSignal.timeout, real)
      assert.ok(!clock.methods.includes('AbortSignal'))
      AbortSignal.timeout(10)
      assert.equal(clock.countTimers(), 0, 'the real one sets no fake timer')
      assert.notEqual(setTimeout.clock, undefined)
    })
    withClock({ semantics, toFake: ['AbortSignal'] }, (clock) => {
      assert.deepEqual(clock.methods, ['AbortSignal'])
      assert.equal(setTimeout.clock, undefined, 'setTimeout stays real')
      const signal = AbortSignal.timeout(10)
      assert.equal(clock.countTimers(), 1)
      clock.tick(10)
      assert.equal(signal.aborted, true)
    })
    assert.equal(AbortSignal.timeout, real)
  })

  test(`${semantics}: uninstall restores AbortSignal.timeout exactly; timers.AbortSignal is the real one`, () => {
    const before = Object.getOwnPropertyDescriptor(AbortSignal, 'timeout')
    withClock({ semantics }, (clock) => {
      assert.notEqual(AbortSignal.timeout, before.value)
      assert.equal(Object.getOwnPropertyDescriptor(AbortSignal, 'timeout').enumerable, before.enumerable)
      FT.timers.AbortSignal.timeout(60000) // real: an unref'd native timer, nothing on the clock
      assert.equal(clock.countTimers(), 0)
    })
    assert.deepEqual(Object.getOwnPropertyDescriptor(AbortSignal, 'timeout'), before)
  })

  test(`${semantics}: a global without AbortSignal installs without it; asking for it is ERR_MISSING_TIMER`, () => {
    const g = { Date, setTimeout, clearTimeout, setInterval, clearInterval }
    const api = FT.withGlobal(g)
    assert.ok(!('AbortSignal' in api.timers))
    const clock = api.install({ semantics })
    assert.ok(!clock.methods.includes('AbortSignal'))
    clock.uninstall()
    assert.throws(() => api.install({ semantics, toFake: ['AbortSignal'] }), { code: 'ERR_MISSING_TIMER' })
    api.install({ semantics, toFake: ['AbortSignal'], ignoreMissingTimers: true }).uninstall()
  })
}

test('AbortSignal.timeout(0): at the current instant with sinon\'s coercion, 1 ms later with Node\'s', () => {
  withClock({ semantics: 'sinon' }, (clock) => {
    const s = AbortSignal.timeout(0)
    clock.tick(0)
    assert.equal(s.aborted, true)
  })
  withClock({ semantics: 'node' }, (clock) => {
    const s = AbortSignal.timeout(0)
    clock.tick(0)
    assert.equal(s.aborted, false)
    clock.tick(1)
    assert.equal(s.aborted, true)
  })
})

test("withGlobal: the signal comes from that global's AbortController, the reason is its DOMException", () => {
  class TheirException extends DOMException {}
  const made = []
  class TheirController extends AbortController {
    constructor () {
      super()
      made.push(this)
    }
  }
  class TheirSignal {
    static timeout () { throw new Error('the real one was called') }
  }
  const realTimeout = TheirSignal.timeout
  const g = { Date, setTimeout, clearTimeout, AbortSignal: TheirSignal, AbortController: TheirController, DOMException: TheirException }
  const api = FT.withGlobal(g)
  assert.throws(() => api.timers.AbortSignal.timeout(1), /the real one was called/)
  const clock = api.install({ toFake: ['AbortSignal'] })
  try {
    const s = g.AbortSignal.timeout(5)
    assert.equal(made.length, 1)
    assert.equal(s, made[0].signal)
    clock.tick(5)
    assert.ok(s.reason instanceof TheirException)
    assert.equal(s.reason.name, 'TimeoutError')
  } finally {
    clock.uninstall()
  }
  assert.equal(g.AbortSignal.timeout, realTimeout)
})

// ---- clock.pending() -------------------------------------------------------------------------

for (const semantics of MODES) {
  test(`${semantics}: clock.pending() lists exactly the pending timers, in creation order`, () => {
    withClock({ semantics, now: 500 }, (clock) => {
      const a = setTimeout(() => {}, 100)
      const b = setInterval(function every () {}, 40)
      const c = setTimeout(() => {}, 5)
      const d = setImmediate(() => {})
      const s = AbortSignal.timeout(300)
      clearTimeout(c)
      void s
      const list = clock.pending()
      assert.deepEqual(list.map((p) => [p.id, p.kind, p.delay, p.callAt]), [
        [+a, 'setTimeout', 100, 600],
        [+b, 'setInterval', 40, 540],
        [+d, 'setImmediate', 0, 500],
        [+a + 4, 'AbortSignal.timeout', 300, 800] // (ids are serial: the fifth timer set here)
      ])
      assert.equal(list[0].createdAt, null, 'no site without captureSites')
      assert.ok(list[1].createdAt.startsWith('at '), 'an interval keeps its site')
      clock.tick(40)
      assert.deepEqual(clock.pending().map((p) => [p.kind, p.callAt]),
        [['setTimeout', 600], ['setInterval', 580], ['AbortSignal.timeout', 800]])
      clock.reset()
      assert.deepEqual(clock.pending(), [])
    })
  })

  test(`${semantics}: captureSites gives every timer the line that created it`, () => {
    withClock({ semantics, captureSites: true }, (clock) => {
      setTimeout(() => {}, 10) // site:capture-timeout
      AbortSignal.timeout(20) // site:capture-signal
      const [t, s] = clock.pending()
      assert.ok(t.createdAt.split('\n')[0].includes(siteOf('capture-timeout')), t.createdAt)
      assert.ok(s.createdAt.split('\n')[0].includes(siteOf('capture-signal')), s.createdAt)
      assert.ok(!t.createdAt.includes('lib/fake-timers'), 'no seqloop frames')
    })
    const c = FT.createClock(0, 1000, { semantics, captureSites: true })
    c.setTimeout(() => {}, 1) // site:capture-clock
    assert.ok(c.pending()[0].createdAt.includes(siteOf('capture-clock')))
  })
}

// ---- failOnPending ----------------------------------------------------------------------------

for (const semantics of MODES) {
  test(`${semantics}: failOnPending: uninstall restores the globals, then throws ERR_PENDING_TIMERS listing exactly the leaked timers`, () => {
    const originals = { setTimeout, setInterval, Date, signal: AbortSignal.timeout }
    const clock = FT.install({ semantics, failOnPending: true })
    setTimeout(() => {}, 5) // fires
    const cleared = setTimeout(() => {}, 50)
    const leak = setTimeout(function leakyTimeout () {}, 100) // site:leak-timeout
    const poller = setInterval(function poll () {}, 30) // site:leak-interval
    setTimeout(() => {}, 500).unref() // unref'd: not work the test waits for
    AbortSignal.timeout(1000) // unref'd as in Node
    clearTimeout(cleared)
    clock.tick(10)
    const err = errorOf(() => clock.uninstall())
    assert.equal(setTimeout, originals.setTimeout, 'globals restored before the throw')
    assert.equal(setInterval, originals.setInterval)
    assert.equal(Date, originals.Date)
    assert.equal(AbortSignal.timeout, originals.signal)
    assert.ok(err instanceof Error)
    assert.equal(err.code, 'ERR_PENDING_TIMERS')
    assert.deepEqual(err.pending.map((p) => [p.id, p.kind, p.delay]), [[+leak, 'setTimeout', 100], [+poller, 'setInterval', 30]])
    assert.ok(err.pending[0].createdAt.startsWith('at ') && err.pending[0].createdAt.includes(siteOf('leak-timeout')))
    assert.ok(err.pending[1].createdAt.includes(siteOf('leak-interval')))
    assert.match(err.message, /^2 timers were still pending at uninstall/)
    assert.ok(err.message.includes('setTimeout(leakyTimeout, 100)') && err.message.includes('setInterval(poll, 30)'), err.message)
    assert.ok(err.message.includes(siteOf('leak-timeout')))
    // a second uninstall has nothing to restore and does not throw again
    assert.equal(clock.uninstall().length, 4)
    // the clock can be installed again
    FT.install({ semantics }).uninstall()
  })

  test(`${semantics}: failOnPending with nothing left uninstalls quietly`, () => {
    const clock = FT.install({ semantics, failOnPending: true })
    const t = setTimeout(() => {}, 5)
    setImmediate(() => {})
    clock.runAll()
    void t
    assert.deepEqual(clock.uninstall(), [])
  })
}

test('failOnPending lists many timers in .pending and a bounded message', () => {
  const clock = FT.install({ failOnPending: true, toFake: ['setTimeout'] })
  const ids = []
  for (let i = 0; i < 100; i++) ids.push(+setTimeout(() => {}, i + 1))
  const err = errorOf(() => clock.uninstall())
  assert.deepEqual(err.pending.map((p) => p.id), ids)
  assert.ok(err.message.split('\n').length <= 22, 'the message lists 20, then a count')
  assert.match(err.message, /and 80 more/)
})

test('failOnPending and captureSites must be booleans', () => {
  for (const option of ['failOnPending', 'captureSites']) {
    for (const bad of ['yes', 1, null, {}]) {
      assert.throws(() => FT.install({ [option]: bad }), { code: 'ERR_INVALID_ARG_TYPE', name: 'TypeError' })
    }
  }
  assert.throws(() => FT.createClock(0, 10, { captureSites: 'yes' }), { code: 'ERR_INVALID_ARG_TYPE' })
  assert.equal(setTimeout.clock, undefined, 'nothing was installed')
})

// ---- the loop-limit error names the timer that kept re-arming ---------------------------------

for (const semantics of MODES) {
  test(`${semantics}: runAll's loop-limit error names the timer that kept re-arming (a chain)`, () => {
    withClock({ semantics, loopLimit: 50 }, (clock) => {
      // due before the chain's next link when the limit is reached: not the one to blame
      setTimeout(function unrelated () {}, 505)
      function poll () {
        setTimeout(poll, 10) // site:chain
      }
      poll()
      const err = errorOf(() => clock.runAll())
      assert.equal(err.code, 'ERR_LOOP_LIMIT')
      assert.equal(err.timer.name, 'poll')
      assert.equal(err.timer.delay, 10)
      assert.ok(err.timer.createdAt.split('\n')[0].includes(siteOf('chain')), err.timer.createdAt)
      const base = 'Aborting after running 50 timers, assuming an infinite loop!'
      if (semantics === 'sinon') {
        assert.equal(err.message, base, "sinon's message, word for word")
      } else {
        assert.ok(err.message.startsWith(base))
        assert.ok(err.message.includes('setTimeout(poll, 10)') && err.message.includes(siteOf('chain')), err.message)
      }
      assert.match(err.stack, /Timeout - poll\n\s+at .*poll/)
    })
  })

  test(`${semantics}: the loop-limit error names an interval and where it was set`, async () => {
    await withClock({ semantics, loopLimit: 20 }, async (clock) => {
      setTimeout(function once () {}, 5)
      setInterval(function heartbeat () {}, 7) // site:interval
      for (const run of [() => clock.runAll(), () => clock.runAllAsync()]) {
        let err
        try {
          await run()
        } catch (e) {
          err = e
        }
        assert.equal(err && err.code, 'ERR_LOOP_LIMIT')
        assert.deepEqual({ name: err.timer.name, delay: err.timer.delay }, { name: 'heartbeat', delay: 7 })
        assert.ok(err.timer.createdAt.includes(siteOf('interval')), err.timer.createdAt)
        if (semantics === 'node') assert.ok(err.message.includes('setInterval(heartbeat, 7)'), err.message)
      }
    })
  })
}

test('a faked microtask loop is named too (runMicrotasks)', () => {
  withClock({ semantics: 'node', toFake: ['queueMicrotask', 'setTimeout'], loopLimit: 30 }, (clock) => {
    function again () { queueMicrotask(again) } // site:microtask
    again()
    const err = errorOf(() => clock.runMicrotasks())
    assert.equal(err.code, 'ERR_LOOP_LIMIT')
    assert.equal(err.timer.name, 'again')
    assert.equal(err.timer.delay, 0)
    assert.ok(err.timer.createdAt.includes(siteOf('microtask')))
    assert.ok(err.message.includes('queueMicrotask(again, 0)'), err.message)
  })
  withClock({ semantics: 'node', toFake: ['nextTick', 'setTimeout'], loopLimit: 30 }, (clock) => {
    function spin () { process.nextTick(spin) }
    spin()
    const err = errorOf(() => clock.runMicrotasks())
    assert.equal(err.timer.name, 'spin')
    assert.ok(err.message.includes('nextTick(spin, 0)'), err.message)
  })
})

test('a zero-delay chain on a clock that is not installed is named too', () => {
  const clock = FT.createClock(0, 5)
  let n = 0
  const burst = () => { if (++n < 100) clock.setTimeout(burst, 0) }
  clock.setTimeout(burst, 0)
  const err = errorOf(() => clock.runAll())
  assert.equal(err.code, 'ERR_LOOP_LIMIT')
  assert.equal(err.timer.name, 'burst')
  assert.equal(err.timer.delay, 0)
})

test("a tick past its bound (max(loopLimit, 1e7) timers) names the chain's last link and where it was set", () => {
  const clock = FT.createClock(0, 1000, { semantics: 'node' })
  let n = 0
  function hop () {
    n++
    clock.setTimeout(hop, 1) // site:tick-chain
  }
  clock.setTimeout(hop, 1)
  const err = errorOf(() => clock.tick(2 ** 31 - 1))
  assert.equal(err.code, 'ERR_LOOP_LIMIT')
  assert.equal(n, 1e7)
  assert.deepEqual({ name: err.timer.name, delay: err.timer.delay }, { name: 'hop', delay: 1 })
  assert.ok(err.timer.createdAt.split('\n')[0].includes(siteOf('tick-chain')), err.timer.createdAt)
  assert.equal(clock.isNearInfiniteLimit, false, 'the flag is down again after the run')
  assert.equal(clock.pending().length, 1, 'the link is still pending')
})
