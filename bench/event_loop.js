'use strict'
// EventLoop benchmark (issue 3): N timers set then all run, and a 1e5-hop ping-pong, beside
// @sinonjs/fake-timers (runAll and runAllAsync) and node:test mock.timers, in one process.
// seqloop drains microtasks after every callback (the others' sync modes do not).
const { mock } = require('node:test')
const FakeTimers = require('@sinonjs/fake-timers')
const { EventLoop } = require('../lib/index.js')

function xorshift (seed) {
  let x = BigInt.asUintN(64, BigInt(seed) ^ 0x9E3779B97F4A7C15n)
  return () => {
    x ^= BigInt.asUintN(64, x << 13n)
    x ^= x >> 7n
    x ^= BigInt.asUintN(64, x << 17n)
    return Number(x % 10001n)
  }
}

function delays (n) {
  const next = xorshift(n)
  return Array.from({ length: n }, next)
}

/**
 * Runs `fn` until it has run 5 times and for at least 500 ms, so every contender is measured in
 * its steady state, with its code optimized (a single cold run leaves small N timed in the
 * interpreter; seqloop's runner takes ~2e5 callbacks to reach its optimized tier). The same for
 * every contender, like criterion's warm-up.
 */
async function warmUp (fn) {
  const t0 = Date.now()
  for (let i = 0; i < 5 || Date.now() - t0 < 500; i++) await fn()
}

function check (label, got, want) {
  if (got !== want) throw new Error(`${label}: ran ${got} callbacks, expected ${want}`)
}

const contenders = {
  async seqloop (ds) {
    const loop = new EventLoop()
    let count = 0
    const cb = () => { count++ }
    for (const d of ds) loop.setTimeout(cb, d)
    await loop.runAll({ maxTicks: ds.length + 1 })
    return count
  },
  async 'sinon runAllAsync' (ds) {
    const clock = FakeTimers.createClock(0, ds.length + 10)
    let count = 0
    const cb = () => { count++ }
    for (const d of ds) clock.setTimeout(cb, d)
    await clock.runAllAsync()
    return count
  },
  async 'sinon runAll' (ds) {
    const clock = FakeTimers.createClock(0, ds.length + 10)
    let count = 0
    const cb = () => { count++ }
    for (const d of ds) clock.setTimeout(cb, d)
    clock.runAll()
    return count
  },
  async 'mock.timers' (ds) {
    mock.timers.enable({ apis: ['setTimeout'] })
    let count = 0
    const cb = () => { count++ }
    try {
      for (const d of ds) setTimeout(cb, d)
      mock.timers.tick(10_001)
    } finally {
      mock.timers.reset()
    }
    return count
  },
}

const hops = {
  async seqloop (n) {
    const loop = new EventLoop()
    let count = 0
    const hop = () => { if (++count < n) loop.setTimeout(hop, 1) }
    loop.setTimeout(hop, 1)
    await loop.runAll({ maxTicks: n + 1 })
    return count
  },
  async 'sinon runAllAsync' (n) {
    const clock = FakeTimers.createClock(0, n + 10)
    let count = 0
    const hop = () => { if (++count < n) clock.setTimeout(hop, 1) }
    clock.setTimeout(hop, 1)
    await clock.runAllAsync()
    return count
  },
  async 'sinon runAll' (n) {
    const clock = FakeTimers.createClock(0, n + 10)
    let count = 0
    const hop = () => { if (++count < n) clock.setTimeout(hop, 1) }
    clock.setTimeout(hop, 1)
    clock.runAll()
    return count
  },
  async 'mock.timers' (n) {
    mock.timers.enable({ apis: ['setTimeout'] })
    let count = 0
    try {
      // mock.timers runs only timers already due when tick() starts: one tick(1) per hop.
      const hop = () => { if (++count < n) setTimeout(hop, 1) }
      setTimeout(hop, 1)
      for (let i = 0; i < n; i++) mock.timers.tick(1)
    } finally {
      mock.timers.reset()
    }
    return count
  },
}

/**
 * Median ms of `runs` timed runs per contender, the contenders taking turns run by run (so a
 * slow moment of the machine or a major GC does not fall on one contender's runs only).
 */
async function interleaved (runs, table) {
  const times = Object.fromEntries(Object.keys(table).map((k) => [k, []]))
  for (let r = 0; r < runs; r++) {
    for (const [name, fn] of Object.entries(table)) {
      const t0 = process.hrtime.bigint()
      await fn()
      times[name].push(Number(process.hrtime.bigint() - t0) / 1e6)
    }
  }
  const out = {}
  for (const [name, ts] of Object.entries(times)) {
    ts.sort((a, b) => a - b)
    out[name] = ts[Math.floor(ts.length / 2)]
  }
  return out
}

async function run () {
  console.log('\n## EventLoop: N timers (seeded delays 0-10 s) set, then all run (median ms)')
  const names = Object.keys(contenders)
  const rows = []
  for (const n of [1e3, 1e4, 1e5]) {
    const ds = delays(n)
    const table = {}
    for (const name of names) {
      await warmUp(() => contenders[name](ds).then((c) => check(name, c, n))) // and correctness
      table[name] = async () => check(name, await contenders[name](ds), n)
    }
    rows.push({ N: n, ...(await interleaved(n >= 1e5 ? 7 : 15, table)) })
  }
  for (const r of rows) {
    const s = r.seqloop
    console.log(`N=${String(r.N).padEnd(6)} ` + names.map((k) => `${k} ${r[k].toFixed(2)} ms`).join(' | ') +
      ' || seqloop is ' + names.slice(1).map((k) => `${(r[k] / s).toFixed(2)}x vs ${k}`).join(', ') +
      ` | ${((s * 1e6) / r.N).toFixed(0)} ns per callback`)
  }

  console.log('\n## EventLoop: 1e5-hop ping-pong (each callback sets the next timer at +1 ms)')
  const n = 1e5
  const table = {}
  for (const name of Object.keys(hops)) {
    await warmUp(() => hops[name](1e4).then((c) => check(name, c, 1e4)))
    table[name] = async () => check(name, await hops[name](n), n)
  }
  const ms = await interleaved(7, table)
  const hopRow = Object.fromEntries(Object.entries(ms).map(([k, v]) => [k, n / (v / 1e3)]))
  console.log(Object.entries(hopRow).map(([k, v]) => `${k} ${(v / 1e3).toFixed(0)} k hops/s`).join(' | ') +
    ' || seqloop is ' + Object.keys(hopRow).slice(1).map((k) => `${(hopRow.seqloop / hopRow[k]).toFixed(2)}x vs ${k}`).join(', '))
}

module.exports = { run }
if (require.main === module) run()
