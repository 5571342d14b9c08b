'use strict'
// The scheduling core of a fake clock: queueing, taking, firing and clearing timers, the run
// loops the public methods share. `Clock` (clock.js) extends it with the public API.
//
// How and why
// - Order lives in native code. Each clock owns two native `TimerQueue`s (through their raw fast
//   paths, ~45 ns a call): one for timeouts, intervals, animation frames and idle callbacks, one
//   for immediates (an immediate due at the same instant as a timeout runs first, as in sinon and
//   as Node does after I/O). Each keeps exact (deadline, seq) order, so finding the next timer
//   never walks the pending set. The queues have no clock: deadlines are absolute fake
//   milliseconds (`mono`, below), and the clock itself is a JS number.
// - JS keeps the callbacks: `byId` maps each timer's serial `n` to its record (the record is
//   also the handle returned to the caller; its public id is ID_START + n). The native queues
//   use `n` as their timer id too, so one map serves both directions. It is a `Slots` (an array
//   window over counter-issued keys), not a `Map`: with 1e5 timers pending, `Map` lookups were a
//   large share of a fired timer's cost. Records are kept small (derived values are getters,
//   rare ones live in side tables), as each field costs every pending timer 8 bytes and every
//   scavenge that copies it.
// - New timers wait in an insertion buffer and reach their native queue in creation order just
//   before the next time query, up to 256 per native call (`insertMany`). Their deadline is
//   absolute, so the buffer may outlive clock moves; a timer set and cleared before the clock is
//   next consulted never crosses into native code.
//   (The buffer was first added when the native id index made an insert then cancel O(pending)
//   after the id counter wrapped; the native queue's id records are O(1) now, and the buffer
//   still saves the two native calls of every set+clear pair.) A lone buffered timer due
//   before every queued one is taken straight from the buffer: a chain of timers never crosses,
//   even past far-off pending timers (each lane keeps a lower bound of its native deadlines).
// - Popping is per batch (see `Lane`): one `popDue` call writes the ids due at the earliest
//   deadlines (up to BATCH ids, the later deadlines whole) into the lane's part of the clock's
//   one `Float64Array`, and the batch runs in (deadline, seq) order. A timer created meanwhile
//   after the batch's last deadline has a later seq, so it runs after the batch; one due within
//   it makes the lane give the batch back to the native queue first (see `Lane.cuts`); a
//   cleared batch entry is skipped (its id is no longer in the lane's map).
// - Time: `now = base + mono`. `mono` is the integer millisecond count the queues see (it only
//   grows, until `reset`); `setSystemTime` only moves `base`, so pending timers keep their
//   distance. Sub-millisecond ticks accumulate in `nanos` for `performance.now` and `hrtime`.
// - Sync methods (`tick`, `next`, `runAll`, ...) call callbacks in a plain loop, as sinon does.
//   Async methods run each timer inside a callback of the ORIGINAL `setImmediate`, so promise
//   reactions settle between two timers. With real `process.nextTick`/`queueMicrotask`
//   (`semantics: 'node'`), Node's own `processImmediate` drains them in its order: the order real
//   Node timers produce. Faked ones (the default) run before the next timer, as in sinon.
// - Delays: `common.js` coerces them as sinon does (the default) or as Node does. A zero delay
//   (only sinon's coercion gives one) is 0 fake ms outside a tick (so `tick(0)` runs it) and 1
//   during one (so a zero-delay timer set by a timer does not run in the same instant).
// - Idle callbacks without a timeout wait in a JS list (`_idle`), not in a native queue: each
//   runs at its deadline after the other timers due then (`_takeWithIdle`).
// - One `tick` fires at most max(loopLimit, TICK_BOUND) timers (`_runTo`), then throws
//   ERR_LOOP_LIMIT with the next timer put back (`_untake`).
const { Slots } = require('../slots.js')
const {
  BATCH, MAX_MONO, TICK_BOUND, IDLE_MS, ID_START, QUEUED, ARMED, TAKEN, DONE, IDLE, PARKED,
  CREATORS, CLEARABLE, codedError, coerce, wholeMs
} = require('./common.js')
const { FakeTimer } = require('./timer.js')
const { Lane, commitStaged } = require('./lane.js')
const { keepSite, loopError } = require('./diagnostics.js')

class ClockCore {
  _resetState () {
    this._base = this._start
    this._mono = 0
    this._nanos = 0
    this._byId = new Slots() // n → pending timer record
    const out = new Float64Array(2 * (BATCH + 1))
    this._tl = new Lane(out.subarray(0, BATCH + 1), this._byId)
    this._il = new Lane(out.subarray(BATCH + 1), this._byId)
    // `uninstall` lists pending timers by serial; a refreshed one counts as created when
    // refreshed: it takes a fresh serial, kept here (made on the first refresh; a timer field
    // would cost every timer 8 bytes).
    this._relisted = null
    this._nanIntervals = null // sinon intervals of NaN ms (rare: a side table, not a field)
    this._buf = [] // the insertion buffer: _buf[0.._bufLen) (the array itself never shrinks)
    this._bufLen = 0
    this._bufDead = 0
    this._orderSeq = 0
    this._jobs = []
    this._ticking = 0
    this._idle = [] // idle callbacks without a timeout, in creation order (they run last)
    this._idleTyped = 0 // pending idle callbacks, with or without a timeout
  }

  /** Current fake time in epoch milliseconds. Assigning it is `setSystemTime(value)`. */
  get now () { return this._base + this._mono }
  set now (value) { this.setSystemTime(value) }

  // ---- scheduling core -------------------------------------------------------------------

  _add (type, func, args, delay) {
    const n = this._nextN++
    const t = new FakeTimer(this, type, n, func, args, delay)
    // where it is created, only when that is cheap to afford (see diagnostics.js)
    if (this._sites || this.isNearInfiniteLimit || type === 'Interval') keepSite(this, t)
    this._arm(t, delay)
    return t
  }

  /** Makes `t` (not pending) pending again, due `delay` (a coerced delay) ms from now. */
  _arm (t, delay) {
    let ms = wholeMs(delay)
    if (ms === 0 && this._ticking !== 0) ms = 1
    t._createdMono = this._mono
    this._byId.set(t._n, t)
    if (t.type === 'IdleCallback') {
      this._idleTyped++
      if (t._idleLast) {
        t._at = this._mono + ms
        t._order = ++this._orderSeq
        t._state = IDLE
        this._idle.push(t)
        return
      }
    }
    this._queue(t, this._mono + ms)
    if (t._imm) this._il.live++
    else this._tl.live++
  }

  /** Queues `t` to fire at `at` (mono ms), after every timer queued before it. */
  _queue (t, at) {
    // Past MAX_MONO (reachable only by running timers due there) a deadline is clamped to the
    // last exact integer rather than refused by the native queue.
    t._at = at <= Number.MAX_SAFE_INTEGER ? at : Number.MAX_SAFE_INTEGER
    t._order = ++this._orderSeq
    t._state = QUEUED
    t._pos = this._bufLen
    this._buf[this._bufLen++] = t
  }

  /** Hands the insertion buffer to the native queues, in creation order. */
  _flush () {
    const buf = this._buf
    const len = this._bufLen
    // A timer due before the end of its lane's popped batch must run inside it: give the batch
    // back to the native queue first (before any of these timers enters it), so the native
    // queue orders them all.
    const tl = this._tl
    const il = this._il
    if (tl.bi <= tl.bn || il.bi <= il.bn) {
      for (let i = 0; i < len; i++) {
        const t = buf[i]
        if (t._state !== QUEUED || t._pos !== i) continue
        const lane = t._imm ? il : tl
        if (lane.cuts(t._at)) lane.giveBack()
      }
    }
    for (let i = 0; i < len; i++) {
      const t = buf[i]
      buf[i] = undefined
      if (t._state !== QUEUED || t._pos !== i) continue
      ;(t._imm ? il : tl).stage(t)
    }
    commitStaged()
    this._bufLen = 0
    this._bufDead = 0
  }

  /** Removes a pending timer from wherever it waits. */
  _cancel (t) {
    this._byId.delete(t._n)
    if (t.type === 'IdleCallback') this._idleTyped--
    const state = t._state
    t._state = DONE
    if (state === IDLE) {
      this._idle.splice(this._idle.indexOf(t), 1)
      return
    }
    const lane = t._imm ? this._il : this._tl
    lane.live--
    if (state === ARMED) {
      // In the native queue, or popped into the lane's batch (then the native cancel finds
      // nothing and the batch forgets it).
      lane.cancel(t._n)
    } else if (state === QUEUED) {
      const buf = this._buf
      this._bufDead++
      while (this._bufLen !== 0 && buf[this._bufLen - 1]._state !== QUEUED) {
        buf[--this._bufLen] = undefined
        this._bufDead--
      }
      if (this._bufDead > 1024 && this._bufDead * 2 > this._bufLen) this._compactBuffer()
    }
  }

  _compactBuffer () {
    const buf = this._buf
    const len = this._bufLen
    let j = 0
    for (let i = 0; i < len; i++) {
      const t = buf[i]
      buf[i] = undefined
      if (t._state === QUEUED && t._pos === i) {
        t._pos = j
        buf[j++] = t
      }
    }
    this._bufLen = j
    this._bufDead = 0
  }

  /** The next pending timer due at or before `limit` (mono ms), taken out of its lane, or null. */
  _take (limit) {
    return this._idleTyped === 0 ? this._takeQueued(limit) : this._takeWithIdle(limit)
  }

  /**
   * `_take` while idle callbacks are pending. As in sinon 15.5, one without a timeout runs at its
   * deadline after every other timer due at the same instant, and an idle callback that is the
   * only pending timer runs whatever its deadline (the clock does not move past `limit` for it).
   */
  _takeWithIdle (limit) {
    if (this._byId.size === 1) {
      const t = this._byId.values()[0]
      if (t.type === 'IdleCallback') {
        const mono = this._mono
        if (t._state === IDLE) {
          this._idle.length = 0
          t._state = TAKEN
        } else {
          this._takeQueued(Infinity)
        }
        this._mono = Math.max(mono, Math.min(t._at, limit))
        return t
      }
    }
    const idle = this._idle
    let k = -1
    for (let i = 0; i < idle.length; i++) {
      if (idle[i]._at <= limit && (k < 0 || idle[i]._at < idle[k]._at)) k = i
    }
    if (k < 0) return this._takeQueued(limit)
    const c = idle[k]
    const t = this._takeQueued(c._at) // other timers due by then go first
    if (t !== null) return t
    idle.splice(k, 1)
    c._state = TAKEN
    if (c._at > this._mono) this._mono = c._at
    return c
  }

  _takeQueued (limit) {
    if (this._bufLen !== 0) {
      // A lone buffered timer due before everything else (a chain of timers each setting the
      // next, one interval, with or without far-off timers pending) need not cross into native
      // code at all: it is next.
      const t = this._buf[0]
      if (this._bufLen === 1 && t._state === QUEUED && t._pos === 0 && this._leads(t._at)) {
        if (t._at > limit) return null
        this._buf[0] = undefined
        this._bufLen = 0
        this._bufDead = 0
        t._state = TAKEN
        if (t._at > this._mono) this._mono = t._at
        return t
      }
      this._flush()
    }
    const tl = this._tl
    const il = this._il
    let lane
    if (il.live === 0) {
      if (tl.live === 0) return null
      lane = tl
    } else if (tl.live === 0) {
      lane = il
    } else {
      const ai = il.head()
      const at = tl.head()
      lane = at === null || (ai !== null && ai <= at) ? il : tl
    }
    const t = lane.take(limit)
    if (t === null) return null
    if (t._at > this._mono) this._mono = t._at
    return t
  }

  /** True when a timer due at `at` runs before every timer in both lanes (no batch is out). */
  _leads (at) {
    const tl = this._tl
    const il = this._il
    if (tl.live + il.live === 1) return true
    return tl.bi > tl.bn && il.bi > il.bn && tl.before(at) && il.before(at)
  }

  /** Forgets a taken timer (it fired for good, or goes back through `_arm`). */
  _drop (t) {
    this._byId.delete(t._n)
    if (t.type === 'IdleCallback') this._idleTyped--
    if (t._imm) this._il.live--
    else if (!t._idleLast) this._tl.live--
    t._state = DONE
  }

  /**
   * Fires `t` and runs the jobs it queued. An error is kept in `errors` (the first one wins) so
   * that the timers due after it still run, as sinon's `tick` does.
   */
  _fireKeeping (t, errors) {
    try {
      this._fire(t)
      this._runJobs()
    } catch (e) {
      if (!errors.failed) {
        errors.failed = true
        errors.first = e
      }
    }
  }

  /** Runs one taken timer: re-arms an interval first (so it may clear itself), then calls it. */
  _fire (t) {
    if (t.type === 'Interval') {
      t._createdMono = this._mono
      const every = t.interval
      if (every === every) {
        this._queue(t, t._at + every)
      } else {
        // sinon: an interval of NaN ms fires once, then stays pending without coming due
        t._state = PARKED
        t._at = NaN
      }
    } else {
      this._drop(t)
    }
    const func = t.func
    const self = this._node ? t : null // sinon calls with `this` undefined (the global when sloppy)
    switch (t.type) {
      case 'AnimationFrame':
        func.call(self, this._perfNow())
        break
      case 'IdleCallback': {
        const clock = this
        func.call(self, { didTimeout: true, timeRemaining () { return clock.countTimers() > 0 ? IDLE_MS : 0 } })
        break
      }
      default: {
        const args = t.args
        if (args === undefined || args.length === 0) func.call(self)
        else func.apply(self, args)
      }
    }
  }

  _runJobs () {
    const jobs = this._jobs
    if (jobs.length === 0) return
    const wasNear = this.isNearInfiniteLimit
    let ran = 0
    while (jobs.length !== 0) {
      if (ran >= this.loopLimit) throw this._loopError(jobs[0])
      const job = jobs.shift()
      if (ran === this.loopLimit - 1) this.isNearInfiniteLimit = true
      ran++
      job.func.apply(null, job.args)
    }
    if (!wasNear) this.isNearInfiniteLimit = false
  }

  /** `ERR_LOOP_LIMIT`, naming the timer or job that would have run next (see diagnostics.js). */
  _loopError (next, limit) { return loopError(this, next, limit) }

  /** Pending timers in the order they were created (a refreshed one counts as created then). */
  _pending () {
    const relisted = this._relisted
    const key = (t) => {
      const k = relisted === null ? undefined : relisted.get(t)
      return k === undefined ? t._n : k
    }
    return this._byId.values().sort((a, b) => key(a) - key(b))
  }

  _maxDeadline () {
    let max = -1
    for (const t of this._byId.values()) if (t._at > max) max = t._at
    return max
  }

  /** The mono time `msFloat` ms from now; moves the sub-millisecond part. */
  _advance (msFloat) {
    let whole = Math.floor(msFloat)
    // the fraction in whole nanoseconds, computed as sinon does (so hrtime agrees to the ns)
    let nanos = this._nanos + Math.floor((msFloat * 1e6) % 1e6)
    if (nanos >= 1e6) {
      whole += 1
      nanos -= 1e6
    }
    const target = this._mono + whole
    if (!(target <= MAX_MONO)) {
      throw codedError(RangeError, 'ERR_OUT_OF_RANGE',
        `The clock cannot move more than ${MAX_MONO} ms past its start (asked for ${target} ms)`)
    }
    this._nanos = nanos
    return target
  }

  /**
   * Most timers one `tick`, `jump` or `runToLast` fires (sinon has no bound: a `setInterval(fn, 0)`
   * or a 1 ms interval ticked for years would run for hours). Far above anything a test does.
   */
  get _tickBound () { return Math.max(this.loopLimit, TICK_BOUND) }

  _runTo (target) {
    this._ticking++
    const errors = { failed: false, first: undefined }
    let fired = 0
    const bound = this._tickBound
    let near = false
    try {
      for (;;) {
        const t = this._take(target)
        if (t === null) break
        if (++fired >= bound) {
          if (fired > bound) {
            this._untake(t)
            throw this._loopError(t, bound)
          }
          near = true // the timers this last one creates keep their creation site
          this.isNearInfiniteLimit = true
        }
        this._fireKeeping(t, errors)
      }
    } finally {
      this._ticking--
      if (near) this.isNearInfiniteLimit = false
    }
    if (target > this._mono) this._mono = target
    if (errors.failed) throw errors.first
    return this.now
  }

  /** Puts a taken, unfired timer back, due when it was (after the others due then). */
  _untake (t) {
    if (t._state !== TAKEN) return
    this._drop(t)
    const at = t._at
    this._arm(t, 0)
    t._at = at // in the insertion buffer or the idle list: the deadline may still change
  }

  /** Runs one timer inside a callback of the original setImmediate (real microtask drain). */
  _runInImmediate (limit) {
    return new Promise((resolve) => {
      this._env.runSoon(() => {
        let t = null
        try {
          // faked jobs queued by the last timer run now, after the promise reactions it queued
          // and before the next timer (sinon's order)
          this._runJobs()
          t = this._take(limit)
          if (t === null) return resolve(null)
          this._fire(t)
          resolve({ error: undefined })
        } catch (e) {
          resolve({ error: e, failed: true })
        }
      })
    })
  }

  async _runToAsync (target) {
    this._ticking++
    let failed = false
    let first
    let fired = 0
    const bound = this._tickBound
    try {
      for (;;) {
        if (fired++ === bound) {
          const t = this._take(target)
          if (t === null) break
          this._untake(t)
          throw this._loopError(t, bound)
        }
        const r = await this._runInImmediate(target)
        if (r === null) break
        if (r.failed && !failed) {
          failed = true
          first = r.error
        }
      }
    } finally {
      this._ticking--
    }
    if (target > this._mono) this._mono = target
    if (failed) throw first
    return this.now
  }

  _perfNow () { return this._mono + this._nanos / 1e6 }

  _hrtimeBigint () { return BigInt(this._mono) * 1000000n + BigInt(this._nanos) }

  _clearTimer (handle, clearer) {
    if (!handle) return // null, undefined, 0 and '' are ignored, as by browsers and sinon
    let t
    let isTimer
    try {
      isTimer = handle instanceof FakeTimer
    } catch { // a revoked proxy
      throw codedError(TypeError, 'ERR_INVALID_ARG_TYPE', `${clearer}() was given a handle that cannot be read`)
    }
    if (isTimer) {
      if (handle._clock !== this) return
      t = handle
    } else {
      let id
      if (!this._node) {
        id = coerce(Number, handle) // sinon's Number(handle): a Symbol, say, throws (coded)
      } else if (typeof handle === 'number' || typeof handle === 'string') {
        id = Number(handle)
      } else if (typeof handle === 'object' || typeof handle === 'function') {
        id = NaN // as in Node: an object is a handle or nothing, never read as a number
      } else {
        return // Node's clear functions ignore other primitives
      }
      if (!(id >= ID_START)) { // NaN (a native Immediate, say) or a native timer's id
        this._clearNative(handle, clearer)
        return
      }
      t = this._byId.get(id - ID_START)
      if (t === undefined) return
    }
    if (t._state === DONE) return
    if (!CLEARABLE[clearer].includes(t.type)) {
      throw codedError(TypeError, 'ERR_INVALID_ARG_VALUE',
        `Cannot clear timer: timer created with ${CREATORS[t.type]}() but cleared with ${clearer}()`)
    }
    this._cancel(t)
  }

  /** A handle that is not this clock's: cleared for real when asked to, else a warning (once). */
  _clearNative (handle, clearer) {
    if (this.shouldClearNativeTimers) {
      const original = this._env.timers[clearer]
      if (typeof original === 'function') original.call(this._env.global, handle)
      return
    }
    if (this._warnedNative) return
    this._warnedNative = true
    const console = this._env.global.console
    if (console && typeof console.warn === 'function') {
      const stack = new Error().stack.split('\n').slice(1).join('\n')
      console.warn(`seqloop/fake-timers: ${clearer}() was given a native timer, not one of this clock's.\n` +
        `Install with \`shouldClearNativeTimers: true\` to clear native timers too.\n${stack}`)
    }
  }

  _handle (t) { return this._env.timerObjects ? t : t.id }
}

module.exports = { ClockCore }
