'use strict'
// Receivers (issue 18): every method and accessor of every exported class, called on the wrong
// `this`, throws Node's ERR_INVALID_THIS TypeError; `new` on a factory-only class throws
// ERR_ILLEGAL_CONSTRUCTOR. Generated from the exports, so a new class or method is covered.
const test = require('node:test')
const assert = require('node:assert/strict')
const seqloop = require('..')
const native = require('../index.js')

const classes = Object.entries(seqloop).filter(([name, v]) => typeof v === 'function' && /^[A-Z]/.test(name))

/** Every [owner, key, kind, fn] along a class's prototype chain. */
function members (C) {
  const out = []
  for (let p = C.prototype; p && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    for (const key of Reflect.ownKeys(p)) {
      if (key === 'constructor') continue
      const d = Object.getOwnPropertyDescriptor(p, key)
      for (const kind of ['value', 'get', 'set']) if (typeof d[kind] === 'function') out.push([key, kind, d[kind]])
    }
  }
  return out
}

test('every exported class has a receiver brand', () => {
  assert.ok(classes.length >= 14, classes.map(([n]) => n).join(' '))
  for (const [name, C] of classes) {
    const nativeName = name === 'EventLoop' ? 'NativeEventLoop' : name
    assert.equal(typeof native.__seqloopConstructible(nativeName), 'boolean', name)
    assert.equal(native.__seqloopIsInstance({}, nativeName), false, name)
    assert.ok(members(C).length > 0, name)
  }
})

test('wrong receivers throw TypeError ERR_INVALID_THIS for every method and accessor of every class', () => {
  const clock = new seqloop.DeterministicClock()
  const receivers = (C) => [
    ['{}', {}],
    ['undefined', undefined],
    ['null', null],
    ['a number', 1],
    ['Object.create(prototype)', Object.create(C.prototype)],
    ['the prototype', C.prototype],
    ['another class\'s instance', C === seqloop.DeterministicClock ? new seqloop.WallClock() : clock],
    ['a Proxy of another instance', new Proxy(clock, {})],
  ]
  let calls = 0
  for (const [name, C] of classes) {
    for (const [key, kind, fn] of members(C)) {
      for (const [what, recv] of receivers(C)) {
        const where = `${name}.prototype.${String(key)} (${kind}) on ${what}`
        assert.throws(() => fn.call(recv, 1, 2), (e) => {
          assert.equal(e.code, 'ERR_INVALID_THIS', `${where}: ${e.code} ${e.message}`)
          assert.ok(e instanceof TypeError, where)
          return true
        }, where)
        calls++
      }
    }
  }
  assert.ok(calls > 500, `${calls} calls`)
})

test('a Proxy of a genuine instance is not a receiver; a genuine instance\'s own errors pass unchanged', () => {
  const s = new seqloop.Scheduler()
  const loop = new seqloop.EventLoop()
  assert.throws(() => seqloop.Scheduler.prototype.tick.call(new Proxy(s, {})), { code: 'ERR_INVALID_THIS', name: 'TypeError' })
  assert.throws(() => seqloop.EventLoop.prototype.setTimeout.call(new Proxy(loop, {}), () => {}, 1), { code: 'ERR_INVALID_THIS' })
  assert.throws(() => s.setTimeout(-1), { code: 'ERR_OUT_OF_RANGE', name: 'RangeError' })
  assert.throws(() => loop.setTimeout(1, 1), { code: 'ERR_INVALID_ARG_TYPE', name: 'TypeError' })
  assert.throws(() => s.enqueueEvent(1), { code: 'ERR_INVALID_ARG_TYPE' })
  // A subclass instance is a genuine receiver.
  class MyScheduler extends seqloop.Scheduler {}
  const m = new MyScheduler()
  assert.equal(seqloop.Scheduler.prototype.setTimeout.call(m, 1), 1)
  assert.equal(m.timerCount, 1)
  // Wrapped members keep their names and arity.
  assert.equal(seqloop.EventLoop.prototype.setTimeout.name, 'setTimeout')
  assert.equal(seqloop.EventLoop.prototype.setTimeout.length, 2)
  // A thrown getter of an argument still propagates as itself.
  const boom = new Error('boom')
  assert.throws(() => s.enqueueEvent('e', { get x () { throw boom } }), (e) => e === boom || e.code === 'ERR_INVALID_ARG_TYPE')
})

test('new on a factory-only class throws ERR_ILLEGAL_CONSTRUCTOR; its factories still work', () => {
  const factoryOnly = classes.filter(([name]) => !native.__seqloopConstructible(name === 'EventLoop' ? 'NativeEventLoop' : name))
  assert.deepEqual(factoryOnly.map(([n]) => n).sort(), ['HugepageStatus', 'NumaSlabPool', 'NumaSlabTelemetry',
    'ReactorMeshTelemetry', 'ReactorPlacementManifest', 'ReactorTopologySnapshot', 'ShardedWorkers'])
  for (const [name, C] of factoryOnly) {
    for (const args of [[], [1], [{}]]) {
      assert.throws(() => new C(...args), { code: 'ERR_ILLEGAL_CONSTRUCTOR', name: 'TypeError' }, name)
    }
    assert.throws(() => C(), { code: 'ERR_CONSTRUCT_CALL_REQUIRED' }, name)
  }
  assert.ok(seqloop.ReactorTopologySnapshot.synthetic('pack:1 core:2 pu:1') instanceof seqloop.ReactorTopologySnapshot)
  assert.ok(seqloop.HugepageStatus.evaluate(undefined, 0, 0) instanceof seqloop.HugepageStatus)
})
