'use strict'
// seqloop's extensions of the fake clock, in both semantics modes (API.md §3): `AbortSignal.timeout`
// on the fake clock, the sites where timers were created, `clock.pending()`, `failOnPending` and
// the loop-limit error's `.timer`.
//
// Creation sites cost a stack capture (~1 µs), so a timer gets one only when it cannot matter to
// speed: when the clock was asked for them (`failOnPending` or `captureSites`), while a run is
// at its loop limit (the timers created then are the ones that kept re-arming), and for
// `setInterval` (an interval re-arms itself, so its site is the one a loop-limit error names).
// The site is kept as an Error and its text is only formatted when someone reads it.
const { CREATORS, NO_ARGS, codedError, describe } = require('./common.js')
const { FakeTimer } = require('./timer.js')

const SIGNAL_KIND = 'AbortSignal.timeout'
const UINT32_MAX = 2 ** 32 - 1
const MESSAGE_LINES = 20 // most timers a pending-timers message lists one by one

/** The frames of `stack` (an Error or its text) outside lib/fake-timers and Node's internals, trimmed. */
function userFrames (stack) {
  const text = typeof stack === 'string' ? stack : stack != null ? stack.stack : undefined
  if (typeof text !== 'string') return []
  const out = []
  for (const line of text.split('\n').slice(1)) {
    const frame = line.trim()
    if (frame.startsWith('at ') && !frame.includes(__dirname) && !frame.includes('node:internal/')) out.push(frame)
  }
  return out
}

/**
 * Records where `t` is being created (called from inside `clock._add`). A timer created while a
 * run is at its loop limit is one that run keeps re-arming: it is remembered as such (`culprit`).
 */
function keepSite (clock, t) {
  if (clock._stacks === null) clock._stacks = new WeakMap()
  clock._stacks.set(t, new Error())
  if (clock.isNearInfiniteLimit) {
    if (clock._rearmed === null) clock._rearmed = new WeakSet()
    clock._rearmed.add(t)
  }
}

/** True when pending timer `a` runs before `b` (undefined: none yet). */
function before (a, b) {
  return b === undefined || a._at < b._at || (a._at === b._at && a._imm && !b._imm)
}

/**
 * The timer a `runAll` past its loop limit names: the first due among the timers created at the
 * limit (the chain that kept re-arming) and the intervals (which re-arm themselves); else the
 * first due of all. An unrelated timer due in between is not blamed.
 */
function culprit (clock) {
  let first
  let rearming
  for (const t of clock._pending()) {
    if (before(t, first)) first = t
    const rearms = t.type === 'Interval' || (clock._rearmed !== null && clock._rearmed.has(t))
    if (rearms && before(t, rearming)) rearming = t
  }
  return rearming !== undefined ? rearming : first
}

/** Where `t` was created: its stack frames outside seqloop, one per line, or null. */
function siteOf (clock, t) {
  const kept = clock._stacks === null ? undefined : clock._stacks.get(t)
  const frames = userFrames(kept)
  return frames.length === 0 ? null : frames.join('\n')
}

/** The function that created `t`: 'setTimeout', 'setInterval', …, or 'AbortSignal.timeout'. */
function kindOf (clock, t) {
  if (clock._signalTimers !== null && clock._signalTimers.has(t)) return SIGNAL_KIND
  return CREATORS[t.type]
}

/** Pending timer `t` as `clock.pending()` lists it: a plain object. */
function entryOf (clock, t) {
  return {
    id: t.id,
    kind: kindOf(clock, t),
    delay: t.type === 'Interval' ? t.interval : t.delay,
    callAt: t.callAt,
    createdAt: siteOf(clock, t)
  }
}

/** `clock.pending()`: the pending timers in creation order. */
function pendingList (clock) {
  return clock._pending().map((t) => entryOf(clock, t))
}

/** One line of a diagnostic message about pending timer entry `p` (from `pendingList`). */
function describeEntry (p, name) {
  const site = p.createdAt === null ? '' : `, created ${p.createdAt.split('\n')[0]}`
  return `${p.kind}(${name || 'anonymous'}, ${p.delay}) #${p.id}, due at ${p.callAt}${site}`
}

/**
 * `ERR_PENDING_TIMERS` for the timers `uninstall` found with `failOnPending: true`: every
 * pending timer except unref'd ones (as in Node, an unref'd timer is not work the test waits for;
 * the timer behind `AbortSignal.timeout` is unref'd, as Node's is). Null when there are none.
 */
function pendingError (clock, timers) {
  const left = timers.filter((t) => t._refed)
  if (left.length === 0) return null
  const pending = left.map((t) => entryOf(clock, t))
  const lines = pending.slice(0, MESSAGE_LINES).map((p, i) => `  ${describeEntry(p, left[i].func && left[i].func.name)}`)
  if (pending.length > MESSAGE_LINES) lines.push(`  … and ${pending.length - MESSAGE_LINES} more (see err.pending)`)
  const e = codedError(Error, 'ERR_PENDING_TIMERS',
    `${pending.length} timer${pending.length === 1 ? ' was' : 's were'} still pending at uninstall ` +
    `(failOnPending: true):\n${lines.join('\n')}`)
  e.pending = pending
  return e
}

/**
 * `ERR_LOOP_LIMIT`, naming `next` (the timer or faked microtask that would have run next: the one
 * that kept re-arming) in `.timer = { name, delay, createdAt }`. With sinon's semantics the message
 * is sinon's, word for word, and the stack names the timer as sinon's does (`Timeout - name`, then
 * where it was created); with `semantics: 'node'` the message names it too.
 */
function loopError (clock, next, limit) {
  const message = `Aborting after running ${limit === undefined ? clock.loopLimit : limit} timers, assuming an infinite loop!`
  if (next === undefined) return codedError(Error, 'ERR_LOOP_LIMIT', message)
  const isJob = !(next instanceof FakeTimer)
  const name = (next.func && next.func.name) || 'anonymous'
  const frames = isJob ? userFrames(next.stack) : userFrames(clock._stacks === null ? undefined : clock._stacks.get(next))
  const createdAt = frames.length === 0 ? null : frames.join('\n')
  const timer = { name, delay: isJob ? 0 : next.type === 'Interval' ? next.interval : next.delay, createdAt }
  const kind = isJob ? next.kind || 'queueMicrotask' : kindOf(clock, next)
  const detail = clock._node
    ? ` The timer that kept re-arming: ${kind}(${name}, ${timer.delay})${createdAt === null ? '' : `, created ${frames[0]}`}`
    : ''
  const e = codedError(Error, 'ERR_LOOP_LIMIT', message + detail)
  e.timer = timer
  if (frames.length !== 0) {
    // an idle callback with a timeout is labelled a Timeout, as sinon types it
    const label = isJob ? 'Microtask' : next.type === 'IdleCallback' && !next._idleLast ? 'Timeout' : next.type
    e.stack = `Error: ${message + detail}\n${label} - ${name}\n${frames.map((f) => `    ${f}`).join('\n')}`
  }
  return e
}

// ---- AbortSignal.timeout -------------------------------------------------------------------

/** The end of Node's "must be of type number" message; never lets a proxy trap or getter throw. */
function received (v) {
  if (v === null || v === undefined) return `Received ${v}`
  if (typeof v === 'object' || typeof v === 'function') {
    try {
      if (typeof v === 'function') return `Received function ${v.name || 'anonymous'}`
      const ctor = v.constructor
      if (typeof ctor === 'function' && ctor.name) return `Received an instance of ${ctor.name}`
    } catch {} // a revoked proxy, a throwing getter: described without reading it
    return `Received ${typeof v === 'function' ? 'a function' : 'an object'}`
  }
  return `Received type ${typeof v} (${typeof v === 'string' ? `'${v}'` : describe(v)})`
}

/** Node's checks of `AbortSignal.timeout(delay)`: an integer number of ms in [0, 2^32 − 1]. */
function checkSignalDelay (delay) {
  if (typeof delay !== 'number') {
    throw codedError(TypeError, 'ERR_INVALID_ARG_TYPE', `The "delay" argument must be of type number. ${received(delay)}`)
  }
  if (!Number.isInteger(delay)) {
    throw codedError(RangeError, 'ERR_OUT_OF_RANGE', `The value of "delay" is out of range. It must be an integer. Received ${delay}`)
  }
  if (delay < 0 || delay > UINT32_MAX) {
    throw codedError(RangeError, 'ERR_OUT_OF_RANGE',
      `The value of "delay" is out of range. It must be >= 0 && <= ${UINT32_MAX}. Received ${delay}`)
  }
}

/** True when `g` has an `AbortSignal.timeout` and the `AbortController` to make fake ones with. */
function hasSignalTimeout (g) {
  try {
    return typeof g.AbortSignal === 'function' && typeof g.AbortSignal.timeout === 'function' &&
      typeof g.AbortController === 'function'
  } catch {
    return false // a getter that throws: nothing to fake
  }
}

/** What `timers.AbortSignal` holds: `{ timeout }`, the real `AbortSignal.timeout` of `g`. */
function realSignalTimeout (g) {
  const NativeSignal = g.AbortSignal
  const original = NativeSignal.timeout
  return Object.freeze({
    timeout: function timeout (delay) { return original.call(NativeSignal, delay) }
  })
}

/**
 * The fake `AbortSignal.timeout(delay)` of `clock` on global `g`: a signal from the global's
 * `AbortController`, aborted by an unref'd fake timer after `delay` ms (coerced as the clock's
 * `setTimeout` coerces it) with the reason Node gives, a `DOMException` named 'TimeoutError'.
 */
function makeSignalTimeout (clock, g) {
  const Controller = g.AbortController
  const Exception = typeof g.DOMException === 'function' ? g.DOMException : DOMException
  return function timeout (delay) {
    checkSignalDelay(delay)
    const controller = new Controller()
    const t = clock._add('Timeout', function abortSignalTimeout () {
      controller.abort(new Exception('The operation was aborted due to timeout', 'TimeoutError'))
    }, NO_ARGS, clock._delay(delay))
    t._refed = false
    if (clock._signalTimers === null) clock._signalTimers = new WeakSet()
    clock._signalTimers.add(t)
    return controller.signal
  }
}

module.exports = {
  keepSite, culprit, siteOf, pendingList, pendingError, loopError, hasSignalTimeout, realSignalTimeout, makeSignalTimeout
}
