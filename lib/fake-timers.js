'use strict'
// seqloop/fake-timers: the module shape of @sinonjs/fake-timers (`timers`, `createClock`,
// `install`, `withGlobal`) over seqloop's native `TimerQueue`.
//
// Default semantics are sinon's; `semantics: 'node'` opts into Node's (see README.md, "Fake
// timers"). The implementation is in lib/fake-timers/ (design notes: clock-core.js).
const { withGlobal } = require('./fake-timers/install.js')

const defaultTimers = withGlobal(globalThis)

// Plain `exports.name =` assignments, as in @sinonjs/fake-timers' own entry: Node's ESM loader
// finds named exports of a CommonJS module by reading its source, and this is the form it reads.
// An ESM `import { install } from '@sinonjs/fake-timers'` answered by this file (the README's npm
// override shim re-exports it) gets all four names.
exports.timers = defaultTimers.timers
exports.createClock = defaultTimers.createClock
exports.install = defaultTimers.install
exports.withGlobal = withGlobal
