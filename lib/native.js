'use strict'
// The one place lib/ loads the native addon. It loads the generated napi loader (../index.js), which
// looks for a `.node` next to it (a build from a clone) or in the platform package the main
// package lists as an optional dependency (seqloop-linux-x64-gnu, seqloop-linux-arm64-gnu). When
// neither is there, the generated loader blames an npm bug; this file replaces that message with one
// that says what is missing on this machine and what to do about it:
// - ERR_NATIVE_PLATFORM_UNSUPPORTED: no prebuilt addon exists for this platform;
// - ERR_NATIVE_BINDING_MISSING: this platform is supported but its package is not installed;
// - ERR_NATIVE_BINDING_LOAD: the addon is there but the system refused to load it.
// The loader's own error stays reachable as `err.cause`; a load that works costs nothing more.

const fs = require('node:fs')
const path = require('node:path')

/** Platforms with a prebuilt package, as `<platform>-<arch>-<libc>`. */
const SUPPORTED = ['linux-x64-gnu', 'linux-arm64-gnu']

const BUILD_FROM_SOURCE =
  'To build it from source instead, clone the seqloop repository and, with Rust >= 1.85 and ' +
  'hwloc (Debian: `apt-get install libhwloc-dev libudev-dev pkg-config`), run `npm install` ' +
  'there (it runs `napi build --release`), then `npm install <path to that clone>` in your project.'

/** `<platform>-<arch>` plus `-gnu`/`-musl` on Linux: the names the platform packages use. */
function platformName() {
  const base = `${process.platform}-${process.arch}`
  if (process.platform !== 'linux') return base
  let glibc = true
  try {
    const header = process.report && process.report.getReport().header
    glibc = Boolean(header && header.glibcVersionRuntime)
  } catch {
    // No report support: assume glibc, the common case; the message still names the arch.
  }
  return `${base}-${glibc ? 'gnu' : 'musl'}`
}

/** The messages of `err` and of its `cause` chain, which is where the loader lists each attempt. */
function causes(err) {
  const messages = []
  for (let e = err && err.cause, n = 0; e && n < 16; e = e.cause, n++) {
    const message = typeof e.message === 'string' ? e.message : String(e)
    const firstLine = message.split('\n')[0]
    if (!messages.includes(firstLine)) messages.push(firstLine)
  }
  return messages
}

function loadError(code, message, platform, cause) {
  const error = new Error(message)
  error.code = code
  error.platform = platform
  error.supported = SUPPORTED.slice()
  error.cause = cause
  return error
}

/** The error to throw for a failed load of the generated loader, or `err` itself if it is not one. */
function explain(err) {
  const message = err && typeof err.message === 'string' ? err.message : ''
  if (!/^(Cannot find native binding|Failed to load native binding)/.test(message)) return err
  const platform = platformName()
  if (!SUPPORTED.includes(platform)) {
    return loadError(
      'ERR_NATIVE_PLATFORM_UNSUPPORTED',
      `seqloop has no prebuilt native addon for ${platform}; prebuilt addons exist for ` +
        `${SUPPORTED.join(' and ')} (glibc >= 2.17, Node.js >= 20). ${BUILD_FROM_SOURCE}`,
      platform,
      err,
    )
  }
  const pkg = `seqloop-${platform}`
  const local = path.join(__dirname, '..', `seqloop.${platform}.node`)
  let installed = fs.existsSync(local)
  try {
    require.resolve(`${pkg}/package.json`)
    installed = true
  } catch {
    // Not installed: `installed` says whether a build from a clone left its own file.
  }
  if (!installed) {
    return loadError(
      'ERR_NATIVE_BINDING_MISSING',
      `seqloop's native addon for ${platform} is not installed: the package ${pkg}, an optional ` +
        'dependency of seqloop, is missing (installed with --omit=optional or --no-optional, or ' +
        `node_modules copied from another platform?). Run \`npm install ${pkg}\` or reinstall ` +
        `seqloop without omitting optional dependencies. ${BUILD_FROM_SOURCE}`,
      platform,
      err,
    )
  }
  const reasons = causes(err)
  return loadError(
    'ERR_NATIVE_BINDING_LOAD',
    `seqloop's native addon for ${platform} is installed but could not be loaded` +
      (reasons.length > 0 ? `: ${reasons.join('; ')}` : '') +
      `. It needs glibc >= 2.17 and Node.js >= 20. ${BUILD_FROM_SOURCE}`,
    platform,
    err,
  )
}

try {
  module.exports = require('../index.js')
} catch (err) {
  throw explain(err)
}
