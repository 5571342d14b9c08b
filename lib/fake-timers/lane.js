'use strict'
// A clock's view of one native `TimerQueue`: the batch of due ids last popped from it, and the
// staging of inserts (see the design notes in clock-core.js).
const { BATCH, STAGE, MAX_SPAN, ARMED, TAKEN } = require('./common.js')

// The package's internal route to the TimerQueue's raw functions (not part of the exports).
const {
  insertMany: queueInsertMany,
  cancel: queueCancel,
  peekDeadline: queuePeek,
  create: queueCreate,
  popDue: queuePopDue
} = require('../scheduler.js').queueRaw

/**
 * One native `TimerQueue` and the batch last popped from it. A timer's id in the queue is its
 * serial `n`, the key of the clock's `byId` (shared by both lanes), so no second map is needed.
 * `out[bi..bn]` are the ids not yet taken, in (deadline, seq) order (a cleared one is skipped:
 * it is no longer in `byId`, or `forget` zeroed it), and `out[0]` is the batch's last deadline.
 * A batch spans up to `want` deadlines, every one whole except perhaps the first, so it can be
 * given back (`giveBack`) when a new timer is due before its end. `want` doubles with each batch
 * used up and drops to 1 on a give-back: long runs of pre-set timers cross into native code once
 * per BATCH timers, while a chain of timers each setting the next (which would give a wide batch
 * back every time) pops one deadline at a time.
 */
class Lane {
  constructor (out, byId) {
    // One set of native functions for every lane (the TimerQueue's raw functions), each taking the
    // lane's queue handle: making a clock binds no native function. The queue itself is made
    // when a first timer reaches it (many clocks never use immediates, or never flush).
    this.h = null
    this.out = out
    this.byId = byId
    this.bi = 1
    this.bn = 0
    this.want = 1
    this.multi = false // the batch spans several deadlines (each whole)
    this.live = 0 // pending timers of this lane (queued, in the batch or taken but not yet fired)
    // A lower bound of the deadlines in the native queue, exact (the earliest) when `exact`:
    // inserts lower it, a pop raises it to the last deadline popped, a cancel makes it inexact.
    this.floor = Infinity
    this.exact = true
  }

  /** Earliest deadline of a pending timer in this lane, or null. Skips cleared batch entries. */
  head () {
    const out = this.out
    const byId = this.byId
    while (this.bi <= this.bn) {
      const t = byId.get(out[this.bi])
      if (t !== undefined) return t._at
      this.bi++
    }
    return this.h === null ? null : queuePeek(this.h)
  }

  /** The next pending timer due at or before `limit`, taken out of the lane, or null. */
  take (limit) {
    const out = this.out
    const byId = this.byId
    for (;;) {
      if (this.bi > this.bn) {
        if (this.h === null) return null
        // `floor` is a lower bound of the native queue's deadlines (every insert lowers it, a pop
        // sets it to the last deadline popped, which the rest are at or after; a cancel only
        // removes), so nothing there is due by `limit`: no native call (a `tick(1)` past many
        // far-off timers then never crosses into the addon, which costs most on the wasm build).
        if (this.floor > limit) return null
        const n = queuePopDue(this.h, limit, out, this.want)
        if (n === 0) return null
        this.floor = out[0]
        this.exact = false
        if (this.want < MAX_SPAN) this.want *= 2
        this.bi = 1
        this.bn = n
        this.multi = byId.get(out[1])._at !== out[0]
        if (n > 8) this.warm(n)
      }
      const nid = out[this.bi]
      const t = byId.get(nid)
      if (t === undefined) {
        this.bi++
        continue
      }
      if (t._at > limit) return null
      this.bi++
      t._state = TAKEN
      return t
    }
  }

  /**
   * Reads the batch's records ahead of firing them. They were allocated in creation order and
   * fire in deadline order, so each first touch is a cache miss; in this loop the loads do not
   * depend on each other and the CPU overlaps them, instead of taking them one per fired timer.
   */
  warm (n) {
    const out = this.out
    const byId = this.byId
    for (let i = 1; i <= n; i++) {
      const t = byId.get(out[i])
      warmed[i] = t === undefined ? -1 : t._at // a store keeps the load from being optimised out
    }
  }

  /**
   * True when a batch is outstanding and a timer due at `at` must not enter the native queue
   * before it is given back: when it is due before the batch's end, or at it if the batch spans
   * several deadlines (the native queue would otherwise hold a newer timer at a deadline the
   * given-back timers return to). A batch of one deadline may be part of a larger bucket, so it
   * is never given back for a timer at that deadline: that timer goes after the native rest.
   */
  cuts (at) {
    return this.bi <= this.bn && (this.multi ? at <= this.out[0] : at < this.out[0])
  }

  /** Puts the batch's untaken timers back in the native queue, in order (same ids: serials). */
  giveBack () {
    const out = this.out
    const byId = this.byId
    for (let i = this.bi; i <= this.bn; i++) {
      const t = byId.get(out[i])
      if (t === undefined) continue
      this.stage(t)
    }
    commitStaged()
    this.bi = 1
    this.bn = 0
    this.want = 1
  }

  /**
   * Adds `t` to the run of timers `commitStaged` inserts into this lane's native queue. Staging
   * is shared by every lane of the process (nothing runs between staging and committing), so
   * a run staged for another lane is committed first: lanes are independent queues.
   */
  stage (t) {
    if (staging.lane !== this) {
      commitStaged()
      staging.lane = this
    }
    const k = staging.k
    staging.entries[2 * k] = t._n
    staging.entries[2 * k + 1] = t._at
    staging.ts[k] = t
    staging.k = k + 1
    if (k + 1 === STAGE) commitStaged()
  }

  /**
   * True when `at` is before every deadline in the native queue (ties go to the native timers,
   * set earlier). Asks the queue only when `floor` may be stale.
   */
  before (at) {
    if (at < this.floor) return true
    if (this.exact) return false
    const d = queuePeek(this.h)
    this.floor = d === null ? Infinity : d
    this.exact = true
    return at < this.floor
  }

  /** Cancels native timer `n`, wherever it waits. */
  cancel (n) {
    if (queueCancel(this.h, n)) this.exact = false
    else this.forget(n)
  }

  /**
   * Drops cancelled timer `n` from the popped batch (the native queue no longer had it): a batch
   * entry always names a timer still waiting in it, even if that timer is re-armed meanwhile.
   */
  forget (n) {
    const out = this.out
    for (let i = this.bi; i <= this.bn; i++) {
      if (out[i] === n) {
        out[i] = 0 // no timer has n = 0
        return
      }
    }
  }
}

/** Where `Lane.warm` writes what it reads (nothing reads it back). */
const warmed = new Float64Array(BATCH + 1)

/** Timers staged for one `insertMany` call (see `Lane.stage`). */
const staging = { lane: null, k: 0, entries: new Float64Array(2 * STAGE), ts: new Array(STAGE).fill(undefined) }

/** Inserts the staged timers into their lane's native queue, in staging order, in one call. */
function commitStaged () {
  const k = staging.k
  if (k === 0) return
  const ts = staging.ts
  const lane = staging.lane
  staging.k = 0
  staging.lane = null // holds no clock once committed
  if (lane.h === null) lane.h = queueCreate()
  queueInsertMany(lane.h, staging.entries, k)
  let floor = lane.floor
  for (let j = 0; j < k; j++) {
    const t = ts[j]
    ts[j] = undefined
    t._state = ARMED
    if (t._at < floor) {
      floor = t._at
      lane.exact = true // below a lower bound of the rest: the earliest
    }
  }
  lane.floor = floor
}

module.exports = { Lane, commitStaged }
