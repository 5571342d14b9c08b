'use strict'
const { test } = require('node:test')
const assert = require('node:assert/strict')
const { execFileSync } = require('node:child_process')
const { AsyncLocalStorage } = require('node:async_hooks')
const path = require('node:path')
const { EventLoop } = require('..')
const { requireGc, settleUnderGc } = require('./helpers.js')
const { internals } = require('../lib/event-loop.js')

const ENTRY = path.join(__dirname, '..') // the package entry (package.json main)

// The real-Node order scenarios (one fixture for every suite), and a child that runs one of them
// under Node's real timers.
const scenarios = require('./fixtures/order_scenarios.js')
const RUN_REAL = path.join(__dirname, 'fixtures', 'run_real.js')

function runInRealNode (name) {
  return JSON.parse(execFileSync(process.execPath, ['--no-warnings', RUN_REAL, name], { encoding: 'utf8' }))
}

async function runInSeqloop (scenario) {
  const loop = new EventLoop()
  const log = []
  const api = {
    setTimeout: loop.setTimeout.bind(loop),
    setInterval: loop.setInterval.bind(loop),
    clearInterval: loop.clearInterval.bind(loop),
    setImmediate: loop.setImmediate.bind(loop),
  }
  scenario(log, api)
  await loop.runAll()
  return log
}

for (const name of scenarios.forEventLoop) {
  test(`matches real Node: ${name}`, async () => {
    const real = runInRealNode(name)
    assert.ok(real.length > 0, 'the real-Node run logged something')
    assert.deepEqual(await runInSeqloop(scenarios[name]), real)
  })
}

test('the documented order: T0a, nextTick, promise, queueMicrotask, T0b', async () => {
  const log = await runInSeqloop(scenarios['promise, nextTick and queueMicrotask between two timers due at once'])
  assert.deepEqual(log, ['T0a', 'nextTick', 'promise', 'queueMicrotask', 'T0b'])
})

test('EventLoop is exported from the package entry and from ESM', async () => {
  const esm = await import('../lib/index.mjs')
  assert.equal(esm.EventLoop, EventLoop)
  const loop = new EventLoop()
  for (const m of ['setTimeout', 'setInterval', 'setImmediate', 'clearTimeout', 'clearInterval',
    'clearImmediate', 'hostcall', 'completeHostcall', 'onStream', 'onEvent', 'dispatchEvent', 'now',
    'runOnce', 'runUntilIdle', 'advance', 'runAll', 'run']) {
    assert.equal(typeof loop[m], 'function', m)
  }
})

test('timers pass extra arguments, fire in (deadline, seq) order, and advance() stops at the target', async () => {
  const loop = new EventLoop({ startMs: 1000 })
  const log = []
  loop.setTimeout((a, b) => log.push(`30:${a}${b}@${loop.now()}`), 30, 'x', 'y')
  loop.setTimeout(() => log.push(`10a@${loop.now()}`), 10)
  loop.setTimeout(() => log.push(`20@${loop.now()}`), 20)
  loop.setTimeout(() => log.push(`10b@${loop.now()}`), 10)
  assert.equal(loop.now(), 1000)
  assert.equal(await loop.advance(25), 3)
  assert.equal(loop.now(), 1025)
  assert.deepEqual(log, ['10a@1010', '10b@1010', '20@1020'])
  assert.equal(await loop.advance(5), 1)
  assert.deepEqual(log.at(-1), '30:xy@1030')
  assert.equal(loop.hasPending(), false)
})

test('an interval re-arms from its own deadline and keeps its id', async () => {
  const loop = new EventLoop()
  const seen = []
  const id = loop.setInterval(() => seen.push(loop.now()), 10)
  assert.equal(await loop.advance(35), 3)
  assert.deepEqual(seen, [10, 20, 30])
  assert.equal(loop.clearInterval(id), true)
  assert.equal(loop.clearInterval(id), false)
  assert.equal(await loop.advance(100), 0)
})

test('clearTimeout and clearImmediate cancel; unknown ids give false, undefined is ignored', async () => {
  const loop = new EventLoop()
  const log = []
  const t = loop.setTimeout(() => log.push('t'), 5)
  const i = loop.setImmediate(() => log.push('i'))
  loop.setImmediate(() => log.push('i2'))
  assert.equal(loop.clearTimeout(t), true)
  assert.equal(loop.clearImmediate(i), true)
  assert.equal(loop.clearTimeout(12345), false)
  assert.equal(loop.clearTimeout(undefined), false)
  assert.equal(loop.clearImmediate(null), false)
  await loop.runAll()
  assert.deepEqual(log, ['i2'])
})

test('runOnce runs one macrotask and resolves with its description', async () => {
  const loop = new EventLoop()
  loop.onEvent(() => {})
  loop.dispatchEvent('e1', { n: 1 })
  const id = loop.setTimeout(() => {}, 0)
  const first = await loop.runOnce()
  assert.deepEqual(first, { seq: 0, kind: 'inbound_event', eventId: 'e1', payload: { n: 1 } })
  const second = await loop.runOnce()
  assert.equal(second.kind, 'timer_fired')
  assert.equal(second.timerId, id)
  assert.equal(await loop.runOnce(), null)
})

test('hostcalls settle when their completion macrotask runs, never synchronously (I4)', async () => {
  const loop = new EventLoop()
  const log = []
  const p = loop.hostcall('call-1').then((v) => log.push(['ok', v]))
  const q = loop.hostcall('call-2').catch((e) => log.push(['err', e.code, e.message, e instanceof Error]))
  loop.completeHostcall('call-1', { type: 'success', value: { result: 42 } })
  loop.completeHostcall('call-2', { type: 'error', code: 'E_TIMEOUT', message: 'Request timed out' })
  await Promise.resolve()
  assert.deepEqual(log, [], 'nothing ran before the loop did')
  assert.equal(await loop.runUntilIdle(), 2)
  await Promise.all([p, q])
  assert.deepEqual(log, [['ok', { result: 42 }], ['err', 'E_TIMEOUT', 'Request timed out', true]])
})

test('an await continuation after a hostcall runs before the next macrotask (I2)', async () => {
  const loop = new EventLoop()
  const log = []
  ;(async () => {
    const v = await loop.hostcall('c')
    log.push(`continued with ${v}`)
    await null
    log.push('second await')
  })()
  loop.completeHostcall('c', { type: 'success', value: 7 })
  loop.setTimeout(() => log.push('timer'), 0)
  await loop.runAll()
  assert.deepEqual(log, ['continued with 7', 'second await', 'timer'])
})

test('streams deliver chunks in order and close after the final chunk', async () => {
  const loop = new EventLoop()
  const got = []
  loop.onStream('s', (chunk, info) => got.push([chunk, info.sequence, info.isFinal]))
  loop.completeHostcall('s', { type: 'stream_chunk', sequence: 0, chunk: 'a', isFinal: false })
  loop.completeHostcall('s', { type: 'stream_chunk', sequence: 1, chunk: { part: 'b' }, isFinal: true })
  await loop.runAll()
  assert.deepEqual(got, [['a', 0, false], [{ part: 'b' }, 1, true]])
  assert.throws(() => loop.completeHostcall('s', { type: 'stream_chunk', sequence: 2, chunk: 'c', isFinal: true }),
    { code: 'ERR_UNKNOWN_HOSTCALL' })
})

test('events reach every listener in order with the payload object itself', async () => {
  const loop = new EventLoop()
  const payload = { deep: [1, 2] }
  const got = []
  loop.onEvent((id, p) => got.push(['a', id, p]))
  loop.onEvent((id, p) => got.push(['b', id, p]))
  loop.dispatchEvent('evt-1', payload)
  loop.dispatchEvent('evt-2')
  await loop.runAll()
  assert.equal(got.length, 4)
  assert.equal(got[0][2], payload, 'identity preserved')
  assert.deepEqual(got.map((g) => g.slice(0, 2)), [['a', 'evt-1'], ['b', 'evt-1'], ['a', 'evt-2'], ['b', 'evt-2']])
})

test('AsyncLocalStorage context flows into timers, immediates and hostcall continuations', async () => {
  const als = new AsyncLocalStorage()
  const loop = new EventLoop()
  const seen = {}
  als.run({ id: 'timer' }, () => loop.setTimeout(() => { seen.timer = als.getStore()?.id }, 5))
  als.run({ id: 'immediate' }, () => loop.setImmediate(() => { seen.immediate = als.getStore()?.id }))
  als.run({ id: 'hostcall' }, async () => {
    await loop.hostcall('h')
    seen.hostcall = als.getStore()?.id
  })
  loop.setTimeout(() => { seen.none = als.getStore() }, 1)
  loop.completeHostcall('h', { type: 'success', value: null })
  await loop.runAll()
  assert.deepEqual(seen, { timer: 'timer', immediate: 'immediate', hostcall: 'hostcall', none: undefined })
})

test('a throwing callback rejects the run with that error; the next run continues', async () => {
  const loop = new EventLoop()
  const boom = new Error('boom')
  const log = []
  loop.setTimeout(() => log.push('first'), 1)
  loop.setTimeout(() => { throw boom }, 2)
  loop.setTimeout(() => log.push('third'), 3)
  await assert.rejects(loop.runAll(), (e) => e === boom)
  assert.deepEqual(log, ['first'])
  assert.equal(await loop.runAll(), 1)
  assert.deepEqual(log, ['first', 'third'])
})

test('a throwing interval stays armed', async () => {
  const loop = new EventLoop()
  let n = 0
  const id = loop.setInterval(() => { n++; if (n === 1) throw new Error('once') }, 10)
  await assert.rejects(loop.advance(10), /once/)
  assert.equal(await loop.advance(20), 2)
  assert.equal(n, 3)
  loop.clearInterval(id)
})

test('run methods reject with ERR_LOOP_REENTRANT while one is in progress', async () => {
  const loop = new EventLoop()
  let inner
  loop.setTimeout(() => {
    inner = loop.runOnce()
    inner.catch(() => {}) // observed below
  }, 1)
  const outer = loop.runAll()
  await assert.rejects(loop.runAll(), { code: 'ERR_LOOP_REENTRANT' })
  assert.equal(await outer, 1)
  await assert.rejects(inner, { code: 'ERR_LOOP_REENTRANT' })
})

test('the EventLoop has one public form: no fastPaths, rawFunctions, liveCount or __seqloop* in its types or at run time', () => {
  const fs = require('node:fs')
  const path = require('node:path')
  const seqloop = require('../lib/index.js')
  const hidden = /^(fastPaths|rawFunctions|liveCount|handle)$|^__seqloop/
  for (const key of Object.keys(seqloop)) assert.doesNotMatch(key, /^__seqloop/, 'package export')
  const loop = new seqloop.EventLoop()
  for (let o = loop; o && o !== Object.prototype; o = Object.getPrototypeOf(o)) {
    for (const key of Object.getOwnPropertyNames(o)) assert.doesNotMatch(key, hidden, `instance member ${key}`)
  }
  for (let C = seqloop.EventLoop; C && C !== Function.prototype; C = Object.getPrototypeOf(C)) {
    for (const key of Object.getOwnPropertyNames(C)) assert.doesNotMatch(key, hidden, `static ${key}`)
  }
  // The public declarations of EventLoop and its native base.
  for (const [file, cls] of [['index.d.ts', 'NativeEventLoop'], ['lib/index.d.ts', 'EventLoop']]) {
    const text = fs.readFileSync(path.join(__dirname, '..', file), 'utf8')
    const start = text.indexOf(`export declare class ${cls} `)
    assert.ok(start >= 0, `${file} declares ${cls}`)
    const body = text.slice(start, text.indexOf('\n}', start))
    assert.doesNotMatch(body, /\b(fastPaths|rawFunctions|liveCount|handle)\(|__seqloop/, file)
  }
  // The methods still work through the fast path they always used.
  const log = []
  loop.setTimeout((a) => log.push(a), 1, 'x')
  assert.equal(loop.timerCount, 1)
})

test('every run method called during a run returns a promise rejected with ERR_LOOP_REENTRANT, never a throw', async () => {
  for (const clock of ['virtual', 'wall']) {
    const loop = new EventLoop({ clock })
    const calls = {
      runOnce: () => loop.runOnce(),
      runUntilIdle: () => loop.runUntilIdle(),
      runUntilIdleBadOptions: () => loop.runUntilIdle({ maxTicks: -1 }),
      advance: () => loop.advance(1),
      advanceBadMs: () => loop.advance('x'),
      runAll: () => loop.runAll(),
      runAllBadOptions: () => loop.runAll({ maxTicks: 1.5 }),
      run: () => loop.run(),
    }
    const got = {}
    loop.setTimeout(() => {
      for (const [name, call] of Object.entries(calls)) {
        let p
        try {
          p = call()
        } catch (e) {
          got[name] = `threw ${e.code}`
          continue
        }
        got[name] = p
        p.catch(() => {}) // observed below
      }
    }, 1)
    assert.equal(await (clock === 'wall' ? loop.run() : loop.runAll()), 1)
    for (const name of Object.keys(calls)) {
      assert.ok(got[name] instanceof Promise, `${clock} ${name}: ${got[name]}`)
      await assert.rejects(got[name], (e) => e instanceof Error && e.code === 'ERR_LOOP_REENTRANT', `${clock} ${name}`)
    }
    // The loop is usable afterwards: the refused runs left no state behind.
    loop.setImmediate(() => {})
    assert.equal(await loop.runUntilIdle(), 1)
  }
})

test('runAll past maxTicks rejects with ERR_LOOP_LIMIT and loses nothing', async () => {
  const loop = new EventLoop()
  const log = []
  for (let i = 0; i < 5; i++) loop.setTimeout(() => log.push(i), i * 10)
  await assert.rejects(loop.runAll({ maxTicks: 3 }), (e) => e.code === 'ERR_LOOP_LIMIT' && e instanceof Error)
  assert.deepEqual(log, [0, 1, 2])
  assert.equal(await loop.runAll(), 2)
  assert.deepEqual(log, [0, 1, 2, 3, 4])
  // Exactly maxTicks tasks is not an error.
  loop.setTimeout(() => {}, 1)
  assert.equal(await loop.runAll({ maxTicks: 1 }), 1)
})

test('runUntilIdle does not move virtual time', async () => {
  const loop = new EventLoop()
  const log = []
  loop.setTimeout(() => log.push('later'), 10)
  loop.setImmediate(() => log.push('now'))
  assert.equal(await loop.runUntilIdle(), 1)
  assert.equal(loop.now(), 0)
  assert.deepEqual(log, ['now'])
})

test('wall clock: run() sleeps until deadlines and waits for outstanding hostcalls', async () => {
  const loop = new EventLoop({ clock: 'wall' })
  const log = []
  const t0 = Date.now()
  loop.setTimeout(() => log.push('t30'), 30)
  loop.setTimeout(() => log.push('t5'), 5)
  loop.hostcall('h').then((v) => log.push(`hostcall ${v}`))
  // Completed from a real Node timer while run() sleeps.
  setTimeout(() => loop.completeHostcall('h', { type: 'success', value: 'done' }), 50)
  const n = await loop.run()
  assert.equal(n, 3)
  assert.deepEqual(log, ['t5', 't30', 'hostcall done'])
  assert.ok(Date.now() - t0 >= 30, 'real time passed')
  await assert.rejects(async () => loop.advance(5), { code: 'ERR_LOOP_CLOCK' })
  await assert.rejects(async () => new EventLoop().run(), { code: 'ERR_LOOP_CLOCK' })
})

test('bad input gets coded errors and leaves the loop usable', async () => {
  const loop = new EventLoop()
  assert.throws(() => loop.setTimeout('nope', 1), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' })
  assert.throws(() => loop.setTimeout(() => {}, -1), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' })
  assert.throws(() => loop.setTimeout(() => {}, NaN), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' })
  assert.throws(() => loop.setTimeout(() => {}, Infinity), { code: 'ERR_OUT_OF_RANGE' })
  assert.throws(() => loop.setTimeout(() => {}, 2 ** 53), { code: 'ERR_OUT_OF_RANGE' })
  assert.throws(() => loop.setTimeout(() => {}, '5'), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' })
  // The callback table is installed once, by the constructor, and only its handle may `step`;
  // the shared raw functions refuse anything but a live loop handle.
  const raw = internals.rawFunctions()
  assert.equal(raw.step(internals.loopHandle(loop)), 0, 'a second handle cannot take macrotasks')
  for (const bogus of [{}, null, 42, undefined]) {
    assert.throws(() => raw.setTimeout(bogus, () => {}, 1), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' })
    assert.throws(() => raw.step(bogus), { code: 'ERR_INVALID_ARG_TYPE' })
  }
  assert.throws(() => internals.loopHandle(loop, { runner () {}, table: {} }), { name: 'Error', code: 'ERR_LOOP_HOOKS' })
  assert.throws(() => internals.loopHandle(new EventLoop(), { runner: 1, table: {} }), { code: 'ERR_INVALID_ARG_TYPE' })
  assert.equal(loop.timerCount, 0, 'a refused call schedules nothing')
  assert.throws(() => loop.setInterval(null, 5), { code: 'ERR_INVALID_ARG_TYPE' })
  assert.throws(() => loop.setImmediate(42), { code: 'ERR_INVALID_ARG_TYPE' })
  assert.throws(() => loop.clearTimeout('x'), { code: 'ERR_INVALID_ARG_TYPE' })
  assert.throws(() => loop.hostcall(1), { code: 'ERR_INVALID_ARG_TYPE' })
  assert.throws(() => loop.completeHostcall('nobody', { type: 'success', value: 1 }), { code: 'ERR_UNKNOWN_HOSTCALL' })
  loop.hostcall('x').catch(() => {})
  assert.throws(() => loop.hostcall('x'), { code: 'ERR_HOSTCALL_PENDING' })
  assert.throws(() => loop.completeHostcall('x', { type: 'weird' }), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' })
  assert.throws(() => loop.completeHostcall('x', null), { code: 'ERR_INVALID_ARG_TYPE' })
  assert.throws(() => loop.completeHostcall('x', { type: 'error', code: 1, message: 'm' }), { code: 'ERR_INVALID_ARG_TYPE' })
  assert.throws(() => loop.onEvent('f'), { code: 'ERR_INVALID_ARG_TYPE' })
  assert.throws(() => loop.dispatchEvent(5), { code: 'ERR_INVALID_ARG_TYPE' })
  assert.throws(() => new EventLoop({ clock: 'sundial' }), { code: 'ERR_INVALID_ARG_TYPE' })
  assert.throws(() => new EventLoop({ startMs: -5 }), { code: 'ERR_OUT_OF_RANGE' })
  assert.throws(() => new EventLoop(5), { code: 'ERR_INVALID_ARG_TYPE' })
  assert.throws(() => loop.advance(-1), { code: 'ERR_OUT_OF_RANGE' })
  assert.throws(() => loop.runAll({ maxTicks: -1 }), { code: 'ERR_OUT_OF_RANGE' })
  // Still usable, nothing lost.
  const log = []
  loop.setTimeout(() => log.push('ok'), 1)
  loop.completeHostcall('x', { type: 'error', code: 'E', message: 'm' })
  assert.equal(await loop.runAll(), 2)
  assert.deepEqual(log, ['ok'])
})

test('a collected loop with pending work, and a process exiting mid-run, do not crash', () => {
  const src = `
    const { EventLoop } = require(${JSON.stringify(ENTRY)})
    for (let i = 0; i < 200; i++) {
      const l = new EventLoop()
      for (let j = 0; j < 50; j++) l.setTimeout(() => {}, j)
      l.hostcall('never-' + i).catch(() => {})
      l.onStream('s', () => {})
    }
    global.gc(); global.gc()
    const loop = new EventLoop()
    let n = 0
    loop.setInterval(() => { if (++n === 3) process.exit(0) }, 1)
    loop.setTimeout(() => {}, 1e9)
    loop.runAll()
  `
  const out = execFileSync(process.execPath, ['--expose-gc', '-e', src], { encoding: 'utf8' })
  assert.equal(out, '')
})

test('an unreferenced loop finishes its run', async () => {
  const done = await (() => {
    const loop = new EventLoop()
    let fired = 0
    for (let i = 0; i < 100; i++) loop.setTimeout(() => fired++, i)
    return loop.runAll().then((n) => [n, fired])
  })()
  requireGc()()
  assert.deepEqual(done, [100, 100])
})

test('collected loops release their native state (timers, immediates, listeners, streams)', async () => {
  await settleUnderGc(() => false, 10) // let earlier tests' garbage go first
  const before = internals.liveCount()
  ;(() => {
    for (let i = 0; i < 50; i++) {
      const l = new EventLoop()
      for (let j = 0; j < 20; j++) l.setTimeout(() => {}, j)
      l.setInterval(() => {}, 5)
      l.setImmediate(() => {})
      l.onEvent(() => {})
      l.onStream('s', () => {})
      l.dispatchEvent('e', { big: new Array(1000).fill(i) })
    }
  })()
  assert.equal(internals.liveCount(), before + 50)
  await settleUnderGc(() => internals.liveCount() === before)
  assert.equal(internals.liveCount(), before, 'every collected loop freed its native state')
})

test('a loop collected mid-run finishes the run, then frees its state', async () => {
  const before = internals.liveCount()
  const run = (() => {
    const l = new EventLoop()
    for (let i = 0; i < 1000; i++) l.setTimeout(() => {}, i)
    return l.runAll()
  })()
  requireGc()()
  assert.equal(await run, 1000)
  await settleUnderGc(() => internals.liveCount() === before)
  assert.equal(internals.liveCount(), before)
})
