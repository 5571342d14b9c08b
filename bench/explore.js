'use strict'
// Schedule exploration (issue 19): the cost of one explore run (fresh clock, hook, decisions)
// beside running the same 100-timer body once under plain fake timers (seqloop's, with
// `semantics: 'node'`, and @sinonjs/fake-timers), each driven to the end with real microtask
// drains between timers (explore's driver; `runAllAsync` for the plain clocks). Each cell is the
// median of RUNS runs of BATCH bodies (after a warm-up; contenders interleaved), in µs per body;
// every body checks that its 100 timers fired, so a fast wrong answer cannot win.
// Usage: `node bench/explore.js` or `require('./bench/explore.js').run()`.
const sinon = require('@sinonjs/fake-timers')
const seqloop = require('../lib/fake-timers.js')
const { explore } = require('../lib/explore.js')
const { prng } = require('../lib/prng.js')

const RUNS = Number(process.env.BENCH_RUNS || 5)
const BATCH = 200
const N = 100
const TARGET = 2 // the issue's bound on explore's per-run cost over a plain run

// Half the timers are set in the first turn, half by the first timer: many fall due in the same
// millisecond after being set in different turns, so explore has decisions to make.
const rng = prng(19)
const delays = Array.from({ length: N }, () => rng.range(50))
const TO_FAKE = ['setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate', 'setInterval', 'clearInterval', 'Date']

/** The test body: 100 timers, resolved when the last one fires. */
function body () {
  return new Promise((resolve) => {
    let fired = 0
    const done = () => {
      if (++fired === N) resolve(fired)
    }
    setTimeout(() => {
      done()
      for (let i = N / 2; i < N; i++) setTimeout(done, delays[i])
    }, 0)
    for (let i = 1; i < N / 2; i++) setTimeout(done, delays[i])
  })
}

async function plain (install) {
  const clock = install()
  try {
    const p = body()
    await clock.runAllAsync()
    if ((await p) !== N) throw new Error('a plain run did not fire every timer')
  } finally {
    clock.uninstall()
  }
}

let exploreSeed = 1
let decisions = 0
const contenders = {
  'sinon (plain)': () => plain(() => sinon.install({ toFake: TO_FAKE })),
  'seqloop node (plain)': () => plain(() => seqloop.install({ semantics: 'node', toFake: TO_FAKE })),
  'explore (per run)': async () => {
    let runs = 0
    const r = await explore(async (ctx) => {
      runs++
      if ((await body()) !== N) throw new Error('an explore run did not fire every timer')
    }, { runs: BATCH, seed: exploreSeed, toFake: TO_FAKE })
    exploreSeed += BATCH
    if (!r.ok || runs !== BATCH) throw new Error(`explore: ${r.ok ? `${runs} runs` : r.error}`)
    return true
  },
  // a run recorded into a trace (what a failure costs once more, and every explore.replay)
  'explore.replay (recorded)': async () => {
    const r = await explore.replay({ seed: exploreSeed++ }, async () => {
      if ((await body()) !== N) throw new Error('a replayed run did not fire every timer')
    }, { toFake: TO_FAKE })
    if (!r.ok || r.trace.split('\n').length < N) throw new Error(`explore.replay: ${r.error}`)
  }
}

/** µs per body: BATCH bodies (explore: one call of BATCH runs). */
async function measure (name) {
  const t0 = process.hrtime.bigint()
  if (name === 'explore (per run)') {
    await contenders[name]()
  } else {
    for (let i = 0; i < BATCH; i++) await contenders[name]()
  }
  return Number(process.hrtime.bigint() - t0) / 1e3 / BATCH
}

function median (xs) {
  const s = xs.slice().sort((a, b) => a - b)
  return s[s.length >> 1]
}

/** How many decisions a run of this body makes (seed 1's schedule). */
async function decisionCount () {
  const r = await explore.replay({ seed: 1 }, async () => { await body() }, { toFake: TO_FAKE })
  return r.schedule.length
}

async function run () {
  const names = Object.keys(contenders)
  for (const n of names) await measure(n) // warm-up
  const times = Object.fromEntries(names.map((n) => [n, []]))
  for (let r = 0; r < RUNS; r++) for (const n of names) times[n].push(await measure(n))
  decisions = await decisionCount()
  const m = Object.fromEntries(names.map((n) => [n, median(times[n])]))
  const base = m['seqloop node (plain)']
  console.log(`explore: a ${N}-timer body (${decisions} decisions per run), µs per body, median of ${RUNS} runs of ${BATCH}, node ${process.version}`)
  console.log('| contender | µs per body | vs seqloop plain | vs sinon plain |')
  console.log('|---|---|---|---|')
  for (const n of names) {
    console.log(`| ${n} | ${m[n].toFixed(1)} | ${(m[n] / base).toFixed(2)}x | ${(m[n] / m['sinon (plain)']).toFixed(2)}x |`)
  }
  const ratio = m['explore (per run)'] / base
  console.log('(explore.replay records every dispatch into a trace; explore records only a failing run)')
  console.log(`explore overhead per run: ${ratio.toFixed(2)}x a plain seqloop run (target <= ${TARGET}x)${ratio <= TARGET ? '' : ' — ABOVE TARGET'}`)
}

module.exports = { run }
if (require.main === module) run().catch((err) => { console.error(err); process.exitCode = 1 })
