'use strict'
// seqloop/fake-timers: the module shape of @sinonjs/fake-timers (`timers`, `createClock`,
// `install`, `withGlobal`) over seqloop's native `TimerQueue`.
//
// Default semantics are sinon's; `semantics: 'node'` opts into Node's (see README.md, "Fake
// timers"). The implementation is in lib/fake-timers/ (design notes: clock-core.js).
const { withGlobal } = require('./fake-timers/install.js')

const defaultTimers = withGlobal(globalThis)

module.exports = {
  timers: defaultTimers.timers,
  createClock: defaultTimers.createClock,
  install: defaultTimers.install,
  withGlobal
}
