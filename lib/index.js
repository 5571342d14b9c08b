'use strict'
// Package entry point: the generated napi loader (../index.js) plus the little JS that the
// native classes need to look like Node's own APIs (rest parameters for timer arguments).
const native = require('../index.js')

/**
 * A deterministic event loop: timers, intervals, immediates, hostcalls, streams and events run
 * by the addon in seq order, with every microtask and nextTick drained after each macrotask.
 */
class EventLoop extends native.NativeEventLoop {
  setTimeout (fn, ms, ...args) {
    return super.setTimeout(fn, ms, args.length === 0 ? undefined : args)
  }

  setInterval (fn, ms, ...args) {
    return super.setInterval(fn, ms, args.length === 0 ? undefined : args)
  }

  setImmediate (fn, ...args) {
    return super.setImmediate(fn, args.length === 0 ? undefined : args)
  }
}

module.exports = { ...native, EventLoop }
delete module.exports.NativeEventLoop
module.exports.install = require('./fake-timers.js').install
module.exports.withGlobal = require('./fake-timers.js').withGlobal
