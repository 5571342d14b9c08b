'use strict'
// Crash, abort and re-entrancy scenarios of the Scheduler, EventLoop and record/replay (issue
// 18). Each scenario runs in a child process (crash/child.js), so a segfault or an abort fails
// one test with its signal instead of killing the runner.
const test = require('node:test')
const assert = require('node:assert/strict')
const { runChild, summary } = require('./crash/child.js')

/** Runs `source` in a child; it must exit cleanly and print one JSON line, returned parsed. */
function scenario (source, opts) {
  const r = runChild(source, opts)
  assert.equal(r.outcome, 'ok', summary(r))
  const lines = r.stdout.trim().split('\n')
  return JSON.parse(lines[lines.length - 1])
}

test('drainTimers: a clock that detaches or shrinks `out` cannot make native code write through a stale pointer', () => {
  const got = scenario(`
    const { Scheduler } = seqloop
    const native = Object.getPrototypeOf(Scheduler.prototype)
    const out = {}
    for (const how of ['detach', 'shrink']) {
      for (const via of ['method', 'napi']) {
        let arr
        let armed = false
        const clock = {
          nowMs () {
            if (armed) {
              armed = false
              if (how === 'detach') structuredClone(arr.buffer, { transfer: [arr.buffer] })
              else arr.buffer.resize(0)
            }
            return 1000
          },
        }
        const s = new Scheduler({ clock })
        for (let i = 0; i < 50000; i++) s.setTimeout(0)
        const n = 1 << 20
        arr = how === 'detach'
          ? new Float64Array(n)
          : new Float64Array(new ArrayBuffer(8 * n, { maxByteLength: 8 * n }))
        armed = true
        const drained = via === 'method' ? s.drainTimers(arr) : native.drainTimers.call(s, arr)
        // Nothing was written (the array has no elements left) and no timer was lost.
        let left = 0
        while (s.tick() !== null) left++
        out[how + ' ' + via] = [drained, arr.length, left]
      }
    }
    console.log(JSON.stringify(out))
  `)
  for (const how of ['detach', 'shrink']) {
    for (const via of ['method', 'napi']) {
      assert.deepEqual(got[how + ' ' + via], [0, 0, 50000], `${how} ${via}`)
    }
  }
})

test('EventLoop: getters on an outcome or payload that call back into the loop get ERR_REENTRANT_CALL and change nothing', () => {
  const got = scenario(`
    const { EventLoop } = seqloop
    const loop = new EventLoop({ record: true })
    const codes = {}
    const poke = (where) => {
      const calls = {
        now: () => loop.now(),
        hasPending: () => loop.hasPending(),
        timerCount: () => loop.timerCount,
        macrotaskCount: () => loop.macrotaskCount,
        nextTimerDeadline: () => loop.nextTimerDeadline(),
        hostcall: () => loop.hostcall('inner'),
        completeHostcall: () => loop.completeHostcall('a', { type: 'success', value: 0 }),
        onEvent: () => loop.onEvent(() => {}),
        onStream: () => loop.onStream('inner', () => {}),
        dispatchEvent: () => loop.dispatchEvent('inner', 1),
        setTimeout: () => loop.setTimeout(() => {}, 1),
        setImmediate: () => loop.setImmediate(() => {}),
        clearTimeout: () => loop.clearTimeout(1),
        runOnce: () => loop.runOnce(),
        runAll: () => loop.runAll(),
        runUntilIdle: () => loop.runUntilIdle(),
        advance: () => loop.advance(1),
        digest: () => loop.digest(),
        trace: () => loop.trace(),
        traceJsonl: () => loop.traceJsonl(),
      }
      for (const [name, f] of Object.entries(calls)) {
        let code = 'no error'
        try {
          const r = f()
          if (r && typeof r.catch === 'function') r.catch(() => {})
        } catch (e) { code = e.code }
        codes[where + ' ' + name] = code
      }
    }
    const before = () => [loop.macrotaskCount, loop.timerCount, loop.digest()]
    const results = []
    ;(async () => {
      const p = loop.hostcall('a')
      loop.onStream('s', (chunk) => results.push(['chunk', chunk]))
      loop.onEvent((id, payload) => results.push(['event', id, payload]))
      const start = before()
      loop.completeHostcall('a', { type: 'success', get value () { poke('value'); return 42 } })
      loop.completeHostcall('s', { type: 'stream_chunk', sequence: 0, isFinal: true, get chunk () { poke('chunk'); return 'c' } })
      loop.dispatchEvent('e', { get x () { poke('payload'); return 7 } })
      const after = [loop.macrotaskCount, loop.timerCount]
      await loop.runAll()
      results.push(['hostcall', await p])
      console.log(JSON.stringify({ codes, results, start, after }))
    })().catch((e) => { console.error(e); process.exit(3) })
  `)
  const entries = Object.entries(got.codes)
  assert.equal(entries.length, 60)
  for (const [what, code] of entries) assert.equal(code, 'ERR_REENTRANT_CALL', what)
  // Only the three outer calls changed the loop: three macrotasks, no timer, and each ran once.
  assert.deepEqual(got.start.slice(0, 2), [0, 0])
  assert.deepEqual(got.after, [3, 0])
  assert.deepEqual(got.results, [['chunk', 'c'], ['event', 'e', { x: 7 }], ['hostcall', 42]])
})

test('Scheduler: a custom clock or a payload getter that calls back in gets ERR_REENTRANT_CALL and changes nothing', () => {
  const got = scenario(`
    const { Scheduler } = seqloop
    let s
    const codes = {}
    const poke = (where) => {
      const calls = {
        tick: () => s.tick(),
        nowMs: () => s.nowMs(),
        setTimeout: () => s.setTimeout(1),
        clearTimeout: () => s.clearTimeout(1),
        hasPending: () => s.hasPending(),
        currentSeq: () => s.currentSeq,
        enqueueEvent: () => s.enqueueEvent('inner', 1),
        drain: () => s.drain(1),
        drainTimers: () => s.drainTimers(new Float64Array(1)),
        digest: () => s.digest(),
      }
      for (const [name, f] of Object.entries(calls)) {
        let code = 'no error'
        try { f() } catch (e) { code = e.code }
        codes[where + ' ' + name] = code
      }
    }
    let clockPokes = 0
    s = new Scheduler({ record: true, clock: { nowMs () { if (clockPokes-- > 0) poke('clock'); return 5 } } })
    clockPokes = 1
    const id = s.setTimeout(0)
    s.enqueueEvent('e', { get x () { poke('payload'); return 1 } })
    s.enqueueHostcallComplete('c', { type: 'success', get value () { poke('value'); return 2 } })
    const tasks = s.drain(10)
    console.log(JSON.stringify({ codes, id, tasks, seq: s.currentSeq }))
  `)
  const entries = Object.entries(got.codes)
  assert.equal(entries.length, 30)
  for (const [what, code] of entries) assert.equal(code, 'ERR_REENTRANT_CALL', what)
  assert.equal(got.id, 1)
  assert.deepEqual(got.tasks.map((t) => t.kind), ['inbound_event', 'hostcall_complete', 'timer_fired'])
  assert.equal(got.seq, 4)
})

test('a custom clock that throws a Symbol or a null-prototype object → ERR_CLOCK_FAILED with the value as cause', () => {
  const got = scenario(`
    const { Scheduler } = seqloop
    const out = []
    const sym = Symbol('boom')
    const bare = Object.create(null)
    for (const thrown of [sym, bare, { message: 'm' }, 'text', 7]) {
      let live = false
      const s = new Scheduler({ clock: { nowMs () { if (live) throw thrown; return 0 } } })
      live = true
      try { s.setTimeout(1); out.push('no error') } catch (e) {
        out.push([e.constructor.name, e.code, e.cause === thrown, typeof e.message])
      }
      live = false
      out.push(s.timerCount)
    }
    console.log(JSON.stringify(out))
  `)
  for (let i = 0; i < 5; i++) {
    assert.deepEqual(got[2 * i], ['Error', 'ERR_CLOCK_FAILED', true, 'string'], `case ${i}`)
    assert.equal(got[2 * i + 1], 0, 'no timer was set')
  }
})

test('huge sparse arrays as payloads, values, chunks, lists and traces → ERR_OUT_OF_RANGE before allocating', () => {
  const got = scenario(`
    const { Scheduler, EventLoop, replay, diffTraces } = seqloop
    const huge = new Array(2 ** 32 - 1)
    const out = {}
    const s = new Scheduler({ record: true })
    const loop = new EventLoop({ record: true })
    loop.hostcall('c').catch(() => {})
    loop.onStream('st', () => {})
    const calls = {
      'Scheduler.enqueueEvent': () => s.enqueueEvent('e', huge),
      'Scheduler.enqueueEvent nested': () => s.enqueueEvent('e', { a: [1, { b: huge }] }),
      'Scheduler.enqueueHostcallComplete': () => s.enqueueHostcallComplete('c', { type: 'success', value: huge }),
      'Scheduler.enqueueHostcallCompletions list': () => s.enqueueHostcallCompletions(huge),
      'Scheduler.enqueueHostcallCompletions value': () => s.enqueueHostcallCompletions([['c', { type: 'success', value: huge }]]),
      'Scheduler.enqueueStreamChunk': () => s.enqueueStreamChunk('c', 0, huge, true),
      'EventLoop.completeHostcall value': () => loop.completeHostcall('c', { type: 'success', value: huge }),
      'EventLoop.completeHostcall chunk': () => loop.completeHostcall('st', { type: 'stream_chunk', sequence: 0, chunk: huge, isFinal: true }),
      'EventLoop.dispatchEvent': () => loop.dispatchEvent('e', huge),
      'replay': () => replay(huge),
      'replay records': () => replay({ version: 1, created_by: 'x', clock: 'wall', max_timer_id: 1, records: huge }),
      'diffTraces': () => diffTraces(huge, huge),
    }
    for (const [name, f] of Object.entries(calls)) {
      try { f(); out[name] = 'no error' } catch (e) { out[name] = [e.constructor.name, e.code] }
    }
    out.unchanged = [s.macrotaskCount, loop.macrotaskCount]
    console.log(JSON.stringify(out))
  `)
  const { unchanged, ...calls } = got
  assert.equal(Object.keys(calls).length, 12)
  for (const [name, r] of Object.entries(calls)) assert.deepEqual(r, ['RangeError', 'ERR_OUT_OF_RANGE'], name)
  assert.deepEqual(unchanged, [0, 0])
})

test('completeHostcall with null-prototype values or outcomes: coded errors or a resolved promise, never an unhandled rejection', () => {
  const got = scenario(`
    const { EventLoop } = seqloop
    const unhandled = []
    process.on('unhandledRejection', (r) => unhandled.push(String(r && r.code)))
    const loop = new EventLoop({ record: true })
    const codes = []
    const bare = () => Object.create(null)
    const p = loop.hostcall('a')
    for (const outcome of [bare(), Object.assign(bare(), { type: 'success', value: bare() }),
      { type: bare() }, { type: 'error', code: bare(), message: 'm' }, { type: 'success', value: { x: bare() } }]) {
      try { loop.completeHostcall('a', outcome); codes.push('ok') } catch (e) { codes.push(e.code) }
    }
    ;(async () => {
      const ran = await loop.runAll()
      const value = await p
      await new Promise((resolve) => setImmediate(resolve))
      console.log(JSON.stringify({ codes, ran, proto: Object.getPrototypeOf(value), unhandled }))
    })()
  `)
  assert.deepEqual(got, {
    codes: ['ERR_INVALID_ARG_TYPE', 'ok', 'ERR_INVALID_ARG_TYPE', 'ERR_INVALID_ARG_TYPE', 'ok'],
    ran: 2,
    proto: null,
    unhandled: [],
  })
})

test('a custom clock that throws a Symbol while the Scheduler is constructed → ERR_CLOCK_FAILED', () => {
  const got = scenario(`
    const { Scheduler } = seqloop
    const out = []
    for (const thrown of [Symbol('x'), Object.create(null)]) {
      try { new Scheduler({ clock: { nowMs () { throw thrown } } }); out.push('no error') } catch (e) {
        out.push([e.code, e.cause === thrown])
      }
    }
    console.log(JSON.stringify(out))
  `)
  assert.deepEqual(got, [['ERR_CLOCK_FAILED', true], ['ERR_CLOCK_FAILED', true]])
})

for (const mode of ['prototype setters', 'async_hooks init']) {
  test(`JS that runs while the loop builds objects or async contexts (${mode}) cannot abort it`, () => {
    const got = scenario(`
      const async_hooks = require('node:async_hooks')
      const { EventLoop } = seqloop
      const loop = new EventLoop()
      const codes = new Set()
      const runs = []
      let depth = 0
      let pokes = 0
      const poke = () => {
        if (depth > 0 || ++pokes > 12) return
        depth++
        for (const f of [() => loop.now(), () => loop.hostcall('hook' + pokes), () => loop.onEvent(() => {}),
          () => loop.onStream('hook', () => {}), function run () { return loop.runAll() }, () => loop.setTimeout(() => {}, 1)]) {
          try {
            const r = f()
            if (r && r.catch) {
              const settled = r.catch((e) => codes.add(e.code))
              if (f.name === 'run') runs.push(settled)
            }
            codes.add('ok')
          } catch (e) { codes.add(e.code) }
        }
        depth--
      }
      if (${JSON.stringify(mode)} === 'async_hooks init') {
        async_hooks.createHook({ init (id, type) { if (type.startsWith('seqloop.')) poke() } }).enable()
      } else {
        for (const key of ['seq', 'kind', 'timerId', 'eventId', 'payload', 'sequence', 'isFinal']) {
          Object.defineProperty(Object.prototype, key, { set (v) { poke(); Object.defineProperty(this, key, { value: v, enumerable: true, configurable: true, writable: true }) }, configurable: true })
        }
      }
      ;(async () => {
        loop.onEvent(() => {})
        loop.hostcall('a').catch(() => {})
        loop.dispatchEvent('e', 1)
        loop.setTimeout(() => {}, 1)
        // A hook may start a run of its own first: then this one is refused (E2), never lost.
        for (;;) {
          const r = await loop.runOnce().then(() => 'ran', (e) => e.code)
          if (r !== 'ERR_LOOP_REENTRANT') break
          await Promise.all(runs)
        }
        await Promise.all(runs)
        await loop.runAll().catch((e) => codes.add('runAll ' + e.code))
        console.log(JSON.stringify({ pending: loop.macrotaskCount, codes: [...codes].sort() }))
      })().catch((e) => { console.error(e); process.exit(3) })
    `)
    assert.equal(got.pending, 0)
    assert.ok(got.codes.includes('ok'), got.codes.join(' '))
    for (const c of got.codes) assert.match(String(c), /^(ok|ERR_[A-Z_]+|runAll ERR_[A-Z_]+)$/)
  })
}
