'use strict'
// A differential model test of the Scheduler (issue 18): random operations run against a plain
// JS model of API.md §1 and against two real schedulers, one recording and one not, on the same
// DeterministicClock; every result must agree after every operation (recording must never
// change what runs), and the recording must replay. Deterministic per seed.
//
//   node __test__/model/scheduler_model.js [--ops N] [--seeds N] [--seed S]   (npm run fuzz)
// The seed of a failure is printed; SEQLOOP_SEED=S re-runs exactly that seed.
const assert = require('node:assert/strict')
const { Scheduler, DeterministicClock, replay } = require('../..')

// The package's one seeded PRNG (mulberry32), shared with schedule exploration.
const { prng } = require('../../lib/prng.js')

/** The model: timers by id, a FIFO of macrotasks, one seq counter (API.md §1, I1–I5). */
class Model {
  constructor (clock) {
    this.clock = clock
    this.seq = 0
    this.nextId = 1
    this.timers = new Map() // id -> { deadline, seq }
    this.queue = []
  }

  now () { return this.clock.nowMs() }
  setTimeout (delay) {
    const id = this.nextId++
    this.timers.set(id, { deadline: this.now() + delay, seq: this.seq++ })
    return id
  }

  clearTimeout (id) { return this.timers.delete(id) }
  promote () {
    const now = this.now()
    const due = [...this.timers].filter(([, t]) => t.deadline <= now)
    due.sort((a, b) => a[1].deadline - b[1].deadline || a[1].seq - b[1].seq)
    for (const [id] of due) {
      this.timers.delete(id)
      this.queue.push({ seq: this.seq++, kind: 'timer_fired', timerId: id })
    }
  }

  tick () {
    this.promote()
    return this.queue.length ? this.queue.shift() : null
  }

  drain (k) {
    if (k === 0) return []
    this.promote()
    return this.queue.splice(0, k)
  }

  drainTimers (k) {
    this.promote()
    const ids = []
    while (ids.length < k && this.queue.length && this.queue[0].kind === 'timer_fired') ids.push(this.queue.shift().timerId)
    return ids
  }

  push (task) { this.queue.push({ seq: this.seq++, ...task }) }
  enqueueEvent (eventId, payload) { this.push({ kind: 'inbound_event', eventId, payload }) }
  enqueueHostcallComplete (callId, outcome) { this.push({ kind: 'hostcall_complete', callId, outcome }) }
  enqueueStreamChunk (callId, sequence, chunk, isFinal) {
    this.enqueueHostcallComplete(callId, { type: 'stream_chunk', sequence, chunk, isFinal })
  }

  nextTimerDeadline () {
    let min = null
    for (const t of this.timers.values()) if (min === null || t.deadline < min) min = t.deadline
    return min
  }

  state () {
    const d = this.nextTimerDeadline()
    return {
      currentSeq: this.seq,
      macrotaskCount: this.queue.length,
      timerCount: this.timers.size,
      hasPending: this.queue.length > 0 || this.timers.size > 0,
      nextTimerDeadline: d,
      timeUntilNextTimer: d === null ? null : Math.max(0, d - this.now()),
      nowMs: this.now(),
    }
  }
}

function realState (s) {
  return {
    currentSeq: s.currentSeq,
    macrotaskCount: s.macrotaskCount,
    timerCount: s.timerCount,
    hasPending: s.hasPending(),
    nextTimerDeadline: s.nextTimerDeadline(),
    timeUntilNextTimer: s.timeUntilNextTimer(),
    nowMs: s.nowMs(),
  }
}

function outcome (rng, i) {
  switch (rng.range(3)) {
    case 0: return { type: 'success', value: rng.range(4) === 0 ? null : { i, list: [i, 'x'] } }
    case 1: return { type: 'error', code: 'E' + rng.range(5), message: 'm' + i }
    default: return { type: 'stream_chunk', sequence: rng.range(10), chunk: [i], isFinal: rng.range(2) === 0 }
  }
}

/**
 * Runs `ops` random operations for `seed`; throws (with the seed and op index in the message)
 * at the first disagreement. Returns the number of operations run.
 */
function runSeed (seed, ops, { replayEvery = true } = {}) {
  const rng = prng(seed)
  const clock = new DeterministicClock(rng.range(1000))
  const model = new Model(clock)
  const plain = new Scheduler({ clock })
  const recorded = new Scheduler({ clock, record: true })
  const both = (f) => [f(plain), f(recorded)]
  const ids = []
  let i = 0
  let op = ''
  const check = (expected, got) => {
    assert.deepEqual(got[0], expected, `${op}: scheduler vs model`)
    assert.deepEqual(got[1], expected, `${op}: recording scheduler vs model`)
  }
  try {
    for (; i < ops; i++) {
      const r = rng.range(100)
      if (r < 22) {
        const delay = rng.range(4) === 0 ? 0 : rng.range(50)
        op = `setTimeout(${delay})`
        const id = model.setTimeout(delay)
        ids.push(id)
        check(id, both((s) => s.setTimeout(delay)))
      } else if (r < 30) {
        const id = ids.length && rng.range(4) ? ids[rng.range(ids.length)] : rng.range(5)
        op = `clearTimeout(${id})`
        check(model.clearTimeout(id), both((s) => s.clearTimeout(id)))
      } else if (r < 38) {
        const ms = rng.range(3) === 0 ? 0 : rng.range(30)
        op = `clock.advance(${ms})`
        clock.advance(ms)
      } else if (r < 46) {
        op = 'enqueueEvent'
        const payload = rng.range(3) === 0 ? undefined : { i }
        model.enqueueEvent('e' + (i % 7), payload === undefined ? null : payload)
        both((s) => payload === undefined ? s.enqueueEvent('e' + (i % 7)) : s.enqueueEvent('e' + (i % 7), payload))
      } else if (r < 52) {
        op = 'enqueueHostcallComplete'
        const o = outcome(rng, i)
        model.enqueueHostcallComplete('c' + (i % 5), o)
        both((s) => s.enqueueHostcallComplete('c' + (i % 5), o))
      } else if (r < 55) {
        op = 'enqueueHostcallCompletions'
        const list = Array.from({ length: rng.range(4) }, (_, k) => ['c' + k, outcome(rng, i)])
        for (const [id, o] of list) model.enqueueHostcallComplete(id, o)
        both((s) => s.enqueueHostcallCompletions(list))
      } else if (r < 58) {
        op = 'enqueueStreamChunk'
        const [seqNo, fin] = [rng.range(10), rng.range(2) === 0]
        model.enqueueStreamChunk('st', seqNo, [i], fin)
        both((s) => s.enqueueStreamChunk('st', seqNo, [i], fin))
      } else if (r < 75) {
        op = 'tick()'
        check(model.tick(), both((s) => s.tick()))
      } else if (r < 83) {
        const k = rng.range(6)
        op = `drain(${k})`
        check(model.drain(k), both((s) => s.drain(k)))
      } else if (r < 93) {
        const k = rng.range(5) // 0 included: a zero-length array still moves due timers
        op = `drainTimers(length ${k})`
        const expected = model.drainTimers(k)
        check(expected, both((s) => {
          const out = new Float64Array(k)
          const n = s.drainTimers(out)
          return Array.from(out.subarray(0, n))
        }))
      } else {
        op = 'state'
      }
      // The whole observable state, after one op in four (and after every drainTimers):
      // results of the other ops catch a divergence soon after anyway.
      if ((i & 3) === 0 || op.startsWith('drainTimers')) check(model.state(), both(realState))
    }
    op = 'final state'
    check(model.state(), both(realState))
    op = 'replay of the recording'
    if (replayEvery) {
      const r = replay(recorded.traceJsonl())
      assert.equal(r.ok, true, JSON.stringify(r.divergence))
      assert.equal(r.digest, recorded.digest())
    }
  } catch (err) {
    err.message = `seed ${seed}, op #${i} (${op}): ${err.message}`
    throw err
  }
  return ops
}

/** The seeds to run: SEQLOOP_SEED alone when set, else `count` seeds from `base`. */
function seeds (count, base = 1) {
  const env = process.env.SEQLOOP_SEED
  if (env !== undefined && env !== '') return [Number(env) >>> 0]
  return Array.from({ length: count }, (_, k) => (base + k * 0x9e3779b9) >>> 0)
}

module.exports = { Model, runSeed, seeds, prng }

if (require.main === module) {
  const arg = (name, dflt) => {
    const i = process.argv.indexOf(name)
    return i === -1 ? dflt : Number(process.argv[i + 1])
  }
  const ops = arg('--ops', 200_000)
  const count = arg('--seeds', 50)
  const base = arg('--seed', (Date.now() & 0xffffff) >>> 0)
  let total = 0
  for (const seed of seeds(count, base)) {
    try {
      total += runSeed(seed, ops)
    } catch (err) {
      console.error(`FAILED: SEQLOOP_SEED=${seed} node ${process.argv[1]} --ops ${ops}`)
      throw err
    }
    process.stdout.write(`seed ${seed}: ${ops} ops ok (total ${total})\n`)
  }
}
