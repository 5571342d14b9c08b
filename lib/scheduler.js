'use strict'
// The package's `Scheduler` and `TimerQueue`: the native classes, with their hot methods routed
// through raw N-API functions (a fraction of a napi-rs method call) and `drain()` building its
// Macrotask objects in JS from a batch of numbers the native side fills.
const native = require('./native.js')

// Internal routes to the raw functions: taken once here and removed from the native classes, so
// they are no part of the public surface (the exports, the types, the prototypes).
const fastPathsOf = native.Scheduler.prototype.__seqloopFastPaths
delete native.Scheduler.prototype.__seqloopFastPaths
const queueHandleOf = native.TimerQueue.prototype.__seqloopHandle
delete native.TimerQueue.prototype.__seqloopHandle
const queueRaw = native.__seqloopTimerQueueRaw()
const {
  insert: rawInsert,
  insertMany: rawInsertMany,
  cancel: rawCancel,
  peekDeadline: rawPeek,
  popDue: rawPopDue,
  size: rawSize,
} = queueRaw

/**
 * `drain()`'s batch buffer, shared by every scheduler: `[seq, x]` pairs, filled by the native
 * side and read right after, before any other code runs (a custom clock's `nowMs()` runs before
 * the native side takes the buffer, so a nested `drain()` is over by then). Grown on demand.
 */
let batch = new Float64Array(2 * 1024)
/** The largest batch buffer kept between calls (numbers: two per task). */
const KEEP_BATCH = 2 * 65536

/**
 * The deterministic scheduler at data level. `setTimeout`, `clearTimeout`, `drainTimers` and
 * `drain` go through raw N-API functions bound to this instance.
 */
class Scheduler extends native.Scheduler {
  #fast

  constructor (options) {
    super(options)
    this.#fast = fastPathsOf.call(this)
  }

  setTimeout (delayMs) {
    return this.#fast.setTimeout(delayMs)
  }

  clearTimeout (timerId) {
    return this.#fast.clearTimeout(timerId)
  }

  drainTimers (out) {
    return this.#fast.drainTimers(out)
  }

  drain (maxTasks) {
    const f = this.#fast
    let buf = batch
    const others = []
    let n = f.drainInto(maxTasks, buf, others)
    if (n < 0) {
      // More tasks may be due than the buffer holds (nothing was taken yet): a bigger one, kept
      // for later calls up to KEEP_BATCH numbers (a one-off huge drain does not pin its memory).
      buf = new Float64Array(Math.max(-n, 2 * batch.length))
      if (buf.length <= KEEP_BATCH) batch = buf
      n = f.drainInto(maxTasks, buf, others)
    }
    const tasks = new Array(n)
    for (let i = 0; i < n; i++) {
      const x = buf[2 * i + 1]
      tasks[i] = x > 0 ? { seq: buf[2 * i], kind: 'timer_fired', timerId: x } : others[-x]
    }
    return tasks
  }
}

/**
 * Pending timers in exact (deadline, seq) order. Every method goes through the process-wide raw
 * functions with this queue's handle.
 */
class TimerQueue extends native.TimerQueue {
  #h

  constructor () {
    super()
    this.#h = queueHandleOf.call(this)
  }

  insert (deadlineMs) {
    return rawInsert(this.#h, deadlineMs)
  }

  insertMany (entries, count) {
    return rawInsertMany(this.#h, entries, count)
  }

  cancel (id) {
    return rawCancel(this.#h, id)
  }

  peekDeadline () {
    return rawPeek(this.#h)
  }

  popDue (limitMs, out, maxDeadlines) {
    return rawPopDue(this.#h, limitMs, out, maxDeadlines)
  }

  get size () {
    return rawSize(this.#h)
  }
}

module.exports = { Scheduler, TimerQueue, queueRaw }
