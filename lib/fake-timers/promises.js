'use strict'
// The fake `timers/promises` functions.
const { NO_ARGS, DONE, abortError, checkObject } = require('./common.js')

// ---- timers/promises ---------------------------------------------------------------------

/**
 * The `timers/promises` functions on a clock. An abort rejects with `signal.reason` (sinon) or
 * with Node's AbortError (`semantics: 'node'`). Listeners still attached are in
 * `clock.abortListenerMap` (listener → signal) and removed by `uninstall`.
 */
function makePromiseTimers (clock) {
  const listeners = clock.abortListenerMap
  const reason = (signal) => (clock._node ? abortError(signal) : signal.reason)
  const listen = (signal, onAbort) => {
    signal.addEventListener('abort', onAbort)
    listeners.set(onAbort, signal)
  }
  const unlisten = (signal, onAbort) => {
    signal.removeEventListener('abort', onAbort)
    listeners.delete(onAbort)
  }
  function once (type, delay, value, options) {
    let signal
    try {
      checkObject(options, 'The options')
      signal = options != null ? options.signal : undefined
    } catch (e) {
      return Promise.reject(e)
    }
    return new Promise((resolve, reject) => {
      const t = clock._add(type, () => {
        if (signal) unlisten(signal, onAbort)
        resolve(value)
      }, NO_ARGS, type === 'Immediate' ? 0 : clock._delay(delay))
      function onAbort () {
        unlisten(signal, onAbort)
        if (t._state !== DONE) clock._cancel(t)
        reject(reason(signal))
      }
      if (!signal) return
      if (signal.aborted) onAbort()
      else listen(signal, onAbort)
    })
  }
  function setInterval (delay, value, options) {
    checkObject(options, 'The options')
    const signal = options != null ? options.signal : undefined
    if (clock._node) return nodeInterval(clock, delay, value, signal, reason)
    return {
      [Symbol.asyncIterator] () {
        let done = false
        let thrown = false
        let ready = 0 // intervals fired and not yet consumed by a `next`
        const waiters = [] // resolvers of `next` calls waiting for the interval
        let onDrained = null // `return` waiting for the outstanding `next` calls
        const t = clock._addInterval(() => {
          if (waiters.length !== 0) waiters.shift()()
          else ready++
        }, NO_ARGS, delay)
        const stop = () => { if (t._state !== DONE) clock._cancel(t) }
        function onAbort () {
          unlisten(signal, onAbort)
          stop()
          done = true
          for (const wake of waiters.splice(0)) wake()
        }
        if (signal) {
          if (signal.aborted) done = true
          else listen(signal, onAbort)
        }
        const settle = () => {
          if (signal && signal.aborted && !thrown) {
            thrown = true
            throw signal.reason
          }
          return done ? { done: true, value: undefined } : { done: false, value }
        }
        return {
          async next () {
            if (signal && signal.aborted && !thrown) return settle()
            if (done) return { done: true, value: undefined }
            if (ready !== 0) {
              ready--
              return { done: false, value }
            }
            await new Promise((resolve) => waiters.push(resolve))
            if (onDrained !== null && waiters.length === 0) onDrained()
            return settle()
          },
          async return () {
            if (done) return { done: true, value: undefined }
            if (waiters.length !== 0) await new Promise((resolve) => { onDrained = resolve })
            stop()
            done = true
            if (signal) unlisten(signal, onAbort)
            return { done: true, value: undefined }
          }
        }
      }
    }
  }
  return {
    setTimeout: function setTimeout (delay, value, options) { return once('Timeout', delay, value, options) },
    setImmediate: function setImmediate (value, options) { return once('Immediate', 0, value, options) },
    setInterval
  }
}

/** Node's `timers/promises.setInterval`: an async generator, its interval made on the first `next`. */
async function * nodeInterval (clock, delay, value, signal, reason) {
  if (signal && signal.aborted) throw reason(signal)
  let due = 0
  let wake = null
  const t = clock._addInterval(() => {
    due++
    if (wake !== null) wake()
  }, NO_ARGS, delay)
  const onAbort = () => { if (wake !== null) wake() }
  if (signal) signal.addEventListener('abort', onAbort, { once: true })
  try {
    for (;;) {
      if (due === 0) await new Promise((resolve) => { wake = resolve })
      wake = null
      if (signal && signal.aborted) throw reason(signal)
      if (due === 0) continue
      due--
      yield value
    }
  } finally {
    if (t._state !== DONE) clock._cancel(t)
    if (signal) signal.removeEventListener('abort', onAbort)
  }
}

module.exports = { makePromiseTimers }
