'use strict'
// The data-level Scheduler through the built addon (API.md §1, behaviors.md §3–§4).
// Test names carry the behaviour ids of shared/reference/behaviors.md where one applies.

const assert = require('node:assert/strict')
const { test } = require('node:test')
const seqloop = require('..') // the package entry (package.json main: lib/index.js)

const { Scheduler, DeterministicClock, WallClock } = seqloop

// ---------------------------------------------------------------------------------------------
// helpers

/** A scheduler on a virtual clock starting at `start`, plus the clock. */
function virtual(start = 0) {
  const clock = new DeterministicClock(start)
  return { s: new Scheduler({ clock }), clock }
}

/** Every macrotask until the first null tick. */
function drainAll(s) {
  const out = []
  for (let t = s.tick(); t !== null; t = s.tick()) {
    out.push(t)
    assert.ok(out.length < 100000, 'runaway drain')
  }
  return out
}

/** Asserts `fn` throws an instance of exactly `Class` with `code`; returns the error. */
const { throwsExactly: throwsCoded } = require('./helpers.js')

/** The observable state that an error must not change. */
function state(s) {
  return {
    seq: s.currentSeq,
    macrotasks: s.macrotaskCount,
    timers: s.timerCount,
    pending: s.hasPending(),
    next: s.nextTimerDeadline(),
  }
}

/**
 * A scheduler holding one queued event ('keep', {k: 1}) and one timer (deadline 10), for
 * "nothing queued was lost" checks.
 */
function loaded() {
  const { s, clock } = virtual(0)
  s.enqueueEvent('keep', { k: 1 })
  const timerId = s.setTimeout(10)
  return { s, clock, timerId, before: state(s) }
}

/** After an error: state unchanged, a later valid operation works, the queued work is intact. */
function assertIntact({ s, clock, timerId, before }) {
  assert.deepEqual(state(s), before)
  s.enqueueEvent('after', null) // a later valid operation
  clock.advance(10)
  const tasks = drainAll(s)
  assert.deepEqual(tasks, [
    { seq: before.seq - 2, kind: 'inbound_event', eventId: 'keep', payload: { k: 1 } },
    { seq: before.seq, kind: 'inbound_event', eventId: 'after', payload: null },
    { seq: before.seq + 1, kind: 'timer_fired', timerId },
  ])
  assert.equal(s.hasPending(), false)
}

/** The suites' one seeded PRNG (mulberry32) for scripted scenarios. */
const { prng } = require('./helpers.js')

// ---------------------------------------------------------------------------------------------
// API shape (API.md §1)

test('exports the Scheduler, DeterministicClock and WallClock classes', () => {
  assert.equal(typeof Scheduler, 'function')
  assert.equal(typeof DeterministicClock, 'function')
  assert.equal(typeof WallClock, 'function')
})

test('Scheduler instance has every member of API.md §1 with the right type', () => {
  const { s } = virtual(0)
  for (const m of [
    'nowMs',
    'hasPending',
    'setTimeout',
    'clearTimeout',
    'enqueueHostcallComplete',
    'enqueueHostcallCompletions',
    'enqueueStreamChunk',
    'enqueueEvent',
    'tick',
    'nextTimerDeadline',
    'timeUntilNextTimer',
    'drain',
  ]) {
    assert.equal(typeof s[m], 'function', m)
  }
  for (const p of ['currentSeq', 'macrotaskCount', 'timerCount']) {
    assert.equal(typeof s[p], 'number', p)
  }
  assert.equal(s.currentSeq, 0)
  assert.equal(s.macrotaskCount, 0)
  assert.equal(s.timerCount, 0)
  assert.equal(typeof s.nowMs(), 'number')
  assert.equal(typeof s.hasPending(), 'boolean')
  assert.equal(s.tick(), null)
  assert.equal(s.nextTimerDeadline(), null)
  assert.equal(s.timeUntilNextTimer(), null)
  assert.deepEqual(s.drain(10), [])
})

test('clock classes have their members', () => {
  const d = new DeterministicClock()
  for (const m of ['nowMs', 'advance', 'set']) assert.equal(typeof d[m], 'function', m)
  assert.equal(d.nowMs(), 0)
  const w = new WallClock()
  assert.equal(typeof w.nowMs, 'function')
  assert.equal(typeof w.nowMs(), 'number')
})

test('Macrotask shapes: timer_fired, hostcall_complete (3 outcomes), inbound_event', () => {
  const { s, clock } = virtual(0)
  s.setTimeout(0) // seq 0
  s.enqueueHostcallComplete('a', { type: 'success', value: { v: 1 } }) // seq 1
  s.enqueueHostcallComplete('b', { type: 'error', code: 'E_X', message: 'bad' }) // seq 2
  s.enqueueStreamChunk('c', 3, ['x'], true) // seq 3
  s.enqueueEvent('d', 'p') // seq 4
  clock.advance(0)
  assert.deepEqual(drainAll(s), [
    { seq: 1, kind: 'hostcall_complete', callId: 'a', outcome: { type: 'success', value: { v: 1 } } },
    { seq: 2, kind: 'hostcall_complete', callId: 'b', outcome: { type: 'error', code: 'E_X', message: 'bad' } },
    {
      seq: 3,
      kind: 'hostcall_complete',
      callId: 'c',
      outcome: { type: 'stream_chunk', sequence: 3, chunk: ['x'], isFinal: true },
    },
    { seq: 4, kind: 'inbound_event', eventId: 'd', payload: 'p' },
    { seq: 5, kind: 'timer_fired', timerId: 1 },
  ])
})

// ---------------------------------------------------------------------------------------------
// Clocks (C1–C4) and construction (SC1, SC2, SC4)

test('C1: DeterministicClock(1000): advance(500) → 1500, set(2000) → 2000', () => {
  const c = new DeterministicClock(1000)
  assert.equal(c.nowMs(), 1000)
  c.advance(500)
  assert.equal(c.nowMs(), 1500)
  c.set(2000)
  assert.equal(c.nowMs(), 2000)
})

test('C2: set replaces, then advance adds (0, 50, 1000, 1005)', () => {
  const c = new DeterministicClock(0)
  assert.equal(c.nowMs(), 0)
  c.advance(50)
  assert.equal(c.nowMs(), 50)
  c.set(1000)
  assert.equal(c.nowMs(), 1000)
  c.advance(5)
  assert.equal(c.nowMs(), 1005)
})

test('C3: the scheduler and the test share one DeterministicClock', () => {
  const clock = new DeterministicClock(42)
  const s = new Scheduler({ clock })
  assert.equal(s.nowMs(), 42)
  clock.advance(10)
  assert.equal(s.nowMs(), 52)
  s.setTimeout(8)
  assert.equal(s.nextTimerDeadline(), 60)
  assert.equal(s.tick(), null)
  clock.advance(8)
  assert.deepEqual(s.tick(), { seq: 1, kind: 'timer_fired', timerId: 1 })
})

test('C4: WallClock reads milliseconds since the epoch (and is the default)', () => {
  const w = new WallClock().nowMs()
  assert.ok(w > 0)
  assert.ok(Number.isSafeInteger(w))
  // Milliseconds, not seconds or microseconds: within a day of Date.now().
  assert.ok(Math.abs(w - Date.now()) < 86400000)
  const byDefault = new Scheduler().nowMs()
  assert.ok(byDefault > 0 && Math.abs(byDefault - Date.now()) < 86400000)
  assert.ok(new Scheduler({}).nowMs() > 0)
  assert.ok(new Scheduler({ clock: new WallClock() }).nowMs() > 0)
})

test('DeterministicClock truncates fractional times', () => {
  const c = new DeterministicClock(1.7)
  assert.equal(c.nowMs(), 1)
  c.advance(2.9)
  assert.equal(c.nowMs(), 3)
  c.set(10.5)
  assert.equal(c.nowMs(), 10)
})

test('SC1/SC2: a fresh scheduler is empty at seq 0', () => {
  for (const s of [new Scheduler(), virtual(0).s]) {
    assert.equal(s.currentSeq, 0)
    assert.equal(s.hasPending(), false)
    assert.equal(s.macrotaskCount, 0)
    assert.equal(s.timerCount, 0)
    assert.equal(s.tick(), null)
  }
})

test('SC4: currentSeq advances by one per setTimeout, enqueue and moved timer', () => {
  const { s, clock } = virtual(0)
  s.setTimeout(100)
  assert.equal(s.currentSeq, 1)
  s.enqueueEvent('e', null)
  assert.equal(s.currentSeq, 2)
  s.enqueueHostcallComplete('c', { type: 'success', value: 1 })
  assert.equal(s.currentSeq, 3)
  s.enqueueStreamChunk('st', 0, 'x', false)
  assert.equal(s.currentSeq, 4)
  s.enqueueHostcallCompletions([
    ['a', { type: 'success', value: 1 }],
    ['b', { type: 'success', value: 2 }],
  ])
  assert.equal(s.currentSeq, 6)
  const t = s.setTimeout(1000)
  assert.equal(s.currentSeq, 7)
  assert.equal(s.clearTimeout(t), true)
  assert.equal(s.currentSeq, 7, 'clearTimeout takes no seq')
  clock.advance(100)
  s.tick() // moves timer 1 (fresh seq 7), pops the event
  assert.equal(s.currentSeq, 8)
  drainAll(s)
  assert.equal(s.currentSeq, 8, 'empty ticks take no seq')
})

// ---------------------------------------------------------------------------------------------
// Timers (TM1–TM5), clearTimeout (CT1–CT3, CT5)

test('TM1: first timer id is 1; fires only once due', () => {
  const { s, clock } = virtual(0)
  const id = s.setTimeout(100)
  assert.equal(id, 1)
  assert.equal(s.timerCount, 1)
  assert.equal(s.tick(), null)
  clock.advance(150)
  assert.deepEqual(s.tick(), { seq: 1, kind: 'timer_fired', timerId: 1 })
  assert.equal(s.timerCount, 0)
})

test('TM2: timers fire in deadline order', () => {
  const { s, clock } = virtual(0)
  const t3 = s.setTimeout(300)
  const t1 = s.setTimeout(100)
  const t2 = s.setTimeout(200)
  clock.advance(400)
  assert.deepEqual([s.tick().timerId, s.tick().timerId, s.tick().timerId], [t1, t2, t3])
  assert.equal(s.tick(), null)
})

test('TM3: equal deadlines fire in creation order', () => {
  const { s, clock } = virtual(0)
  const ids = [s.setTimeout(100), s.setTimeout(100), s.setTimeout(100)]
  assert.deepEqual(ids, [1, 2, 3])
  clock.advance(150)
  assert.deepEqual(drainAll(s).map((t) => t.timerId), ids)
})

test('TM4: the deadline is inclusive', () => {
  const { s, clock } = virtual(0)
  const id = s.setTimeout(100)
  clock.advance(99)
  assert.equal(s.tick(), null)
  clock.advance(1)
  assert.equal(s.tick().timerId, id)
})

test('TM5: timerCount drops when a timer is moved out', () => {
  for (const [a, b, adv] of [
    [50, 100, 75],
    [100, 200, 150],
  ]) {
    const { s, clock } = virtual(0)
    s.setTimeout(a)
    s.setTimeout(b)
    assert.equal(s.timerCount, 2)
    clock.advance(adv)
    assert.equal(s.tick().timerId, 1)
    assert.equal(s.timerCount, 1)
  }
})

test('a zero delay is due on the next tick; fractional delays are truncated', () => {
  const { s, clock } = virtual(500)
  s.setTimeout(0)
  assert.equal(s.nextTimerDeadline(), 500)
  assert.equal(s.tick().timerId, 1)
  s.setTimeout(10.9)
  assert.equal(s.nextTimerDeadline(), 510)
  s.setTimeout(0.5)
  assert.equal(s.nextTimerDeadline(), 500)
  s.setTimeout(-0)
  assert.equal(s.timerCount, 3)
  clock.advance(10)
  assert.deepEqual(drainAll(s).map((t) => t.timerId), [3, 4, 2])
})

test('setTimeout accepts the largest safe delay', () => {
  const { s } = virtual(0)
  s.setTimeout(Number.MAX_SAFE_INTEGER)
  assert.equal(s.nextTimerDeadline(), Number.MAX_SAFE_INTEGER)
  assert.equal(s.timeUntilNextTimer(), Number.MAX_SAFE_INTEGER)
})

test('CT1: clearing a pending timer → true, and it never fires', () => {
  const { s, clock } = virtual(0)
  const t1 = s.setTimeout(100)
  const t2 = s.setTimeout(200)
  assert.equal(s.clearTimeout(t1), true)
  clock.advance(250)
  assert.equal(s.tick().timerId, t2)
  assert.equal(s.tick(), null)
})

test('CT2: unknown id → false, nothing recorded', () => {
  const { s, clock } = virtual(0)
  assert.equal(s.clearTimeout(999), false)
  assert.equal(s.clearTimeout(0), false)
  assert.deepEqual(state(s), { seq: 0, macrotasks: 0, timers: 0, pending: false, next: null })
  const id = s.setTimeout(5)
  clock.advance(5)
  assert.equal(s.tick().timerId, id)
})

test('CT3: already-cancelled → false', () => {
  const { s } = virtual(0)
  const t = s.setTimeout(100)
  assert.equal(s.clearTimeout(t), true)
  assert.equal(s.clearTimeout(t), false)
})

test('CT5: fired id → false', () => {
  const { s, clock } = virtual(0)
  const t = s.setTimeout(10)
  const other = s.setTimeout(500)
  clock.advance(10)
  assert.equal(s.tick().timerId, t)
  assert.equal(s.clearTimeout(t), false)
  assert.equal(s.timerCount, 1)
  assert.equal(s.clearTimeout(other), true)
})

test('clearTimeout truncates a fractional id', () => {
  const { s } = virtual(0)
  const t = s.setTimeout(100)
  assert.equal(s.clearTimeout(t + 0.5), true)
  assert.equal(s.timerCount, 0)
})

// ---------------------------------------------------------------------------------------------
// hasPending and counts (HP1–HP5), next deadline (ND1–ND5)

test('HP1: timer only', () => {
  const { s } = virtual(0)
  s.setTimeout(100)
  assert.equal(s.hasPending(), true)
  assert.equal(s.macrotaskCount, 0)
  assert.equal(s.timerCount, 1)
})

test('HP2: one event only', () => {
  const { s } = virtual(0)
  s.enqueueEvent('e', {})
  assert.equal(s.hasPending(), true)
  assert.equal(s.macrotaskCount, 1)
  assert.equal(s.timerCount, 0)
})

test('HP3: cancelled timers are not pending (and not counted)', () => {
  const { s } = virtual(0)
  const t = s.setTimeout(10000)
  assert.equal(s.clearTimeout(t), true)
  assert.equal(s.hasPending(), false)
  assert.equal(s.timerCount, 0) // seqloop counts live timers only
})

test('HP4: macrotaskCount follows the queue', () => {
  const { s } = virtual(0)
  s.enqueueEvent('a', 1)
  s.enqueueEvent('b', 2)
  assert.equal(s.macrotaskCount, 2)
  s.tick()
  assert.equal(s.macrotaskCount, 1)
  s.tick()
  assert.equal(s.macrotaskCount, 0)
})

test('HP5: one macrotask per tick', () => {
  const { s } = virtual(0)
  for (const id of ['e0', 'e1', 'e2']) s.enqueueEvent(id, null)
  for (const left of [2, 1, 0]) {
    assert.notEqual(s.tick(), null)
    assert.equal(s.macrotaskCount, left)
  }
  assert.equal(s.tick(), null)
  assert.equal(s.hasPending(), false)
})

test('ND1: no timers → null, null', () => {
  const { s } = virtual(0)
  assert.equal(s.nextTimerDeadline(), null)
  assert.equal(s.timeUntilNextTimer(), null)
})

test('ND2: earliest deadline 100, time until 100, then 50', () => {
  const { s, clock } = virtual(0)
  for (const d of [200, 100, 300]) s.setTimeout(d)
  assert.equal(s.nextTimerDeadline(), 100)
  assert.equal(s.timeUntilNextTimer(), 100)
  clock.advance(50)
  assert.equal(s.timeUntilNextTimer(), 50)
})

test('ND3: cancelled timers are skipped', () => {
  const { s } = virtual(0)
  const t = s.setTimeout(100)
  s.setTimeout(200)
  s.setTimeout(300)
  s.clearTimeout(t)
  assert.equal(s.nextTimerDeadline(), 200)
  assert.equal(s.timeUntilNextTimer(), 200)
})

test('ND4: time until saturates at 0', () => {
  const { s, clock } = virtual(0)
  s.setTimeout(50)
  clock.advance(100)
  assert.equal(s.timeUntilNextTimer(), 0)
})

test('ND5: clock starting at 100', () => {
  const { s, clock } = virtual(100)
  s.setTimeout(50)
  assert.equal(s.nextTimerDeadline(), 150)
  assert.equal(s.timeUntilNextTimer(), 50)
  clock.advance(20)
  assert.equal(s.timeUntilNextTimer(), 30)
})

// ---------------------------------------------------------------------------------------------
// Macrotask order (MQ1–MQ3)

test('MQ1: a queued event runs before a due timer', () => {
  const { s, clock } = virtual(0)
  const t = s.setTimeout(50)
  s.enqueueEvent('evt-1', null)
  clock.advance(100)
  assert.equal(s.tick().eventId, 'evt-1')
  assert.equal(s.tick().timerId, t)
  assert.equal(s.tick(), null)
})

test('MQ2: the fired timer takes a fresh seq (event = 1, timer = 2)', () => {
  const { s, clock } = virtual(0)
  const t1 = s.setTimeout(100)
  s.enqueueEvent('E1', null)
  clock.advance(100)
  assert.deepEqual(s.tick(), { seq: 1, kind: 'inbound_event', eventId: 'E1', payload: null })
  assert.deepEqual(s.tick(), { seq: 2, kind: 'timer_fired', timerId: t1 })
})

test('MQ3: a due timer goes behind chunks queued before the tick (seqs 1, 2, 3)', () => {
  const { s, clock } = virtual(0)
  const t = s.setTimeout(100)
  s.enqueueStreamChunk('s1', 0, 'a', false)
  clock.advance(150)
  s.enqueueStreamChunk('s1', 1, 'b', true)
  assert.deepEqual(drainAll(s), [
    { seq: 1, kind: 'hostcall_complete', callId: 's1', outcome: { type: 'stream_chunk', sequence: 0, chunk: 'a', isFinal: false } },
    { seq: 2, kind: 'hostcall_complete', callId: 's1', outcome: { type: 'stream_chunk', sequence: 1, chunk: 'b', isFinal: true } },
    { seq: 3, kind: 'timer_fired', timerId: t },
  ])
})

// ---------------------------------------------------------------------------------------------
// Hostcalls (HC1–HC3), streams (ST1–ST5), events (EV1)

test('HC1: success completion', () => {
  const { s } = virtual(0)
  s.enqueueHostcallComplete('call-1', { type: 'success', value: { result: 42 } })
  const t = s.tick()
  assert.equal(t.kind, 'hostcall_complete')
  assert.equal(t.callId, 'call-1')
  assert.equal(t.outcome.type, 'success')
  assert.equal(t.outcome.value.result, 42)
})

test('HC2: error completion', () => {
  const { s } = virtual(0)
  s.enqueueHostcallComplete('err-call', { type: 'error', code: 'E_TIMEOUT', message: 'Request timed out' })
  assert.deepEqual(s.tick(), {
    seq: 0,
    kind: 'hostcall_complete',
    callId: 'err-call',
    outcome: { type: 'error', code: 'E_TIMEOUT', message: 'Request timed out' },
  })
})

test('HC3: enqueueHostcallCompletions keeps list order, one seq each', () => {
  const { s } = virtual(0)
  s.enqueueHostcallCompletions([
    ['c-1', { type: 'success', value: 1 }],
    ['c-2', { type: 'success', value: 2 }],
    ['c-3', { type: 'success', value: 3 }],
  ])
  assert.equal(s.macrotaskCount, 3)
  for (const [i, id] of ['c-1', 'c-2', 'c-3'].entries()) {
    assert.deepEqual(s.tick(), {
      seq: i,
      kind: 'hostcall_complete',
      callId: id,
      outcome: { type: 'success', value: i + 1 },
    })
  }
  assert.equal(s.tick(), null)
})

test('HC3: a batch equals sequential single enqueues (all three outcome types)', () => {
  const list = [
    ['a', { type: 'success', value: { x: [1, 2] } }],
    ['b', { type: 'error', code: 'E', message: 'm' }],
    ['c', { type: 'stream_chunk', sequence: 4, chunk: 'z', isFinal: false }],
  ]
  const one = virtual(0).s
  const many = virtual(0).s
  one.enqueueEvent('before', 0)
  many.enqueueEvent('before', 0)
  one.enqueueHostcallCompletions(list)
  for (const [id, o] of list) many.enqueueHostcallComplete(id, o)
  assert.equal(one.currentSeq, many.currentSeq)
  assert.deepEqual(drainAll(one), drainAll(many))
  one.enqueueHostcallCompletions([])
  assert.equal(one.currentSeq, 4)
})

/** `[callId, sequence, chunk, isFinal]` of a stream-chunk task. */
const chunkOf = (t) => {
  assert.equal(t.kind, 'hostcall_complete')
  assert.equal(t.outcome.type, 'stream_chunk')
  return [t.callId, t.outcome.sequence, t.outcome.chunk, t.outcome.isFinal]
}

test('ST1: one stream in order, one final and it is last', () => {
  const { s } = virtual(0)
  s.enqueueStreamChunk('call-stream', 0, { part: 'a' }, false)
  s.enqueueStreamChunk('call-stream', 1, { part: 'b' }, false)
  s.enqueueStreamChunk('call-stream', 2, { part: 'c' }, true)
  assert.deepEqual(drainAll(s).map(chunkOf), [
    ['call-stream', 0, { part: 'a' }, false],
    ['call-stream', 1, { part: 'b' }, false],
    ['call-stream', 2, { part: 'c' }, true],
  ])
})

test('ST2: interleaved streams keep FIFO', () => {
  const { s } = virtual(0)
  s.enqueueStreamChunk('call-a', 0, null, false)
  s.enqueueStreamChunk('call-b', 0, null, false)
  s.enqueueStreamChunk('call-a', 1, null, true)
  s.enqueueStreamChunk('call-b', 1, null, true)
  assert.deepEqual(
    drainAll(s).map((t) => chunkOf(t).filter((_, i) => i !== 2)),
    [
      ['call-a', 0, false],
      ['call-b', 0, false],
      ['call-a', 1, true],
      ['call-b', 1, true],
    ],
  )
})

test('ST3: 10 streams × 5 chunks, chunk-major', () => {
  const { s } = virtual(0)
  for (let c = 0; c < 5; c++) {
    for (let st = 0; st < 10; st++) s.enqueueStreamChunk(`stream-${st}`, c, { s: st, c }, c === 4)
  }
  const per = new Map()
  for (const [id, seq, chunk, fin] of drainAll(s).map(chunkOf)) {
    if (!per.has(id)) per.set(id, [])
    per.get(id).push([seq, chunk, fin])
  }
  assert.equal(per.size, 10)
  for (let st = 0; st < 10; st++) {
    assert.deepEqual(
      per.get(`stream-${st}`),
      [0, 1, 2, 3, 4].map((c) => [c, { s: st, c }, c === 4]),
    )
  }
})

test('ST4: 10 streams × 3 chunks twice → identical traces of 30', () => {
  const run = () => {
    const { s } = virtual(0)
    for (let c = 0; c < 3; c++) {
      for (let st = 0; st < 10; st++) s.enqueueStreamChunk(`s${st}`, c, { s: st, c }, c === 2)
    }
    return drainAll(s)
  }
  const a = run()
  assert.equal(a.length, 30)
  assert.deepEqual(a, run())
  assert.deepEqual(a.map((t) => t.seq), [...Array(30).keys()])
})

test('ST5: mixed tasks in FIFO order (event, chunk, ok, stream_final, event)', () => {
  const { s } = virtual(0)
  s.enqueueEvent('evt-1', 1)
  s.enqueueStreamChunk('stream-x', 0, 'x0', false)
  s.enqueueHostcallComplete('call-y', { type: 'success', value: { ok: true } })
  s.enqueueStreamChunk('stream-x', 1, 'x1', true)
  s.enqueueEvent('evt-2', 2)
  const tag = (t) => {
    if (t.kind === 'inbound_event') return `event:${t.eventId}`
    if (t.outcome.type === 'success') return `ok:${t.callId}`
    return `${t.outcome.isFinal ? 'stream_final' : 'chunk'}:${t.callId}`
  }
  assert.deepEqual(drainAll(s).map(tag), [
    'event:evt-1',
    'chunk:stream-x',
    'ok:call-y',
    'stream_final:stream-x',
    'event:evt-2',
  ])
})

test('EV1: events are FIFO', () => {
  const { s } = virtual(0)
  s.enqueueEvent('evt-1', { n: 1 })
  s.enqueueEvent('evt-2', { n: 2 })
  assert.deepEqual(s.tick(), { seq: 0, kind: 'inbound_event', eventId: 'evt-1', payload: { n: 1 } })
  assert.deepEqual(s.tick(), { seq: 1, kind: 'inbound_event', eventId: 'evt-2', payload: { n: 2 } })
  assert.equal(s.tick(), null)
})

test('a missing or undefined payload is null', () => {
  const { s } = virtual(0)
  s.enqueueEvent('a')
  s.enqueueEvent('b', undefined)
  s.enqueueStreamChunk('c', 0, undefined, true)
  s.enqueueHostcallComplete('d', { type: 'success' })
  const t = drainAll(s)
  assert.equal(t[0].payload, null)
  assert.equal(t[1].payload, null)
  assert.equal(t[2].outcome.chunk, null)
  assert.equal(t[3].outcome.value, null)
})

// ---------------------------------------------------------------------------------------------
// JSON payload round trip

test('JSON payloads round-trip (nested objects, arrays, strings, numbers, booleans, null)', () => {
  const payloads = [
    { a: { b: { c: [1, 2, { d: 'e' }] } }, list: [[], {}, [[null]]] },
    ['x', 0, -1, 1.5, -2.25, 1e300, 2 ** 40, Number.MAX_SAFE_INTEGER, true, false, null],
    'plain string',
    '',
    'unicode ü ß 日本 🎉 "quotes" \\ \n',
    42,
    -7,
    0.1,
    true,
    false,
    null,
    { 'key with spaces': 1, ü: 'ß', '': 'empty key', nested: { arr: [true, { z: null }] } },
  ]
  const { s } = virtual(0)
  for (const [i, p] of payloads.entries()) {
    s.enqueueEvent(`e${i}`, p)
    s.enqueueHostcallComplete(`c${i}`, { type: 'success', value: p })
    s.enqueueStreamChunk(`s${i}`, i, p, false)
  }
  const tasks = drainAll(s)
  for (const [i, p] of payloads.entries()) {
    assert.deepEqual(tasks[3 * i].payload, p)
    assert.deepEqual(tasks[3 * i + 1].outcome.value, p)
    assert.deepEqual(tasks[3 * i + 2].outcome.chunk, p)
  }
})

test('payloads are copied at enqueue (later mutation is not seen)', () => {
  const { s } = virtual(0)
  const p = { n: 1, list: [1] }
  s.enqueueEvent('e', p)
  p.n = 2
  p.list.push(2)
  assert.deepEqual(s.tick().payload, { n: 1, list: [1] })
})

// ---------------------------------------------------------------------------------------------
// Custom clocks

test('a custom { nowMs() } clock drives timers', () => {
  let now = 1000
  const calls = []
  const clock = {
    nowMs() {
      calls.push(this)
      return now
    },
  }
  const s = new Scheduler({ clock })
  assert.equal(s.nowMs(), 1000)
  assert.equal(calls.at(-1), clock, 'nowMs is called with the clock as this')
  const t = s.setTimeout(100)
  assert.equal(s.nextTimerDeadline(), 1100)
  assert.equal(s.timeUntilNextTimer(), 100)
  now = 1099
  assert.equal(s.tick(), null)
  assert.equal(s.timeUntilNextTimer(), 1)
  now = 1100
  assert.deepEqual(s.tick(), { seq: 1, kind: 'timer_fired', timerId: t })
  // Time may move backwards; the deadline is computed from the reading at setTimeout.
  now = 50
  s.setTimeout(10)
  assert.equal(s.nextTimerDeadline(), 60)
  now = 60
  assert.deepEqual(s.drain(5), [{ seq: 3, kind: 'timer_fired', timerId: 2 }])
})

test('a custom clock returning a fractional time is truncated', () => {
  const s = new Scheduler({ clock: { nowMs: () => 10.9 } })
  assert.equal(s.nowMs(), 10)
})

// ---------------------------------------------------------------------------------------------
// drain(n) equals repeated tick()

test('drain(n) returns exactly what repeated tick() would', () => {
  for (const seed of [1, 2, 3, 0xdeadbeef]) {
    const run = (consume) => {
      const rng = prng(seed)
      const { s, clock } = virtual(0)
      const ids = []
      const out = []
      for (let i = 0; i < 400; i++) {
        switch (rng.range(8)) {
          case 0:
          case 1:
            ids.push(s.setTimeout(rng.range(120)))
            break
          case 2:
            if (ids.length) out.push(['clear', s.clearTimeout(ids[rng.range(ids.length)])])
            break
          case 3:
            s.enqueueEvent(`e${i}`, { i })
            break
          case 4:
            s.enqueueHostcallComplete(`c${i}`, { type: 'success', value: i })
            break
          case 5:
            s.enqueueStreamChunk('st', i, [i], rng.range(2) === 0)
            break
          case 6:
            clock.advance(rng.range(40))
            break
          default: {
            const k = rng.range(6)
            const got = consume(s, k)
            assert.ok(got.length <= k)
            out.push(...got, state(s))
          }
        }
      }
      clock.advance(1000)
      out.push(...consume(s, 100000))
      assert.equal(s.hasPending(), false)
      return out
    }
    const ticked = run((s, k) => {
      const v = []
      while (v.length < k) {
        const t = s.tick()
        if (t === null) break
        v.push(t)
      }
      return v
    })
    const sizes = prng(seed + 99)
    const drained = run((s, k) => {
      const v = []
      while (v.length < k) {
        const want = Math.min(1 + sizes.range(4), k - v.length)
        const got = s.drain(want)
        v.push(...got)
        if (got.length < want) break
      }
      return v
    })
    assert.deepEqual(drained, ticked, `seed ${seed}`)
    assert.ok(ticked.some((t) => t && t.kind === 'timer_fired'), `seed ${seed}: no timer fired`)
  }
})

test('drain(0) takes nothing and moves no timer', () => {
  const { s, clock } = virtual(0)
  s.setTimeout(0)
  s.enqueueEvent('e', null)
  clock.advance(1)
  assert.deepEqual(s.drain(0), [])
  assert.equal(s.macrotaskCount, 1)
  assert.equal(s.timerCount, 1)
  assert.deepEqual(s.drain(1.9), [{ seq: 1, kind: 'inbound_event', eventId: 'e', payload: null }])
})

// ---------------------------------------------------------------------------------------------
// Error paths: class, code, and a scheduler that stays usable

test('setTimeout: out-of-range delays → RangeError ERR_OUT_OF_RANGE', () => {
  for (const bad of [-1, -0.5, -Infinity, NaN, Infinity, 2 ** 53, 1e300, Number.MAX_VALUE]) {
    const l = loaded()
    throwsCoded(() => l.s.setTimeout(bad), RangeError, 'ERR_OUT_OF_RANGE')
    assertIntact(l)
  }
})

test('setTimeout: non-number delays → TypeError ERR_INVALID_ARG_TYPE', () => {
  for (const bad of ['10', undefined, null, true, 10n, {}, [], () => 1, Symbol('s'), new Number(5)]) {
    const l = loaded()
    throwsCoded(() => l.s.setTimeout(bad), TypeError, 'ERR_INVALID_ARG_TYPE')
    assertIntact(l)
  }
  const l = loaded()
  throwsCoded(() => l.s.setTimeout(), TypeError, 'ERR_INVALID_ARG_TYPE')
  assertIntact(l)
})

test('clearTimeout: bad ids → coded errors, the timer survives', () => {
  for (const [bad, Class, code] of [
    ['1', TypeError, 'ERR_INVALID_ARG_TYPE'],
    [undefined, TypeError, 'ERR_INVALID_ARG_TYPE'],
    [null, TypeError, 'ERR_INVALID_ARG_TYPE'],
    [1n, TypeError, 'ERR_INVALID_ARG_TYPE'],
    [-1, RangeError, 'ERR_OUT_OF_RANGE'],
    [NaN, RangeError, 'ERR_OUT_OF_RANGE'],
    [Infinity, RangeError, 'ERR_OUT_OF_RANGE'],
    [2 ** 53, RangeError, 'ERR_OUT_OF_RANGE'],
  ]) {
    const l = loaded()
    throwsCoded(() => l.s.clearTimeout(bad), Class, code)
    assertIntact(l)
  }
})

test('drain: bad counts → coded errors', () => {
  for (const [bad, Class, code] of [
    ['1', TypeError, 'ERR_INVALID_ARG_TYPE'],
    [undefined, TypeError, 'ERR_INVALID_ARG_TYPE'],
    [-1, RangeError, 'ERR_OUT_OF_RANGE'],
    [NaN, RangeError, 'ERR_OUT_OF_RANGE'],
    [Infinity, RangeError, 'ERR_OUT_OF_RANGE'],
  ]) {
    const l = loaded()
    throwsCoded(() => l.s.drain(bad), Class, code)
    assertIntact(l)
  }
})

test('ids that are not strings → TypeError ERR_INVALID_ARG_TYPE', () => {
  const ok = { type: 'success', value: 1 }
  for (const bad of [1, undefined, null, {}, ['a'], Symbol('s'), 1n, new String('x')]) {
    for (const call of [
      (s) => s.enqueueEvent(bad, null),
      (s) => s.enqueueHostcallComplete(bad, ok),
      (s) => s.enqueueStreamChunk(bad, 0, null, false),
      (s) => s.enqueueHostcallCompletions([[bad, ok]]),
    ]) {
      const l = loaded()
      throwsCoded(() => call(l.s), TypeError, 'ERR_INVALID_ARG_TYPE')
      assertIntact(l)
    }
  }
})

test('enqueueStreamChunk: bad sequence / isFinal → coded errors', () => {
  for (const [args, Class, code] of [
    [['c', '1', null, false], TypeError, 'ERR_INVALID_ARG_TYPE'],
    [['c', -1, null, false], RangeError, 'ERR_OUT_OF_RANGE'],
    [['c', NaN, null, false], RangeError, 'ERR_OUT_OF_RANGE'],
    [['c', 2 ** 53, null, false], RangeError, 'ERR_OUT_OF_RANGE'],
    [['c', 0, null, 1], TypeError, 'ERR_INVALID_ARG_TYPE'],
    [['c', 0, null, 'true'], TypeError, 'ERR_INVALID_ARG_TYPE'],
    [['c', 0, null], TypeError, 'ERR_INVALID_ARG_TYPE'],
  ]) {
    const l = loaded()
    throwsCoded(() => l.s.enqueueStreamChunk(...args), Class, code)
    assertIntact(l)
  }
})

const BAD_OUTCOMES = [
  ['unknown type', { type: 'nope', value: 1 }],
  ['type in other case', { type: 'Success', value: 1 }],
  ['missing type', { value: 1 }],
  ['type not a string', { type: 1 }],
  ['null', null],
  ['undefined', undefined],
  ['string', 'success'],
  ['number', 1],
  ['array', []],
  ['error without message', { type: 'error', code: 'E' }],
  ['error without code', { type: 'error', message: 'm' }],
  ['error code not a string', { type: 'error', code: 1, message: 'm' }],
  ['stream_chunk without sequence', { type: 'stream_chunk', chunk: 1, isFinal: true }],
  ['stream_chunk sequence a string', { type: 'stream_chunk', sequence: '0', chunk: 1, isFinal: true }],
  ['stream_chunk without isFinal', { type: 'stream_chunk', sequence: 0, chunk: 1 }],
  ['stream_chunk snake_case is_final', { type: 'stream_chunk', sequence: 0, chunk: 1, is_final: true }],
  ['stream_chunk isFinal not boolean', { type: 'stream_chunk', sequence: 0, chunk: 1, isFinal: 1 }],
  ['success with a function value', { type: 'success', value: () => 1 }],
]

test('enqueueHostcallComplete: unknown or wrong-shaped outcomes → TypeError ERR_INVALID_ARG_TYPE', () => {
  for (const [name, outcome] of BAD_OUTCOMES) {
    const l = loaded()
    const err = throwsCoded(() => l.s.enqueueHostcallComplete('c', outcome), TypeError, 'ERR_INVALID_ARG_TYPE')
    assert.ok(err.message.length > 0, name)
    assertIntact(l)
  }
  const l = loaded()
  throwsCoded(() => l.s.enqueueHostcallComplete('c'), TypeError, 'ERR_INVALID_ARG_TYPE')
  assertIntact(l)
})

test('enqueueHostcallComplete: a negative stream_chunk sequence → RangeError ERR_OUT_OF_RANGE', () => {
  const l = loaded()
  throwsCoded(
    () => l.s.enqueueHostcallComplete('c', { type: 'stream_chunk', sequence: -1, chunk: 1, isFinal: true }),
    RangeError,
    'ERR_OUT_OF_RANGE',
  )
  assertIntact(l)
})

test('enqueueHostcallCompletions: a bad entry enqueues nothing', () => {
  const good = ['good', { type: 'success', value: 1 }]
  const badLists = [
    ...BAD_OUTCOMES.map(([, o]) => [good, ['bad', o]]),
    [good, [1, { type: 'success', value: 1 }]], // id not a string
    [good, ['only-id']], // one-element pair
    [good, []], // empty pair
    [good, 'not a pair'],
    [good, null],
    [good, , good], // a hole
    [good, { 0: 'x', 1: { type: 'success', value: 1 } }], // array-like, not an array
  ]
  for (const list of badLists) {
    const l = loaded()
    throwsCoded(() => l.s.enqueueHostcallCompletions(list), TypeError, 'ERR_INVALID_ARG_TYPE')
    assertIntact(l)
  }
  for (const notList of [undefined, null, 'x', 1, { length: 1, 0: good }]) {
    const l = loaded()
    throwsCoded(() => l.s.enqueueHostcallCompletions(notList), TypeError, 'ERR_INVALID_ARG_TYPE')
    assertIntact(l)
  }
  // A bad sequence value inside a stream_chunk entry is a range error, and still atomic.
  const l = loaded()
  throwsCoded(
    () =>
      l.s.enqueueHostcallCompletions([good, ['c', { type: 'stream_chunk', sequence: -1, chunk: 1, isFinal: true }]]),
    RangeError,
    'ERR_OUT_OF_RANGE',
  )
  assertIntact(l)
})

test('non-JSON payloads (function, symbol, cyclic, NaN, Infinity) → TypeError ERR_INVALID_ARG_TYPE', () => {
  const cyclic = { name: 'c' }
  cyclic.self = cyclic
  const cyclicArr = [1]
  cyclicArr.push(cyclicArr)
  const bad = [
    () => 1,
    Symbol('s'),
    cyclic,
    cyclicArr,
    { deep: { fn() {} } },
    [Symbol('in array')],
    NaN,
    Infinity,
    { n: -Infinity },
  ]
  for (const p of bad) {
    for (const call of [
      (s) => s.enqueueEvent('e', p),
      (s) => s.enqueueHostcallComplete('c', { type: 'success', value: p }),
      (s) => s.enqueueStreamChunk('c', 0, p, false),
      (s) => s.enqueueHostcallCompletions([['ok', { type: 'success', value: 1 }], ['c', { type: 'success', value: p }]]),
    ]) {
      const l = loaded()
      throwsCoded(() => call(l.s), TypeError, 'ERR_INVALID_ARG_TYPE')
      assertIntact(l)
    }
  }
})

test(
  'BigInt payloads → TypeError ERR_INVALID_ARG_TYPE',
  () => {
    for (const p of [5n, 2n ** 70n, { a: 1n }, [1n]]) {
      const l = loaded()
      throwsCoded(() => l.s.enqueueEvent('e', p), TypeError, 'ERR_INVALID_ARG_TYPE')
      assertIntact(l)
    }
  },
)

test('a payload getter that throws propagates, and nothing is enqueued', () => {
  const boom = new Error('boom')
  for (const call of [
    (s) => s.enqueueEvent('e', { get x() { throw boom } }),
    (s) => s.enqueueHostcallComplete('c', { get type() { throw boom } }),
  ]) {
    const l = loaded()
    assert.throws(() => call(l.s))
    assertIntact(l)
  }
})

test('constructor: bad options → TypeError ERR_INVALID_ARG_TYPE', () => {
  for (const opts of [5, 'x', true]) {
    throwsCoded(() => new Scheduler(opts), TypeError, 'ERR_INVALID_ARG_TYPE')
  }
  for (const clock of [5, 'wall', null, true, () => 1]) {
    throwsCoded(() => new Scheduler({ clock }), TypeError, 'ERR_INVALID_ARG_TYPE')
  }
})

test('constructor: a clock without a nowMs function → TypeError ERR_INVALID_ARG_TYPE', () => {
  for (const clock of [{}, { nowMs: 5 }, { nowMs: 'x' }, { now: () => 1 }]) {
    throwsCoded(() => new Scheduler({ clock }), TypeError, 'ERR_INVALID_ARG_TYPE')
  }
})

test('constructor: a clock whose nowMs throws → Error ERR_CLOCK_FAILED with the cause', () => {
  const boom = new Error('boom')
  const err = throwsCoded(
    () =>
      new Scheduler({
        clock: {
          nowMs() {
            throw boom
          },
        },
      }),
    Error,
    'ERR_CLOCK_FAILED',
  )
  assert.equal(err.cause, boom)
})

test('constructor: nowMs returning garbage → TypeError ERR_INVALID_RETURN_VALUE', () => {
  for (const garbage of [NaN, -1, 'x', undefined, null, {}, Infinity, 2 ** 53, 5n]) {
    throwsCoded(() => new Scheduler({ clock: { nowMs: () => garbage } }), TypeError, 'ERR_INVALID_RETURN_VALUE')
  }
})

/** A scheduler on a custom clock that can be switched to throw or to return garbage. */
function switchable() {
  const ctl = { now: 0, fail: null, garbage: undefined }
  const clock = {
    nowMs() {
      if (ctl.fail !== null) throw ctl.fail
      if (ctl.garbage !== undefined) return ctl.garbage
      return ctl.now
    },
  }
  const s = new Scheduler({ clock })
  s.enqueueEvent('keep', { k: 1 })
  const timerId = s.setTimeout(10)
  return { s, ctl, clock, timerId, before: state(s) }
}

/** Every scheduler method that reads a custom clock. */
const CLOCK_READERS = [
  ['nowMs', (s) => s.nowMs()],
  ['setTimeout', (s) => s.setTimeout(5)],
  ['tick', (s) => s.tick()],
  ['drain', (s) => s.drain(10)],
  ['timeUntilNextTimer', (s) => s.timeUntilNextTimer()],
]

function assertSwitchableIntact({ s, ctl, timerId, before }) {
  assert.deepEqual(state(s), before)
  ctl.fail = null
  ctl.garbage = undefined
  ctl.now = 10
  assert.deepEqual(drainAll(s), [
    { seq: 0, kind: 'inbound_event', eventId: 'keep', payload: { k: 1 } },
    { seq: 2, kind: 'timer_fired', timerId },
  ])
}

test('a custom clock that throws later → Error ERR_CLOCK_FAILED with cause; nothing lost', () => {
  for (const thrown of [new Error('boom'), new TypeError('t'), 'a string', 42]) {
    for (const [name, call] of CLOCK_READERS) {
      const l = switchable()
      l.ctl.fail = thrown
      const err = throwsCoded(() => call(l.s), Error, 'ERR_CLOCK_FAILED')
      assert.equal(err.cause, thrown, name)
      assertSwitchableIntact(l)
    }
  }
})

test('a custom clock returning garbage later → TypeError ERR_INVALID_RETURN_VALUE; nothing lost', () => {
  for (const garbage of [NaN, -1, 'x', null, Infinity, 2 ** 53, {}]) {
    for (const [, call] of CLOCK_READERS) {
      const l = switchable()
      l.ctl.garbage = garbage
      throwsCoded(() => call(l.s), TypeError, 'ERR_INVALID_RETURN_VALUE')
      assertSwitchableIntact(l)
    }
  }
})

test(
  'a custom clock whose nowMs is replaced by a non-function later → a coded error; nothing lost',
  () => {
    for (const replacement of [5, undefined]) {
      const l = switchable()
      const original = l.clock.nowMs
      l.clock.nowMs = replacement
      assert.throws(
        () => l.s.tick(),
        (err) => ['ERR_INVALID_ARG_TYPE', 'ERR_CLOCK_FAILED', 'ERR_INVALID_RETURN_VALUE'].includes(err.code),
      )
      l.clock.nowMs = original
      assertSwitchableIntact(l)
    }
  },
)

test('DeterministicClock: bad arguments → coded errors; the clock is unchanged', () => {
  throwsCoded(() => new DeterministicClock(-1), RangeError, 'ERR_OUT_OF_RANGE')
  throwsCoded(() => new DeterministicClock(NaN), RangeError, 'ERR_OUT_OF_RANGE')
  throwsCoded(() => new DeterministicClock(2 ** 53), RangeError, 'ERR_OUT_OF_RANGE')
  throwsCoded(() => new DeterministicClock('1'), TypeError, 'ERR_INVALID_ARG_TYPE')
  const c = new DeterministicClock(10)
  throwsCoded(() => c.advance(-1), RangeError, 'ERR_OUT_OF_RANGE')
  throwsCoded(() => c.advance(Infinity), RangeError, 'ERR_OUT_OF_RANGE')
  throwsCoded(() => c.advance('1'), TypeError, 'ERR_INVALID_ARG_TYPE')
  throwsCoded(() => c.set(-5), RangeError, 'ERR_OUT_OF_RANGE')
  throwsCoded(() => c.set(NaN), RangeError, 'ERR_OUT_OF_RANGE')
  throwsCoded(() => c.set(null), TypeError, 'ERR_INVALID_ARG_TYPE')
  assert.equal(c.nowMs(), 10)
  // Advancing past the safe-integer range is refused rather than losing precision.
  c.set(Number.MAX_SAFE_INTEGER - 1)
  c.advance(1)
  assert.equal(c.nowMs(), Number.MAX_SAFE_INTEGER)
  throwsCoded(() => c.advance(1), RangeError, 'ERR_OUT_OF_RANGE')
  assert.equal(c.nowMs(), Number.MAX_SAFE_INTEGER)
})

test('a failed setTimeout sets no timer and takes no seq', () => {
  const { s } = virtual(0)
  assert.throws(() => s.setTimeout(-1))
  assert.equal(s.currentSeq, 0)
  assert.equal(s.timerCount, 0)
  assert.equal(s.setTimeout(1), 1, 'the failed call used up no timer id')
})

test(
  'calling the classes without new throws a coded TypeError',
  () => {
    for (const call of [() => Scheduler(), () => Scheduler.call({}), () => DeterministicClock(1), () => WallClock()]) {
      assert.throws(call, (err) => err instanceof TypeError && typeof err.code === 'string')
    }
  },
)

test('seqloop clocks are read natively: a DeterministicClock is never called back through JS', () => {
  const clock = new seqloop.DeterministicClock(0)
  let calls = 0
  const orig = clock.nowMs
  clock.nowMs = function () { calls++; return orig.call(this) }
  const s = new seqloop.Scheduler({ clock })
  s.setTimeout(5)
  clock.advance(5)
  assert.equal(s.drain(10).length, 1)
  assert.equal(s.nowMs(), 5)
  assert.equal(calls, 0, 'no nowMs() round trips for a native clock')
  // An object that merely imitates the hidden handle is treated as a custom clock.
  const imitation = { __seqloopClock () { return {} }, nowMs () { return 42 } }
  assert.equal(new seqloop.Scheduler({ clock: imitation }).nowMs(), 42)
})

test('drainTimers gives the timer ids tick() would, and stops at other kinds', () => {
  const make = () => {
    const clock = new seqloop.DeterministicClock(0)
    const s = new seqloop.Scheduler({ clock })
    for (const d of [30, 10, 20, 10, 5]) s.setTimeout(d)
    s.enqueueEvent('first', 1) // queued before any timer is due: runs first
    clock.advance(25)
    return { s, clock }
  }
  const a = make()
  const viaTick = []
  for (let t; (t = a.s.tick()) !== null;) viaTick.push(t.kind === 'timer_fired' ? t.timerId : t.eventId)
  const b = make()
  const out = new Float64Array(2)
  assert.equal(b.s.drainTimers(out), 0, 'the event is at the front: nothing drained')
  assert.equal(b.s.tick().eventId, 'first')
  const viaDrain = ['first']
  for (let n; (n = b.s.drainTimers(out)) > 0;) viaDrain.push(...out.subarray(0, n))
  assert.deepEqual(viaDrain, viaTick)
  assert.deepEqual(viaTick, ['first', 5, 2, 4, 3])
  assert.equal(b.s.tick(), null)
  assert.equal(b.s.timerCount, 1)
})

test('drainTimers while recording replays like ticks; bad arguments are coded', () => {
  const clock = new seqloop.DeterministicClock(0)
  const s = new seqloop.Scheduler({ clock, record: true })
  s.setTimeout(1)
  s.setTimeout(1)
  s.enqueueEvent('e', null)
  clock.advance(1)
  const out = new Float64Array(8)
  assert.equal(s.drainTimers(out), 0)
  s.tick()
  assert.equal(s.drainTimers(out), 2)
  assert.deepEqual(seqloop.replay(s.traceJsonl()).ok, true)
  for (const bad of [undefined, [1, 2], new Float32Array(2), {}]) {
    assert.throws(() => s.drainTimers(bad), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' })
  }
  assert.throws(() => s.setTimeout(-1), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' })
  assert.throws(() => s.setTimeout('1'), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' })
  assert.equal(typeof s.setTimeout(5), 'number')
  assert.equal(s.fastPaths, undefined, 'no second public form')
  assert.equal(s.__seqloopFastPaths, undefined)
})

test('a custom clock that throws inside a fast-path call surfaces as ERR_CLOCK_FAILED', () => {
  let fail = false
  const s = new seqloop.Scheduler({ clock: { nowMs () { if (fail) throw new Error('clock down'); return 0 } } })
  fail = true
  assert.throws(() => s.setTimeout(1), (e) => e.code === 'ERR_CLOCK_FAILED' && e.cause.message === 'clock down')
  assert.throws(() => s.drainTimers(new Float64Array(4)), { code: 'ERR_CLOCK_FAILED' })
  fail = false
  assert.equal(s.setTimeout(1), 1, 'still usable')
})

test('drain(): batches built in JS equal the native objects; the clock is read once per call', () => {
  const nativeDrain = Object.getPrototypeOf(Scheduler.prototype).drain
  const make = () => {
    const ctl = { reads: 0, now: 0, nested: null }
    const s = new Scheduler({
      clock: {
        nowMs () {
          ctl.reads++
          // A nested drain of another scheduler while this one reads its clock.
          if (ctl.nested !== null) ctl.nestedGot = ctl.nested.drain(10000)
          return ctl.now
        },
      },
      record: true,
    })
    for (let i = 0; i < 5000; i++) {
      s.setTimeout(i % 97)
      if (i % 501 === 0) s.enqueueEvent(`e${i}`, { i })
      if (i % 777 === 0) s.enqueueHostcallComplete(`c${i}`, { type: 'error', code: 'E', message: 'm' })
    }
    ctl.now = 100
    return { s, ctl }
  }
  const a = make()
  const b = make()
  const other = virtual(0)
  for (let i = 0; i < 3000; i++) other.s.setTimeout(0)
  other.clock.advance(1)
  a.ctl.nested = other.s
  const reads = a.ctl.reads
  const got = a.s.drain(6000)
  assert.equal(a.ctl.reads, reads + 1, 'one clock read per drain()')
  assert.equal(a.ctl.nestedGot.length, 3000)
  assert.deepEqual(a.ctl.nestedGot[2999], { seq: 5999, kind: 'timer_fired', timerId: 3000 })
  const want = nativeDrain.call(b.s, 6000)
  assert.equal(got.length, want.length)
  assert.deepEqual(got, want)
  assert.ok(got.some((t) => t.kind === 'hostcall_complete') && got.some((t) => t.kind === 'inbound_event'))
  assert.equal(a.s.digest(), b.s.digest())
  assert.deepEqual(a.s.drain(10), [])
  for (const bad of [-1, '1', undefined, NaN]) assert.throws(() => a.s.drain(bad), { code: /^ERR_/ })
})
