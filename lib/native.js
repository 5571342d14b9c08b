'use strict'
// The one place lib/ loads the native addon. It loads the generated napi loader (../index.js), which
// looks for a `.node` next to it (a build from a clone) or in the platform package the main
// package lists as an optional dependency (seqloop-linux-x64-gnu, seqloop-linux-arm64-gnu), and
// when none fits, for the WebAssembly build (`seqloop.wasi.cjs` next to it, or the package
// seqloop-wasm32-wasi, also an optional dependency; docs/wasm.md). When nothing loads, the
// generated loader blames an npm bug; this file replaces that message with one that says what is
// missing on this machine and what to do about it:
// - ERR_NATIVE_PLATFORM_UNSUPPORTED: no prebuilt addon exists for this platform, and the
//   WebAssembly build is not installed either;
// - ERR_NATIVE_BINDING_MISSING: this platform is supported but its package is not installed (nor
//   the WebAssembly one), or NAPI_RS_FORCE_WASI asks for the WebAssembly build and it is missing;
// - ERR_NATIVE_BINDING_LOAD: the addon (or the WebAssembly build) is there but could not be loaded.
// NAPI_RS_FORCE_WASI=1 (or `true`, `error`) loads the WebAssembly build and nothing else, even
// where a native addon fits (the wasm CI job, or a check of what macOS and Windows users run).
// The loader's own error stays reachable as `err.cause`; a load that works costs nothing more.

const fs = require('node:fs')
const path = require('node:path')

/** Platforms with a prebuilt package, as `<platform>-<arch>-<libc>`. */
const SUPPORTED = ['linux-x64-gnu', 'linux-arm64-gnu']

/** The WebAssembly build's package, and its loader in a clone (`scripts/build-wasm.sh`). */
const WASM_PACKAGE = 'seqloop-wasm32-wasi'
const WASM_LOCAL = path.join(__dirname, '..', 'seqloop.wasi.cjs')

/** Whether NAPI_RS_FORCE_WASI asks for the WebAssembly build (napi-rs's `true`/`error`, or `1`). */
function wasmForced() {
  return ['1', 'true', 'error'].includes(process.env.NAPI_RS_FORCE_WASI)
}

const WASM_HINT =
  `The WebAssembly build runs on every platform (Node.js >= 20) with everything a test suite ` +
  `uses: \`npm install ${WASM_PACKAGE}\` next to seqloop (docs/wasm.md).`

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
        `${SUPPORTED.join(' and ')} (glibc >= 2.17, Node.js >= 20), and its WebAssembly build ` +
        `(${WASM_PACKAGE}, an optional dependency) is not installed. ${WASM_HINT} ${BUILD_FROM_SOURCE}`,
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
        `seqloop without omitting optional dependencies. ${WASM_HINT} ${BUILD_FROM_SOURCE}`,
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

/** Whether the WebAssembly build is there (a clone's build or the installed package). */
function wasmInstalled() {
  if (fs.existsSync(WASM_LOCAL)) return true
  try {
    require.resolve(`${WASM_PACKAGE}/package.json`)
    return true
  } catch {
    return false
  }
}

/**
 * Runs `load` without Node's "WASI is an experimental feature" warning: the WebAssembly build
 * uses Node's WASI to run, which a user of seqloop did not ask for, and a warning on every test
 * run (or on the stderr of `seqloop replay`) would say nothing they can act on. Every other
 * warning passes, and process.emitWarning is restored before this returns.
 */
function withoutWasiWarning(load) {
  const emitWarning = process.emitWarning
  process.emitWarning = function (warning, ...rest) {
    const type = typeof rest[0] === 'string' ? rest[0] : rest[0] && rest[0].type
    const text = typeof warning === 'string' ? warning : warning && warning.message
    if (type === 'ExperimentalWarning' && /^WASI is an experimental feature/.test(String(text))) return
    return emitWarning.call(this, warning, ...rest)
  }
  try {
    return load()
  } finally {
    process.emitWarning = emitWarning
  }
}

/**
 * `require(file)` through Node's own module loader. Jest runs test files in a module registry of
 * its own, which cannot load ES modules before Node 24.9, and the wasm loader's runtime
 * (@emnapi/core 2) is one; Jest loads native addons (`.node`) with Node's own require, outside
 * its registry, and this does the same for the wasm loader. `Module.prototype.require` is Node's
 * even where `node:module` is a test runner's stand-in (Jest subclasses Node's Module). Outside a
 * runner this is what `require(file)` does.
 */
function hostRequire(file) {
  const { Module } = require('node:module')
  const host = new Module(file, null)
  host.filename = file
  host.paths = Module._nodeModulePaths(path.dirname(file))
  return host.require(file)
}

/**
 * The WebAssembly build and nothing else (NAPI_RS_FORCE_WASI, or the fallback when no native
 * addon loaded: `nativeErr` is then the generated loader's error, whose reasons the message adds).
 */
function loadWasm(nativeErr) {
  const platform = platformName()
  let entry = WASM_LOCAL
  if (!fs.existsSync(entry)) {
    try {
      entry = require.resolve(WASM_PACKAGE)
    } catch (err) {
      throw loadError(
        'ERR_NATIVE_BINDING_MISSING',
        `NAPI_RS_FORCE_WASI=${process.env.NAPI_RS_FORCE_WASI} asks for seqloop's WebAssembly build, ` +
          `but the package ${WASM_PACKAGE} is not installed. Run \`npm install ${WASM_PACKAGE}\`, or ` +
          'unset NAPI_RS_FORCE_WASI to use the native addon.',
        platform,
        err,
      )
    }
  }
  try {
    return hostRequire(entry)
  } catch (err) {
    const native = nativeErr ? causes(nativeErr).filter((m) => !/seqloop\.wasi|wasm32-wasi/.test(m)) : []
    throw loadError(
      'ERR_NATIVE_BINDING_LOAD',
      (native.length > 0 ? `seqloop could not load a native addon for ${platform} (${native.join('; ')}), and ` : '') +
        `seqloop's WebAssembly build (${entry}) could not be loaded: ${err && err.message}. ` +
        `It needs Node.js >= 20. ${BUILD_FROM_SOURCE}`,
      platform,
      err,
    )
  }
}

module.exports = withoutWasiWarning(() => {
  if (wasmForced()) return loadWasm()
  try {
    return require('../index.js')
  } catch (err) {
    const explained = explain(err)
    // Not a failed load (a throw from inside the addon's init): as it is.
    if (explained === err) throw err
    // The generated loader tried the WebAssembly build too: load it again for its own error.
    if (wasmInstalled()) return loadWasm(err)
    throw explained
  }
})
