'use strict'
// seqloop/explore: runs an async test body many times on fresh fake clocks (`semantics: 'node'`),
// each run under a seeded schedule of the orders real Node leaves open (I/O latencies, a top-level
// setTimeout(0) against setImmediate, same-millisecond timers set in different loop turns). A
// failing run is shrunk to the fewest perturbed decisions that still fail (delta debugging), and
// re-run with a recording scheduler so its dispatched sequence is a real, replayable trace.
// Design and formats: docs/explore.md.
const fakeTimers = require('./fake-timers.js')
const { ScheduleHook } = require('./fake-timers/schedule-hook.js')
const { codedError, describe, TIMEOUT_MAX } = require('./fake-timers/common.js')
const { prng } = require('./prng.js')
const { Scheduler } = require('./scheduler.js')


const MAX_RUNS = 1e6
const MAX_SEED = 2 ** 32 - 1
/** Default of `loopLimit`: most timers one run may dispatch (an interval left running, say). */
const LOOP_LIMIT = 1e5
/** Loop turns a run waits for a body left with nothing scheduled before calling it stalled. */
const STALL_TURNS = 8
/** Characters of a settled io value kept in a trace. */
const MAX_VALUE_JSON = 4096

// ---- options ---------------------------------------------------------------------------------

function checkFunction (fn, what) {
  if (typeof fn !== 'function') {
    throw codedError(TypeError, 'ERR_INVALID_ARG_TYPE', `${what} must be a function, got ${describe(fn)}`)
  }
}

function checkOptionsObject (options, what) {
  if (options === undefined || options === null) return {}
  if (typeof options !== 'object') {
    throw codedError(TypeError, 'ERR_INVALID_ARG_TYPE', `${what} must be an object, got ${describe(options)}`)
  }
  return options
}

function checkInteger (value, name, min, max) {
  if (typeof value !== 'number') {
    throw codedError(TypeError, 'ERR_INVALID_ARG_TYPE', `${name} must be a number, got ${describe(value)}`)
  }
  if (!Number.isInteger(value) || value < min || value > max) {
    throw codedError(RangeError, 'ERR_OUT_OF_RANGE', `${name} must be an integer from ${min} to ${max}, got ${value}`)
  }
  return value
}

/** `[min, max]` whole milliseconds, 0 <= min <= max <= 2^31 - 1. */
function checkLatency (value, name) {
  if (!Array.isArray(value) || value.length !== 2) {
    throw codedError(TypeError, 'ERR_INVALID_ARG_TYPE', `${name} must be a [min, max] array of milliseconds, got ${describe(value)}`)
  }
  const min = checkInteger(value[0], `${name}[0]`, 0, TIMEOUT_MAX)
  const max = checkInteger(value[1], `${name}[1]`, 0, TIMEOUT_MAX)
  if (min > max) throw codedError(RangeError, 'ERR_OUT_OF_RANGE', `${name} must have min <= max, got [${min}, ${max}]`)
  return [min, max]
}

function exploreConfig (options) {
  const o = checkOptionsObject(options, 'explore options')
  return {
    runs: o.runs === undefined ? 100 : checkInteger(o.runs, 'options.runs', 1, MAX_RUNS),
    seed: o.seed === undefined ? 1 : checkInteger(o.seed, 'options.seed', 0, MAX_SEED),
    latency: o.latencyMs === undefined ? [0, 50] : checkLatency(o.latencyMs, 'options.latencyMs'),
    toFake: o.toFake,
    loopLimit: o.loopLimit === undefined ? LOOP_LIMIT : checkInteger(o.loopLimit, 'options.loopLimit', 1, Number.MAX_SAFE_INTEGER)
  }
}

const KINDS = ['io_latency', 'timeout_vs_immediate', 'same_ms']

/** A schedule (array of decisions) as a Map key → choice; checks each choice against its kind. */
function scheduleMap (schedule, what) {
  if (!Array.isArray(schedule)) {
    throw codedError(TypeError, 'ERR_INVALID_ARG_TYPE', `${what} must be an array of decisions, got ${describe(schedule)}`)
  }
  const map = new Map()
  schedule.forEach((d, i) => {
    const at = `${what}[${i}]`
    if (d === null || typeof d !== 'object' || typeof d.key !== 'string') {
      throw codedError(TypeError, 'ERR_INVALID_ARG_TYPE', `${at} must be a decision { key, kind, choice }, got ${describe(d)}`)
    }
    const kind = d.kind === undefined ? KINDS.find((k) => d.key.startsWith(PREFIX[k] + ':')) : d.kind
    if (!KINDS.includes(kind) || !d.key.startsWith(PREFIX[kind] + ':')) {
      throw codedError(TypeError, 'ERR_INVALID_ARG_VALUE', `${at} has an unknown decision ${describe(d.key)} of kind ${describe(d.kind)}`)
    }
    const c = d.choice
    const ok = kind === 'io_latency'
      ? Number.isInteger(c) && c >= 0 && c <= TIMEOUT_MAX
      : kind === 'timeout_vs_immediate'
        ? c === 'timeout' || c === 'immediate'
        : isPermutation(c)
    if (!ok) throw codedError(TypeError, 'ERR_INVALID_ARG_VALUE', `${at} (${d.key}) has an invalid choice ${describe(c)}`)
    map.set(d.key, c)
  })
  return map
}

function isPermutation (c) {
  if (!Array.isArray(c) || c.length > 1e4) return false
  const seen = new Set(c)
  return seen.size === c.length && c.every((k) => Number.isInteger(k) && k >= 0 && k < c.length)
}

// ---- one run ---------------------------------------------------------------------------------

const PREFIX = { io_latency: 'io', timeout_vs_immediate: 'top', same_ms: 'tie' }

/**
 * Where a run's choices come from: the seeded generator (exploring), or a fixed map key → choice
 * (replaying and shrinking; a decision not in it takes its default).
 */
class Decider {
  constructor (seed, fixed) {
    this.rng = fixed === null ? prng(seed) : null
    this.fixed = fixed
    this.counts = { io: 0, top: 0, tie: 0 }
    this.schedule = []
  }

  /** Records and returns one decision's choice. `draw(rng)` is the random choice. */
  choose (kind, info, dflt, draw, valid) {
    const prefix = PREFIX[kind]
    const key = `${prefix}:${this.counts[prefix]++}`
    let choice = dflt
    if (this.rng !== null) {
      choice = draw(this.rng)
    } else if (this.fixed.has(key)) {
      const c = this.fixed.get(key)
      if (valid(c)) choice = c
    }
    this.schedule.push({ key, kind, choice, default: dflt, ...info })
    return choice
  }

  ioLatency (label, min, max) {
    return this.choose('io_latency', { label, range: [min, max] }, Math.floor((min + max) / 2),
      (rng) => min + rng.range(max - min + 1), () => true)
  }

  decide (kind, info) {
    if (kind === 'timeout_vs_immediate') {
      return this.choose(kind, info, 'immediate', (rng) => (rng.range(2) === 0 ? 'immediate' : 'timeout'), () => true)
    }
    const n = info.turns.length
    const identity = Array.from({ length: n }, (_, i) => i)
    return this.choose(kind, info, identity, (rng) => shuffle(identity.slice(), rng), (c) => c.length === n)
  }
}

function shuffle (a, rng) {
  for (let i = a.length - 1; i > 0; i--) {
    const j = rng.range(i + 1)
    const x = a[i]
    a[i] = a[j]
    a[j] = x
  }
  return a
}

/** A settled io value as trace JSON: itself when JSON-compatible and small, else a description. */
function traceValue (v) {
  if (v === undefined) return null
  try {
    const json = JSON.stringify(v)
    if (json !== undefined && json.length <= MAX_VALUE_JSON) return JSON.parse(json)
  } catch {}
  return `[${typeof v === 'object' ? Object.prototype.toString.call(v).slice(8, -1) : typeof v}]`
}

/** Records each dispatch of a run into a recording `Scheduler` (custom clock: the fake time). */
class Recorder {
  constructor (clock) {
    this.now = 0
    this.s = new Scheduler({ record: true, clock: { nowMs: () => this.now } })
    this.clock = clock
    this.ioOf = new WeakMap() // io delivery function → its call
  }

  /** A timer about to run (an io delivery is recorded by `io`, once its call has settled). */
  dispatch (t) {
    if (this.ioOf.has(t.func)) return
    // the fake time it runs at (a top-level timeout run first moves the clock past the immediates)
    this.now = this.clock._mono
    const name = (t.func && t.func.name) || 'anonymous'
    this.s.enqueueEvent(t.type.toLowerCase(), { id: t.id, at: this.now, delay: t.delay, name })
    this.s.tick()
  }

  /**
   * An io call delivered to the body, with its settled outcome. A call whose function had not
   * settled at its delivery time is recorded when it settles: the run dispatches nothing else
   * meanwhile, so the recorded order is the run's.
   */
  io (call) {
    this.now = this.clock._mono
    const e = call.value
    const outcome = call.ok
      ? { type: 'success', value: traceValue(e) }
      : { type: 'error', code: String((e && e.code) || (e && e.name) || 'Error'), message: String(e && e.message) }
    this.s.enqueueHostcallComplete(call.key, outcome)
    this.s.tick()
  }
}

/**
 * Runs `testFn` once on a fresh clock. Returns `{ ok, error, schedule }`, plus `digest` and
 * `trace` when `record`.
 */
function runOnce (testFn, seed, fixed, cfg, record) {
  const install = cfg.toFake === undefined ? { semantics: 'node' } : { semantics: 'node', toFake: cfg.toFake }
  // The real setImmediate, read before each run fakes it (not when this module loads: fake timers
  // installed then would be a stale fake later; `install` below refuses while any are installed).
  const realSetImmediate = globalThis.setImmediate
  const clock = fakeTimers.install(install)
  const decider = new Decider(seed, fixed)
  const recorder = record ? new Recorder(clock) : null
  const hook = new ScheduleHook(clock, (kind, info) => decider.decide(kind, info),
    recorder === null ? null : (t) => recorder.dispatch(t))
  const run = { over: false, settled: false, failed: false, error: undefined, blocked: new Set() }
  const ctx = {
    clock,
    seed,
    io: (fn, ioOptions) => wrapIo(fn, ioOptions, cfg, clock, decider, recorder, run)
  }
  return new Promise((resolve) => {
    const fail = (e) => {
      if (!run.failed) {
        run.failed = true
        run.error = e
      }
    }
    const finish = () => {
      run.over = true
      clock._ticking--
      try {
        clock.uninstall()
      } catch (e) {
        fail(e) // not expected; the run still ends, with this error
      }
      const out = { ok: !run.failed, error: run.error, schedule: decider.schedule }
      if (recorder !== null) {
        out.digest = recorder.s.digest()
        out.trace = recorder.s.traceJsonl()
      }
      resolve(out)
    }
    let body
    try {
      body = Promise.resolve(testFn(ctx))
    } catch (e) {
      body = Promise.reject(e)
    }
    body.then(() => { run.settled = true }, (e) => {
      run.settled = true
      fail(e)
    })
    // Time moves only here: one timer per turn of the real loop, so the promise reactions and
    // nextTicks each timer queues run before the next (Node's order, as the clock's async methods).
    clock._ticking++
    let dispatches = 0
    let idle = 0
    const step = () => {
      if (run.settled || run.failed) return finish()
      if (run.blocked.size !== 0) {
        // an io call delivered before its function's promise settled: wait for it in real time
        Promise.allSettled([...run.blocked]).then(() => realSetImmediate(step))
        return
      }
      let t
      try {
        clock.runMicrotasks()
        t = clock._take(Infinity)
      } catch (e) {
        fail(e)
        return finish()
      }
      if (t === null) {
        if (++idle > STALL_TURNS) {
          fail(codedError(Error, 'ERR_EXPLORE_STALLED',
            'The test body is waiting, but no timer or ctx.io call is pending to wake it (await only fake timers, ctx.io calls and what they settle)'))
          return finish()
        }
        realSetImmediate(step)
        return
      }
      idle = 0
      if (++dispatches > cfg.loopLimit) {
        fail(codedError(Error, 'ERR_LOOP_LIMIT', `Aborting after running ${cfg.loopLimit} timers in one run, assuming an infinite loop!`))
        return finish()
      }
      try {
        clock._fire(t)
      } catch (e) {
        fail(e) // an exception thrown by a timer: in Node, an uncaught exception
        return finish()
      }
      realSetImmediate(step)
    }
    realSetImmediate(step)
  })
}

/** `ctx.io(fn, options)`: `fn` whose every call settles after a decided virtual latency. */
function wrapIo (fn, ioOptions, cfg, clock, decider, recorder, run) {
  checkFunction(fn, 'ctx.io(fn)')
  const o = checkOptionsObject(ioOptions, 'ctx.io options')
  const [min, max] = o.latencyMs === undefined ? cfg.latency : checkLatency(o.latencyMs, 'ctx.io latencyMs')
  if (o.name !== undefined && typeof o.name !== 'string') {
    throw codedError(TypeError, 'ERR_INVALID_ARG_TYPE', `ctx.io name must be a string, got ${describe(o.name)}`)
  }
  const label = o.name || fn.name || 'anonymous'
  return function io (...args) {
    if (run.over) {
      throw codedError(TypeError, 'ERR_INVALID_STATE', `ctx.io(${label}) was called after its run ended`)
    }
    const latency = decider.ioLatency(label, min, max)
    const key = decider.schedule[decider.schedule.length - 1].key
    const call = { key, settled: false, ok: true, value: undefined }
    let p
    try {
      p = Promise.resolve(fn.apply(this, args))
    } catch (e) {
      p = Promise.reject(e)
    }
    p.then((v) => {
      call.settled = true
      call.value = v
    }, (e) => {
      call.settled = true
      call.ok = false
      call.value = e
    })
    return new Promise((resolve, reject) => {
      const settle = () => {
        if (recorder !== null && !run.over) recorder.io(call)
        if (call.ok) resolve(call.value)
        else reject(call.value)
      }
      const deliver = function deliver () {
        if (call.settled) return settle()
        // still running (real I/O): the run waits for it before it dispatches anything else
        run.blocked.add(p)
        p.then(settle, settle).finally(() => run.blocked.delete(p))
      }
      if (recorder !== null) recorder.ioOf.set(deliver, call)
      clock.setTimeout(deliver, latency)
    })
  }
}

// ---- shrinking -------------------------------------------------------------------------------

/**
 * The fewest of `decisions` (perturbed ones, as `[key, choice, default]`) that still make a run
 * fail the same way (`sameFailure`), the others at their defaults: ddmin (Zeller and Hildebrandt 2002), then each kept io latency moved
 * as close to its default as still fails (a binary search). Returns the kept `[key, choice]`s.
 */
async function shrink (testFn, seed, decisions, cfg, error) {
  const fails = async (list) => {
    const r = await runOnce(testFn, seed, new Map(list), cfg, false)
    return !r.ok && sameFailure(r.error, error)
  }
  let list = decisions
  if (list.length !== 0 && await fails([])) return []
  let n = 2
  while (list.length >= 2) {
    const size = Math.ceil(list.length / n)
    const chunks = []
    for (let i = 0; i < list.length; i += size) chunks.push(list.slice(i, i + size))
    let next = null
    for (const c of chunks) {
      if (await fails(c)) {
        next = c
        n = 2
        break
      }
    }
    if (next === null && chunks.length > 2) {
      for (const c of chunks) {
        const rest = list.filter((d) => !c.includes(d))
        if (await fails(rest)) {
          next = rest
          n = Math.max(n - 1, 2)
          break
        }
      }
    }
    if (next !== null) {
      list = next
      continue
    }
    if (n >= list.length) break
    n = Math.min(n * 2, list.length)
  }
  // io latencies: the closest value to the default that still fails
  list = list.slice()
  for (let i = 0; i < list.length; i++) {
    const [key, choice, dflt] = list[i]
    if (!key.startsWith('io:')) continue
    let far = choice // fails
    let near = dflt // passes (with this decision at its default, the list is not failing: ddmin)
    while (Math.abs(far - near) > 1) {
      const mid = near + Math.trunc((far - near) / 2)
      const trial = list.slice()
      trial[i] = [key, mid, dflt]
      if (await fails(trial)) far = mid
      else near = mid
    }
    list[i] = [key, far, dflt]
  }
  return list
}

/**
 * True when two failures are the same bug for shrinking: the same error class and `code` (the
 * message may differ: it often quotes the values), or the same type of thrown non-error. A run
 * that fails some other way (say, stalls) does not count, so shrinking cannot slip to another bug.
 */
function sameFailure (a, b) {
  if (a instanceof Error && b instanceof Error) return a.constructor === b.constructor && a.code === b.code
  return typeof a === typeof b && !(a instanceof Error) && !(b instanceof Error)
}

const perturbed = (schedule) => schedule.filter((d) => !sameChoice(d.choice, d.default))

function sameChoice (a, b) {
  return Array.isArray(a) ? a.length === b.length && a.every((x, i) => x === b[i]) : a === b
}

// ---- the API ---------------------------------------------------------------------------------

/**
 * Runs `testFn(ctx)` under `runs` seeded schedules (seeds `seed`, `seed + 1`, …). Resolves
 * `{ ok: true, runs }`, or at the first failing run `{ ok: false, runs, seed, error, schedule,
 * shrunk: { schedule, decisions }, trace }`.
 */
async function explore (testFn, options) {
  checkFunction(testFn, 'The test body')
  const cfg = exploreConfig(options)
  for (let i = 0; i < cfg.runs; i++) {
    const seed = (cfg.seed + i) % (MAX_SEED + 1)
    const r = await runOnce(testFn, seed, null, cfg, false)
    if (r.ok) continue
    const kept = await shrink(testFn, seed, perturbed(r.schedule).map((d) => [d.key, d.choice, d.default]), cfg, r.error)
    const small = await runOnce(testFn, seed, new Map(kept), cfg, false)
    // the failing run again, this time recording its dispatches (same seed and body: same run)
    const recorded = await runOnce(testFn, seed, scheduleMap(r.schedule, 'schedule'), cfg, true)
    return {
      ok: false,
      runs: i + 1,
      seed,
      error: r.error,
      schedule: r.schedule,
      shrunk: { schedule: small.schedule, decisions: perturbed(small.schedule) },
      trace: recorded.trace,
      options: { latencyMs: cfg.latency, toFake: cfg.toFake, loopLimit: cfg.loopLimit }
    }
  }
  return { ok: true, runs: cfg.runs }
}

/**
 * Re-runs one schedule exactly: `target` is a failing `explore` result or `{ seed, schedule }`
 * (a decision not in `schedule` takes its default; without `schedule`, the seed's own schedule).
 * Resolves `{ ok, error, digest }` (and the run's `schedule` and `trace`).
 */
async function replay (target, testFn, options) {
  if (target === null || typeof target !== 'object') {
    throw codedError(TypeError, 'ERR_INVALID_ARG_TYPE', `explore.replay expects an explore result or { seed, schedule }, got ${describe(target)}`)
  }
  checkFunction(testFn, 'The test body')
  const cfg = exploreConfig(options === undefined ? target.options : options)
  const seed = target.seed === undefined ? cfg.seed : checkInteger(target.seed, 'seed', 0, MAX_SEED)
  const fixed = target.schedule === undefined ? null : scheduleMap(target.schedule, 'schedule')
  const r = await runOnce(testFn, seed, fixed, cfg, true)
  return { ok: r.ok, error: r.error, digest: r.digest, schedule: r.schedule, trace: r.trace }
}

explore.explore = explore
explore.replay = replay

module.exports = explore
