'use strict'
// seqloop/fake-timers side by side with @sinonjs/fake-timers and node:test's `mock.timers`, in one
// process. Each cell is the median of RUNS runs (after a warm-up run; contenders interleaved run
// by run); every run checks its counters (and, for runAll, that timers fired in (deadline,
// creation) order), so a fast wrong answer cannot win.
// seqloop runs twice: with its default (sinon's) semantics and with `semantics: 'node'`; and once
// more on its WebAssembly build (seqloop-wasm32-wasi, docs/wasm.md: what macOS and Windows users
// run) when one is there (`scripts/build-wasm.sh`), loaded beside the native one in this process.
// Usage: `node bench/fake_timers.js` or `require('./bench/fake_timers.js').run()`.
const path = require('node:path')
const { mock } = require('node:test')
const sinon = require('@sinonjs/fake-timers')
const seqloop = require('../lib/fake-timers.js')
const seqloopWasm = loadWasm()

/**
 * seqloop/fake-timers over the WebAssembly build: a second copy of lib/ loaded with
 * NAPI_RS_FORCE_WASI=1 (lib/native.js then loads the wasm build only), the module cache and the
 * environment restored afterwards; null when there is no wasm build.
 */
function loadWasm () {
  const lib = path.join(__dirname, '..', 'lib') + path.sep
  const ours = () => Object.keys(require.cache).filter((k) => k.startsWith(lib))
  const saved = new Map(ours().map((k) => [k, require.cache[k]]))
  for (const k of saved.keys()) delete require.cache[k]
  const force = process.env.NAPI_RS_FORCE_WASI
  process.env.NAPI_RS_FORCE_WASI = '1'
  try {
    return require('../lib/fake-timers.js')
  } catch (e) {
    if (e.code === 'ERR_NATIVE_BINDING_MISSING') return null
    throw e
  } finally {
    if (force === undefined) delete process.env.NAPI_RS_FORCE_WASI
    else process.env.NAPI_RS_FORCE_WASI = force
    for (const k of ours()) delete require.cache[k]
    for (const [k, m] of saved) require.cache[k] = m
  }
}

const RUNS = Number(process.env.BENCH_RUNS || 5)
const N_RUNALL = 100000
const N_PAIRS = 200000
const N_HOPS = 100000
const N_PENDING = 100000
const N_TICKS = 2000

class CheckFailed extends Error {}

function check (cond, what) {
  if (!cond) throw new CheckFailed(`counter check failed: ${what}`)
}

function median (xs) {
  const s = xs.slice().sort((a, b) => a - b)
  return s[s.length >> 1]
}

function ms (fn) {
  const t0 = process.hrtime.bigint()
  fn()
  return Number(process.hrtime.bigint() - t0) / 1e6
}

const same = (d) => d
const nodeFloor = (d) => (d < 1 ? 1 : d) // `semantics: 'node'`: a zero delay is 1 ms

/**
 * A uniform timer API over the libraries: `make()` returns a fresh { set, clear, tick, runAll,
 * done, delay } bound to a new clock (node:test mocks the globals, so it is enabled per run);
 * `delay(d)` is the delay a timer set with `d` gets (for the order check).
 */
const libs = {
  seqloop: () => {
    const c = seqloop.createClock(0, 1e9)
    return { set: c.setTimeout, clear: c.clearTimeout, tick: c.tick, runAll: c.runAll, done () {}, delay: same }
  },
  "seqloop (semantics 'node')": () => {
    const c = seqloop.createClock(0, 1e9, { semantics: 'node' })
    return { set: c.setTimeout, clear: c.clearTimeout, tick: c.tick, runAll: c.runAll, done () {}, delay: nodeFloor }
  },
  ...(seqloopWasm && {
    'seqloop (wasm)': () => {
      const c = seqloopWasm.createClock(0, 1e9)
      return { set: c.setTimeout, clear: c.clearTimeout, tick: c.tick, runAll: c.runAll, done () {}, delay: same }
    }
  }),
  '@sinonjs/fake-timers': () => {
    const c = sinon.createClock(0, 1e9)
    return { set: c.setTimeout, clear: c.clearTimeout, tick: c.tick, runAll: c.runAll, done () {}, delay: same }
  },
  'node:test mock.timers': () => {
    mock.timers.enable({ apis: ['setTimeout'] })
    return {
      set: (fn, d) => setTimeout(fn, d),
      clear: (h) => clearTimeout(h),
      tick: (n) => mock.timers.tick(n),
      runAll: () => mock.timers.runAll(),
      done: () => mock.timers.reset(),
      delay: same
    }
  }
}

function randomDelays (n, seed) {
  const out = new Array(n)
  let x = seed
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) % 2147483648
    out[i] = x % N_RUNALL
  }
  return out
}

const cases = [
  {
    name: `runAll, ${N_RUNALL / 1000}k random timers (ms)`,
    unit: 'ms',
    lowerIsBetter: true,
    once (make) {
      const api = make()
      const delays = randomDelays(N_RUNALL, 42)
      const fired = []
      const t = ms(() => {
        for (let i = 0; i < N_RUNALL; i++) api.set(() => fired.push(i), delays[i])
        api.runAll()
      })
      api.done()
      check(fired.length === N_RUNALL, `every timer fired once (${fired.length}/${N_RUNALL} fired)`)
      for (let k = 1; k < fired.length; k++) {
        const a = fired[k - 1]
        const b = fired[k]
        const da = api.delay(delays[a])
        const db = api.delay(delays[b])
        check(da < db || (da === db && a < b), '(deadline, seq) order')
      }
      return t
    }
  },
  ...[0, 10000].map((pending) => ({
    name: `setTimeout+clearTimeout pairs, ${pending / 1000}k pending (M pairs/s)`,
    unit: 'M/s',
    lowerIsBetter: false,
    once (make) {
      const api = make()
      for (let i = 0; i < pending; i++) api.set(() => {}, 1000 + i)
      let fired = 0
      const fn = () => { fired++ }
      const t = ms(() => {
        for (let i = 0; i < N_PAIRS; i++) api.clear(api.set(fn, 10 + (i & 1023)))
      })
      api.tick(2000)
      api.done()
      check(fired === 0, 'no cleared timer fired')
      return N_PAIRS / t / 1000
    }
  })),
  ...[0, 10000].map((pending) => ({
    // With nothing else pending, seqloop's lone timer never reaches the native queue; the second
    // row keeps far-future timers pending so that every hop goes through it.
    name: pending === 0
      ? `ping-pong, ${N_HOPS / 1000}k hops at +1 ms (k hops/s)`
      : `ping-pong, ${N_HOPS / 1000}k hops at +1 ms, ${pending / 1000}k far timers pending (k hops/s)`,
    unit: 'k/s',
    lowerIsBetter: false,
    once (make) {
      const api = make()
      let far = 0
      for (let i = 0; i < pending; i++) api.set(() => { far++ }, 1e7 + i)
      let hops = 0
      const hop = () => {
        hops++
        if (hops < N_HOPS) api.set(hop, 1)
      }
      const t = ms(() => {
        api.set(hop, 1)
        api.tick(N_HOPS)
      })
      api.done()
      check(hops === N_HOPS, 'every hop ran')
      check(far === 0, 'no far timer fired')
      return N_HOPS / t
    }
  })),
  {
    name: `tick(1) with ${N_PENDING / 1000}k pending (µs per tick)`,
    unit: 'µs',
    lowerIsBetter: true,
    once (make) {
      const api = make()
      let fired = 0
      const fn = () => { fired++ }
      for (let i = 0; i < N_PENDING; i++) api.set(fn, 1e6 + i)
      api.tick(1) // settle any lazy structure before timing
      const t = ms(() => {
        for (let i = 0; i < N_TICKS; i++) api.tick(1)
      })
      api.done()
      check(fired === 0, 'nothing due fired')
      return (t * 1000) / N_TICKS
    }
  }
]

function fmt (v) {
  if (Number.isNaN(v)) return 'wrong result (see note)'
  if (v >= 100) return v.toFixed(0)
  if (v >= 10) return v.toFixed(1)
  return v.toFixed(2)
}

async function run () {
  const names = Object.keys(libs)
  const rows = []
  const notes = []
  for (const c of cases) {
    const row = { case: c.name }
    const samples = Object.fromEntries(names.map((lib) => [lib, []]))
    const failed = new Set()
    // Round -1 warms every contender up and is not recorded. Then the contenders take turns run
    // by run, so a slow moment of the machine or a major GC does not fall on one of them only.
    for (let r = -1; r < RUNS; r++) {
      for (const lib of names) {
        if (failed.has(lib)) continue
        try {
          const v = c.once(libs[lib])
          if (r >= 0) samples[lib].push(v)
        } catch (e) {
          if (!(e instanceof CheckFailed)) throw e
          if (lib === 'node:test mock.timers') mock.timers.reset()
          failed.add(lib)
          notes.push(`${lib}, ${c.name}: ${e.message}`)
        }
        await new Promise((resolve) => setImmediate(resolve))
      }
    }
    for (const lib of names) row[lib] = failed.has(lib) ? NaN : median(samples[lib])
    const base = row['@sinonjs/fake-timers']
    const node = row["seqloop (semantics 'node')"]
    row['seqloop vs sinon'] = c.lowerIsBetter ? base / row.seqloop : row.seqloop / base
    row["seqloop 'node' vs sinon"] = c.lowerIsBetter ? base / node : node / base
    if (seqloopWasm) {
      const wasm = row['seqloop (wasm)']
      row['wasm vs sinon'] = c.lowerIsBetter ? base / wasm : wasm / base
      // How many times slower the wasm build is than the native one.
      row['wasm slowdown'] = c.lowerIsBetter ? wasm / row.seqloop : row.seqloop / wasm
    }
    rows.push(row)
  }
  const ratios = ['seqloop vs sinon', "seqloop 'node' vs sinon", ...(seqloopWasm ? ['wasm vs sinon', 'wasm slowdown'] : [])]
  const header = ['case', ...names, ...ratios]
  const lines = [
    `| ${header.join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.case} | ${names.map((n) => fmt(r[n])).join(' | ')} | ${ratios.map((k) => `${r[k].toFixed(2)}x`).join(' | ')} |`)
  ]
  console.log(`fake timers, median of ${RUNS} interleaved runs after a warm-up, node ${process.version}`)
  console.log(lines.join('\n'))
  for (const n of notes) console.log(`note: ${n}`)
  if (!seqloopWasm) console.log('note: no WebAssembly build here (scripts/build-wasm.sh adds the seqloop (wasm) column)')
  return rows
}

module.exports = { run }

if (require.main === module) {
  run().catch((e) => {
    console.error(e)
    process.exitCode = 1
  })
}
