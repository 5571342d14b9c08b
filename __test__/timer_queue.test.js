'use strict'
const { test } = require('node:test')
const assert = require('node:assert/strict')
const { TimerQueue } = require('..')
const { requireGc } = require('./helpers.js')
const { queueRaw } = require('../lib/scheduler.js')

/** The native class's own napi-rs methods (the package's class routes around them). */
function viaNapi (q) {
  const proto = Object.getPrototypeOf(TimerQueue.prototype)
  const size = Object.getOwnPropertyDescriptor(proto, 'size').get
  return {
    insert: (d) => proto.insert.call(q, d),
    cancel: (id) => proto.cancel.call(q, id),
    peekDeadline: () => proto.peekDeadline.call(q),
    popDue: (limit, out, spans) => proto.popDue.call(q, limit, out, spans),
    get size () { return size.call(q) },
    entries: () => q.entries(),
  }
}

for (const mode of ['methods', 'napi']) {
  const make = () => {
    const q = new TimerQueue()
    return mode === 'methods' ? q : viaNapi(q)
  }

  test(`TimerQueue (${mode}): exact (deadline, seq) order, batches per deadline`, () => {
    const q = make()
    const a = q.insert(300)
    const b = q.insert(100)
    const c = q.insert(200)
    const d = q.insert(100)
    assert.deepEqual([a, b, c, d], [1, 2, 3, 4])
    assert.equal(q.peekDeadline(), 100)
    const out = new Float64Array(8)
    assert.equal(q.popDue(99, out), 0, 'nothing due before 100')
    assert.equal(q.popDue(1000, out), 2)
    assert.deepEqual([...out.subarray(0, 3)], [100, b, d])
    assert.equal(q.popDue(1000, out), 1)
    assert.deepEqual([...out.subarray(0, 2)], [200, c])
    assert.deepEqual(q.entries(), [a, 300])
  })

  test(`TimerQueue (${mode}): popDue with maxDeadlines takes later deadlines only whole`, () => {
    const q = make()
    const at10 = [q.insert(10), q.insert(10)]
    const at20 = [q.insert(20), q.insert(20), q.insert(20)]
    const at30 = q.insert(30)
    const at99 = q.insert(99)
    const out = new Float64Array(6) // room for 5 ids
    // 10 (2 ids) fits, 20 (3 ids) fits exactly; 30 would not, so the batch ends at 20.
    assert.equal(q.popDue(50, out, 8), 5)
    assert.deepEqual([...out], [20, ...at10, ...at20])
    // Deadlines past the limit stay; maxDeadlines caps the span.
    const more = [q.insert(40), q.insert(45)]
    assert.equal(q.popDue(50, out, 2), 2)
    assert.deepEqual([...out.subarray(0, 3)], [40, at30, more[0]])
    assert.equal(q.popDue(50, out, 8), 1)
    assert.deepEqual([...out.subarray(0, 2)], [45, more[1]])
    assert.equal(q.popDue(50, out, 8), 0)
    // The earliest deadline alone may be split when it does not fit.
    const big = Array.from({ length: 7 }, () => q.insert(99))
    assert.equal(q.popDue(100, out, 8), 5)
    assert.deepEqual([...out], [99, at99, ...big.slice(0, 4)])
    assert.equal(q.popDue(100, out, 8), 3)
    assert.deepEqual([...out.subarray(0, 4)], [99, ...big.slice(4)])
    assert.throws(() => q.popDue(5, out, -1), { code: 'ERR_OUT_OF_RANGE' })
  })

  test(`TimerQueue (${mode}): cancel, small output buffers and errors`, () => {
    const q = make()
    const ids = Array.from({ length: 5 }, () => q.insert(10))
    assert.equal(q.cancel(ids[1]), true)
    assert.equal(q.cancel(ids[1]), false)
    assert.equal(q.cancel(999), false)
    assert.equal(q.cancel(-1), false)
    assert.equal(q.cancel(1.5), false)
    const out = new Float64Array(3)
    assert.equal(q.popDue(10, out), 2)
    assert.deepEqual([...out], [10, ids[0], ids[2]])
    assert.equal(q.popDue(10, out), 2)
    assert.deepEqual([...out], [10, ids[3], ids[4]])
    assert.equal(q.peekDeadline(), null)
    assert.throws(() => q.insert(-1), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' })
    assert.throws(() => q.insert('5'), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' })
    assert.throws(() => q.cancel('5'), { code: 'ERR_INVALID_ARG_TYPE' })
    assert.throws(() => q.popDue(5, new Float64Array(1)), { code: 'ERR_OUT_OF_RANGE' })
    assert.throws(() => q.popDue(5, new Float32Array(4)), { code: 'ERR_INVALID_ARG_TYPE' })
    assert.throws(() => q.popDue(5, [0, 0]), { code: 'ERR_INVALID_ARG_TYPE' })
    assert.throws(() => q.popDue(NaN, out), { code: 'ERR_INVALID_ARG_TYPE' })
  })
}

test('TimerQueue: a popDue into a view with an offset writes only inside the view', () => {
  const q = new TimerQueue()
  q.insert(1)
  const backing = new Float64Array(6).fill(-1)
  const view = backing.subarray(2, 4)
  assert.equal(q.popDue(5, view), 1)
  assert.deepEqual([...backing], [-1, -1, 1, 1, -1, -1])
})

test('TimerQueue: one public form per operation (no fastPaths, handle or rawFunctions)', () => {
  const seqloop = require('..')
  const q = new TimerQueue()
  for (const gone of ['fastPaths', 'handle', '__seqloopHandle']) assert.equal(q[gone], undefined, gone)
  assert.equal(TimerQueue.rawFunctions, undefined)
  assert.equal(seqloop.__seqloopTimerQueueRaw, undefined)
  assert.equal(Object.keys(seqloop).some((k) => k.startsWith('__')), false)
  requireGc()()
  const id = q.insert(3)
  assert.equal(q.size, 1)
  assert.equal(q.cancel(id), true)
  assert.equal(q.size, 0)
})

test('TimerQueue: a method called on another receiver is ERR_INVALID_THIS', () => {
  const q = new TimerQueue()
  for (const bogus of [{}, null, 7, Object.create(TimerQueue.prototype)]) {
    assert.throws(() => q.insert.call(bogus, 5), { name: 'TypeError', code: 'ERR_INVALID_THIS' })
  }
  assert.throws(() => Object.getOwnPropertyDescriptor(TimerQueue.prototype, 'size').get.call({}), { code: 'ERR_INVALID_THIS' })
})

test('the raw TimerQueue functions (the fake timers\' route) refuse anything but a live queue handle', () => {
  const { EventLoop } = require('..')
  const r = queueRaw
  const loopInternals = require('../lib/event-loop.js').internals
  const loopHandle = loopInternals.loopHandle(new EventLoop())
  for (const bogus of [{}, null, 7, 'h', undefined, loopHandle]) {
    assert.throws(() => r.insert(bogus, 5), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' })
    assert.throws(() => r.size(bogus), { code: 'ERR_INVALID_ARG_TYPE' })
  }
  // And the other way round: a queue handle is not a loop handle.
  const loopRaw = loopInternals.rawFunctions()
  assert.throws(() => loopRaw.step(r.create()), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' })
})

test('TimerQueue.insertMany: caller ids in one call, all or nothing', () => {
  const q = new TimerQueue()
  // [id, deadline] pairs; ties keep the order of the entries, whatever the ids.
  assert.equal(q.insertMany(new Float64Array([9, 20, 4, 10, 7, 20, 2, 10]), 4), 4)
  assert.deepEqual(q.entries(), [4, 10, 2, 10, 9, 20, 7, 20])
  // count may be shorter than the array; auto ids never collide with caller ids.
  assert.equal(q.insertMany(new Float64Array([5, 1, 99, 99]), 1), 1)
  const auto = new Set(Array.from({ length: 12 }, () => q.insert(30)))
  for (const id of [2, 4, 5, 7, 9]) assert.equal(auto.has(id), false)
  const before = q.entries()
  const refused = [
    [[1001, 1, 4, 1], 'ERR_INVALID_ARG_VALUE'], // 4 is pending: 1001 is rolled back
    [[1001, 1, 1001, 2], 'ERR_INVALID_ARG_VALUE'], // the same id twice in one call
    [[1001, 1, 0, 1], 'ERR_OUT_OF_RANGE'], // ids are positive
    [[1001, 1, 1.5, 1], 'ERR_OUT_OF_RANGE'],
    [[1001, 1, 2 ** 53, 1], 'ERR_OUT_OF_RANGE'],
    [[1001, 1, 1002, -1], 'ERR_OUT_OF_RANGE'], // deadlines are non-negative
    [[1001, 1, 1002, NaN], 'ERR_OUT_OF_RANGE']
  ]
  for (const [entries, code] of refused) {
    assert.throws(() => q.insertMany(new Float64Array(entries), 2), { code }, String(entries))
    assert.deepEqual(q.entries(), before, `nothing inserted by ${entries}`)
  }
  assert.throws(() => q.insertMany(new Float64Array(4), 3), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' })
  assert.throws(() => q.insertMany([1, 2], 1), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' })
  assert.throws(() => q.insertMany(new Float64Array(2), -1), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' })
  // A fired or cancelled id may be used again.
  const out = new Float64Array(8)
  assert.equal(q.popDue(10, out), 1)
  assert.equal(out[1], 5)
  assert.equal(q.popDue(10, out), 2)
  assert.deepEqual([...out.subarray(1, 3)], [4, 2])
  assert.equal(q.cancel(9), true)
  assert.equal(q.insertMany(new Float64Array([4, 15, 9, 15]), 2), 2)
  assert.equal(q.peekDeadline(), 15)
  assert.equal(q.popDue(15, out), 2)
  assert.deepEqual([...out.subarray(1, 3)], [4, 9])
})

test('the raw functions\' create(): a handle to a new queue of its own', () => {
  const r = queueRaw
  const [a, b] = [r.create(), r.create()]
  assert.equal(r.insert(a, 7), 1)
  assert.equal(r.insertMany(b, new Float64Array([5, 3]), 1), 1)
  assert.deepEqual([r.size(a), r.size(b)], [1, 1])
  assert.deepEqual([r.peekDeadline(a), r.peekDeadline(b)], [7, 3])
  const out = new Float64Array(4)
  assert.equal(r.popDue(b, 10, out), 1)
  assert.deepEqual([...out.subarray(0, 2)], [3, 5])
  assert.equal(r.cancel(a, 1), true)
  assert.deepEqual([r.size(a), r.size(b)], [0, 0])
  // A created handle is a queue handle, not a loop handle.
  const loopRaw = require('../lib/event-loop.js').internals.rawFunctions()
  assert.throws(() => loopRaw.step(r.create()), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' })
})
