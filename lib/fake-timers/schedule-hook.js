'use strict'
// The ordering hook schedule exploration (lib/explore.js) puts on one fake clock: it decides the
// orders real Node leaves open, and reports each dispatched timer. A clock without a hook is not
// touched at all: the hook replaces three methods on the clock *instance* (`_take`, `_queue`,
// `_fire`, defined on ClockCore's prototype), so the default path keeps its shape and speed.
//
// What it decides (docs/explore.md):
// - `timeout_vs_immediate`: at the end of the first loop turn (turn 0: the body's synchronous part
//   and the microtasks before the first dispatch), when an immediate is next and a `setTimeout(fn,
//   0)` (or 1) set in turn 0 waits too. Node runs the timeout first when the loop reaches its timers
//   phase a millisecond or more after the timer was set, which depends on the machine. Default:
//   the immediate first (what the fake clock does).
// - `same_ms`: timers due in the same millisecond that were set in different loop turns. Node
//   orders them by its timer lists (one per duration), not by creation; the hook picks an order of
//   the creation turns. Timers set in the same turn keep their order. Default: creation order.
// Immediates always run in creation order (Node's check phase is one FIFO).
const { TAKEN } = require('./common.js')
const { ClockCore } = require('./clock-core.js')

const baseTake = ClockCore.prototype._take
const baseQueue = ClockCore.prototype._queue
const baseFire = ClockCore.prototype._fire

class ScheduleHook {
  /**
   * `decide(kind, info)` returns the choice for one decision: for `timeout_vs_immediate`,
   * 'immediate' or 'timeout'; for `same_ms`, a permutation of the turn classes' indices
   * (`info.turns.length` of them). `onDispatch(t)` (or null) sees each timer just before it runs.
   */
  constructor (clock, decide, onDispatch) {
    this.clock = clock
    this.decide = decide
    this.onDispatch = onDispatch
    this.turn = 0 // dispatches so far: timers set before the first one are set in turn 0
    this.turnOf = new Map() // timer → the turn it was (last) queued in
    this.held = [] // timers already taken from the lanes, due now, in the order they run
    this.hi = 0
    this.topDone = false
    const hook = this
    clock._take = function _take (limit) { return hook.take(limit) }
    // (all arguments passed on, so a later parameter of the clock's methods keeps working)
    clock._queue = function _queue (t) {
      hook.turnOf.set(t, hook.turn)
      return baseQueue.apply(this, arguments)
    }
    if (onDispatch !== null) {
      clock._fire = function _fire (t) {
        onDispatch(t)
        return baseFire.apply(this, arguments)
      }
    }
  }

  /** The next timer due at or before `limit`, in the decided order (the clock's `_take`). */
  take (limit) {
    const clock = this.clock
    let t = this.nextHeld(limit)
    if (t === undefined) {
      t = baseTake.call(clock, limit)
      if (t === null) return null
      if (!this.topDone && this.turn === 0) {
        this.topDone = true
        t = this.topLevel(t, limit)
      } else if (!t._imm) {
        t = this.sameMs(t)
      }
    } else if (t === null) {
      return null
    }
    this.turn++
    return t
  }

  /** The first held timer still taken (a held timer may have been cleared or refreshed since). */
  nextHeld (limit) {
    const held = this.held
    while (this.hi < held.length) {
      const t = held[this.hi]
      if (t._state !== TAKEN) {
        this.hi++
        continue
      }
      if (t._at > limit) return null
      this.hi++
      if (this.hi === held.length) this.release()
      return t
    }
    if (held.length !== 0) this.release()
    return undefined
  }

  release () {
    this.held = []
    this.hi = 0
  }

  /** Holds `order[1..]` to run next and returns `order[0]`. */
  hold (order) {
    this.held = order
    this.hi = 1
    if (order.length === 1) this.release()
    return order[0]
  }

  /** Every other timer due at `at` (taken from the lanes, in their order), after `first`. */
  gather (first, at) {
    const group = [first]
    for (let u = baseTake.call(this.clock, at); u !== null; u = baseTake.call(this.clock, at)) group.push(u)
    return group
  }

  /** The first dispatch: a top-level `setTimeout(0)` may run before the immediates. */
  topLevel (t, limit) {
    if (!t._imm) return this.sameMs(t)
    const clock = this.clock
    let last = -1
    let count = 0
    for (const u of clock._byId.values()) {
      if (u.type === 'Timeout' && u.delay === 1 && u._at <= t._at + 1 && u._at <= limit &&
        u._state !== TAKEN && this.turnOf.get(u) === 0) {
        count++
        if (u._at > last) last = u._at
      }
    }
    if (count === 0) return t
    const choice = this.decide('timeout_vs_immediate', { at: clock._base + last, timeouts: count })
    if (choice !== 'timeout') return t
    const due = this.gather(t, last)
    const first = due.filter((u) => u.type === 'Timeout' && u.delay === 1 && this.turnOf.get(u) === 0)
    return this.hold(first.concat(due.filter((u) => !first.includes(u))))
  }

  /** Timers due in `t`'s millisecond, set in different turns: their turns' order is decided. */
  sameMs (t) {
    const group = this.gather(t, t._at)
    if (group.length === 1) return t
    const turns = []
    const classes = []
    for (const u of group) {
      const turn = this.turnOf.get(u)
      let k = turns.indexOf(turn)
      if (k < 0) {
        k = turns.length
        turns.push(turn)
        classes.push([])
      }
      classes[k].push(u)
    }
    if (turns.length === 1) return this.hold(group)
    const order = this.decide('same_ms', { at: this.clock._base + t._at, turns, timers: group.length })
    if (order.every((k, i) => k === i)) return this.hold(group)
    const out = []
    for (const k of order) out.push(...classes[k])
    return this.hold(out)
  }
}

module.exports = { ScheduleHook }
