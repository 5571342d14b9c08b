'use strict'
// Hangs (issue 18): a long virtual run yields to Node's event loop between time slices, maxTicks
// is bounded, and a batch runner that never steps is rejected instead of spinning. Scenarios
// that hung before run in a child process with a hang guard.
const test = require('node:test')
const assert = require('node:assert/strict')
const { runChild, summary } = require('./crash/child.js')
const { EventLoop } = require('..')

function scenario (source) {
  const r = runChild(source, { hangAfterMs: 60_000 })
  assert.equal(r.outcome, 'ok', summary(r))
  return JSON.parse(r.stdout.trim().split('\n').pop())
}

test('runAll({ maxTicks: 2**31 - 1 }) with an interval lets setImmediate, I/O and real timers run; the virtual order is unchanged', () => {
  const got = scenario(`
    const fs = require('node:fs')
    const { EventLoop } = seqloop
    const result = {}
    ;(async () => {
      for (const via of ['setImmediate', 'I/O', 'setTimeout']) {
        const loop = new EventLoop()
        const seen = []
        let n = 0
        const stop = () => { seen.push(['stopped', n > 0]); loop.clearInterval(id) }
        // The Node callback is scheduled from inside the run: it can only run if the run yields.
        const id = loop.setInterval(() => {
          if (++n !== 1000) return
          if (via === 'setImmediate') setImmediate(stop)
          else if (via === 'I/O') fs.stat('.', stop)
          else setTimeout(stop, 1)
        }, 1)
        loop.setTimeout(() => seen.push(['timeout', loop.now()]), 3)
        const ran = await loop.runAll({ maxTicks: 2 ** 31 - 1 })
        // The run ended because the Node callback cleared the interval mid-run.
        result[via] = { ended: ran === n + 1, seen: seen.map((s) => s[0]), timeoutAt: seen[0][1] }
      }
      console.log(JSON.stringify(result))
    })()
  `)
  for (const via of ['setImmediate', 'I/O', 'setTimeout']) {
    assert.deepEqual(got[via], { ended: true, seen: ['timeout', 'stopped'], timeoutAt: 3 }, via)
  }
})

test('maxTicks is bounded: above 2**31 - 1 → RangeError ERR_OUT_OF_RANGE', () => {
  const loop = new EventLoop()
  for (const run of [(o) => loop.runAll(o), (o) => loop.runUntilIdle(o), (o) => loop.advance(1, o)]) {
    assert.throws(() => run({ maxTicks: 2 ** 31 }), { code: 'ERR_OUT_OF_RANGE', name: 'RangeError' })
    assert.throws(() => run({ maxTicks: Number.MAX_SAFE_INTEGER }), { code: 'ERR_OUT_OF_RANGE' })
  }
  assert.equal(loop.hasPending(), false)
})

test('a batch runner that never calls step() is rejected with ERR_LOOP_HOOKS instead of spinning', () => {
  const got = scenario(`
    const { internals } = require(ROOT + '/lib/event-loop.js')
    const loop = new (Object.getPrototypeOf(seqloop.EventLoop))()
    const h = internals.loopHandle(loop, { runner: () => {}, table: {} })
    internals.rawFunctions().setTimeout(h, () => {}, 5)
    loop.runAll().then((n) => console.log(JSON.stringify({ resolved: n })),
      (e) => console.log(JSON.stringify({ code: e.code })))
  `)
  assert.deepEqual(got, { code: 'ERR_LOOP_HOOKS' })
})
