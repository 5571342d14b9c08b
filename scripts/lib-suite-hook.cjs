'use strict'
// Preloaded by scripts/lib-suite.sh (`node --require`, through NODE_OPTIONS so child processes and
// test workers get it too): every `require('@sinonjs/fake-timers')` and `import '@sinonjs/fake-timers'`,
// from the library under test or from sinon (whose `useFakeTimers` loads it), is answered with
// seqloop/fake-timers ($SEQLOOP_FAKE_TIMERS). sinon's own ESM entry is a bundle with its own copy of
// fake-timers inside, so `import ... from 'sinon'` is sent to sinon's CommonJS entry instead.
// At exit each process that loaded the library's fake timers says which ones it used.
const Module = require('node:module')
const path = require('node:path')
const { pathToFileURL } = require('node:url')

const target = require.resolve(path.resolve(process.env.SEQLOOP_FAKE_TIMERS))
let redirected = 0
const resolve = Module._resolveFilename
Module._resolveFilename = function (request, parent, ...rest) {
  if (request === '@sinonjs/fake-timers') {
    redirected++
    return target
  }
  return resolve.call(this, request, parent, ...rest)
}

if (typeof Module.register === 'function') {
  const hooks = `
    import { createRequire } from 'node:module'
    export async function resolve (specifier, context, next) {
      if (specifier === '@sinonjs/fake-timers') return { url: ${JSON.stringify(pathToFileURL(target).href)}, shortCircuit: true }
      if (specifier === 'sinon' && context.parentURL) {
        const main = createRequire(context.parentURL).resolve('sinon')
        return { url: new URL('file://' + main).href, format: 'commonjs', shortCircuit: true }
      }
      return next(specifier, context)
    }`
  Module.register('data:text/javascript,' + encodeURIComponent(hooks))
}

// Count the clocks installed through seqloop (the library's own install() and sinon's
// withGlobal(...).install()), so the report shows the suite really ran on seqloop's clocks.
// SEQLOOP_LEGACY_DEFAULTS=1 (lib-suite.sh --legacy-defaults): an install that names no timers
// leaves nextTick and queueMicrotask real, as @sinonjs/fake-timers did before 13 (13 and later,
// and seqloop, fake them too), for suites written against those releases.
const legacy = process.env.SEQLOOP_LEGACY_DEFAULTS === '1'
const legacyConfig = (config) => {
  if (!legacy || (config && (config.toNotFake || (config.toFake && config.toFake.length)))) return config
  const { toFake, ...rest } = config || {} // an own `toFake` beside `toNotFake` is refused
  return { ...rest, toNotFake: ['nextTick', 'queueMicrotask'] }
}
let installs = 0
const countInstalls = (api) => {
  const install = api.install
  api.install = function (config, ...rest) { installs++; return install.call(this, legacyConfig(config), ...rest) }
  return api
}
const seqloop = countInstalls(require(target))
const withGlobal = seqloop.withGlobal
seqloop.withGlobal = (...args) => countInstalls(withGlobal(...args))

process.on('exit', () => {
  if (redirected !== 0 || installs !== 0) {
    process.stderr.write(`[lib-suite-hook] pid ${process.pid}: seqloop/fake-timers loaded, ${redirected} require(s) of @sinonjs/fake-timers redirected, ${installs} clock(s) installed\n`)
  }
})
