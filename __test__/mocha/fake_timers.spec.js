'use strict'
// Mocha spec (run by __test__/fake_timers.test.js through mocha's CLI): the clock is installed
// in beforeEach and removed in afterEach, the way Mocha suites use @sinonjs/fake-timers.
const assert = require('node:assert/strict')
const FakeTimers = require('seqloop/fake-timers')

describe('seqloop/fake-timers under Mocha', function () {
  let clock

  beforeEach(function () {
    clock = FakeTimers.install({ now: 1000 })
  })

  afterEach(function () {
    clock.uninstall()
  })

  it('ticks timers and Date together', function () {
    const seen = []
    setTimeout(() => seen.push(Date.now()), 250)
    setInterval(() => seen.push('i' + Date.now()), 100)
    clock.tick(300)
    assert.deepEqual(seen, ['i1100', 'i1200', 1250, 'i1300'])
  })

  /** Two timers due at once, the first queueing a promise reaction and a nextTick: the log. */
  async function timerThenQueues () {
    const seen = []
    setTimeout(() => {
      Promise.resolve().then(() => seen.push('promise'))
      process.nextTick(() => seen.push('nextTick'))
      seen.push('timer')
    }, 10)
    setTimeout(() => seen.push('second timer'), 10)
    await clock.tickAsync(10)
    return seen
  }

  it('runs async code with tickAsync; the faked nextTick runs after promises, before the next timer (sinon)', async function () {
    assert.deepEqual(await timerThenQueues(), ['timer', 'promise', 'nextTick', 'second timer'])
  })

  it('semantics \'node\': the real nextTick runs before promises, as in Node', async function () {
    clock.uninstall()
    clock = FakeTimers.install({ now: 1000, semantics: 'node' })
    assert.deepEqual(await timerThenQueues(), ['timer', 'nextTick', 'promise', 'second timer'])
  })

  it('mocha\'s own timeout still works (it uses the real setTimeout it captured)', function (done) {
    setTimeout(done, 5000)
    clock.tick(5000)
  })

  it('leaves nothing pending after runAll', function () {
    setTimeout(() => setTimeout(() => {}, 10), 10)
    assert.equal(clock.runAll(), 1020)
    assert.equal(clock.countTimers(), 0)
  })
})
