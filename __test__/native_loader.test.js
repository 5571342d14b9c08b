'use strict'
// lib/native.js: what a user sees when the native addon cannot be loaded. Each case runs in a child
// process on a copy of the package's JS files (no `.node` next to them), the way an install from
// the registry looks when the platform package is absent, unsupported or broken.
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { spawnSync } = require('node:child_process')

const ROOT = path.join(__dirname, '..')

/** A package folder holding seqloop's JS (generated loader + lib/) and no native addon. */
function jsOnlyPackage(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seqloop-loader-'))
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  const pkg = path.join(dir, 'node_modules', 'seqloop')
  fs.mkdirSync(path.join(pkg, 'lib'), { recursive: true })
  for (const file of ['index.js', 'package.json']) {
    fs.copyFileSync(path.join(ROOT, file), path.join(pkg, file))
  }
  fs.cpSync(path.join(ROOT, 'lib'), path.join(pkg, 'lib'), { recursive: true })
  return dir
}

/** Requires `entry` from `dir` in a child process (optionally posing as another platform). */
function loadIn(dir, entry, { platform, arch, forceWasi } = {}) {
  const pose =
    (platform ? `Object.defineProperty(process, 'platform', { value: ${JSON.stringify(platform)} });` : '') +
    (arch ? `Object.defineProperty(process, 'arch', { value: ${JSON.stringify(arch)} });` : '')
  const script =
    pose +
    `try { require(${JSON.stringify(entry)}); console.log(JSON.stringify({ loaded: true, target: ` +
    `require(require.resolve(${JSON.stringify(entry)}, { paths: [process.cwd()] }).replace(/(index|fake-timers)\\.js$/, 'native.js')).__napiBindingTarget })) }` +
    ' catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message, platform: e.platform,' +
    ' supported: e.supported, cause: e.cause && e.cause.message })) }'
  const env = { ...process.env }
  delete env.NAPI_RS_NATIVE_LIBRARY_PATH
  delete env.NAPI_RS_FORCE_WASI
  if (forceWasi) env.NAPI_RS_FORCE_WASI = forceWasi
  const out = spawnSync(process.execPath, ['-e', script], { cwd: dir, env, encoding: 'utf8' })
  assert.equal(out.status, 0, out.stderr)
  return JSON.parse(out.stdout.trim().split('\n').pop())
}

const thisPlatform = `${process.platform}-${process.arch}-gnu`

test('a supported platform without its platform package: ERR_NATIVE_BINDING_MISSING naming the package', (t) => {
  if (thisPlatform !== 'linux-x64-gnu' && thisPlatform !== 'linux-arm64-gnu') return t.skip('unsupported host')
  const dir = jsOnlyPackage(t)
  for (const entry of ['seqloop', 'seqloop/fake-timers']) {
    const r = loadIn(dir, entry)
    assert.equal(r.code, 'ERR_NATIVE_BINDING_MISSING', entry)
    assert.equal(r.platform, thisPlatform)
    assert.deepEqual(r.supported, ['linux-x64-gnu', 'linux-arm64-gnu'])
    assert.match(r.message, new RegExp(`package seqloop-${thisPlatform}, an optional dependency`))
    assert.match(r.message, /build it from source/)
    assert.doesNotMatch(r.message, /npm has a bug/)
    assert.match(r.cause, /Cannot find native binding/, 'the loader error stays as the cause')
  }
})

test('an unsupported platform: ERR_NATIVE_PLATFORM_UNSUPPORTED naming it and the supported ones', (t) => {
  const dir = jsOnlyPackage(t)
  for (const [platform, arch, name] of [
    ['darwin', 'arm64', 'darwin-arm64'],
    ['win32', 'x64', 'win32-x64'],
    ['linux', 'ia32', 'linux-ia32-gnu'],
  ]) {
    const r = loadIn(dir, 'seqloop', { platform, arch })
    assert.equal(r.code, 'ERR_NATIVE_PLATFORM_UNSUPPORTED', name)
    assert.equal(r.platform, name)
    assert.match(r.message, new RegExp(`no prebuilt native addon for ${name}; prebuilt addons exist for linux-x64-gnu and linux-arm64-gnu`))
    assert.match(r.message, /npm install/)
    assert.doesNotMatch(r.message, /npm has a bug/)
  }
})

test('an installed platform package that the system refuses: ERR_NATIVE_BINDING_LOAD with the reason', (t) => {
  if (thisPlatform !== 'linux-x64-gnu' && thisPlatform !== 'linux-arm64-gnu') return t.skip('unsupported host')
  const dir = jsOnlyPackage(t)
  const pkg = path.join(dir, 'node_modules', `seqloop-${thisPlatform}`)
  fs.mkdirSync(pkg)
  const binary = `seqloop.${thisPlatform}.node`
  const { version } = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'))
  fs.writeFileSync(path.join(pkg, 'package.json'), JSON.stringify({ name: `seqloop-${thisPlatform}`, version, main: binary }))
  fs.writeFileSync(path.join(pkg, binary), 'not an ELF file')
  const r = loadIn(dir, 'seqloop')
  assert.equal(r.code, 'ERR_NATIVE_BINDING_LOAD')
  assert.equal(r.platform, thisPlatform)
  assert.match(r.message, new RegExp(`addon for ${thisPlatform} is installed but could not be loaded: .*(invalid ELF header|file too short)`))
})

test('the package itself loads through the facade', (t) => {
  const r = loadIn(ROOT, path.join(ROOT, 'lib', 'index.js'))
  assert.equal(r.loaded, true)
})

/** The WebAssembly build's files (scripts/build-wasm.sh leaves them in the root), or null. */
const WASM_FILES = ['seqloop.wasi.cjs', 'seqloop.wasm32-wasi.wasm', 'wasi-worker.mjs']
const wasmBuilt = WASM_FILES.every((f) => fs.existsSync(path.join(ROOT, f)))

/** Installs a seqloop-wasm32-wasi package into `dir`: the real build, or a `main` that throws. */
function wasmPackage(dir, { broken = false } = {}) {
  const pkg = path.join(dir, 'node_modules', 'seqloop-wasm32-wasi')
  fs.mkdirSync(pkg)
  const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'npm', 'wasm32-wasi', 'package.json'), 'utf8'))
  fs.writeFileSync(path.join(pkg, 'package.json'), JSON.stringify(manifest))
  if (broken) {
    fs.writeFileSync(path.join(pkg, manifest.main), "throw new Error('no WebAssembly here')")
    return
  }
  for (const f of WASM_FILES) fs.copyFileSync(path.join(ROOT, f), path.join(pkg, f))
  // The loader's runtime dependencies, as npm would install them beside it.
  for (const dep of Object.keys(manifest.dependencies)) {
    fs.cpSync(path.join(ROOT, 'node_modules', dep), path.join(dir, 'node_modules', dep), { recursive: true, dereference: true })
  }
  for (const dep of ['@emnapi/wasi-threads', '@tybys/wasm-util', 'tslib']) {
    const from = path.join(ROOT, 'node_modules', dep)
    if (fs.existsSync(from)) fs.cpSync(from, path.join(dir, 'node_modules', dep), { recursive: true, dereference: true })
  }
}

test('an unsupported platform without the WebAssembly package: the error names it', (t) => {
  const dir = jsOnlyPackage(t)
  const r = loadIn(dir, 'seqloop', { platform: 'darwin', arch: 'arm64' })
  assert.equal(r.code, 'ERR_NATIVE_PLATFORM_UNSUPPORTED')
  assert.match(r.message, /WebAssembly build \(seqloop-wasm32-wasi, an optional dependency\) is not installed/)
  assert.match(r.message, /npm install seqloop-wasm32-wasi/)
})

test('NAPI_RS_FORCE_WASI=1 without the WebAssembly package: ERR_NATIVE_BINDING_MISSING, never the native addon', (t) => {
  const dir = jsOnlyPackage(t)
  for (const value of ['1', 'true', 'error']) {
    const r = loadIn(dir, 'seqloop', { forceWasi: value })
    assert.equal(r.code, 'ERR_NATIVE_BINDING_MISSING', value)
    assert.match(r.message, new RegExp(`NAPI_RS_FORCE_WASI=${value} asks for seqloop's WebAssembly build, but the package seqloop-wasm32-wasi is not installed`))
  }
  // In the repository, where a native addon is right there, it is still not taken.
  if (!wasmBuilt) {
    const r = loadIn(ROOT, path.join(ROOT, 'lib', 'index.js'), { forceWasi: '1' })
    assert.equal(r.code, 'ERR_NATIVE_BINDING_MISSING')
  }
})

test('a WebAssembly package that cannot load: ERR_NATIVE_BINDING_LOAD with its reason', (t) => {
  const dir = jsOnlyPackage(t)
  wasmPackage(dir, { broken: true })
  for (const options of [{ forceWasi: '1' }, { platform: 'win32', arch: 'x64' }]) {
    const r = loadIn(dir, 'seqloop', options)
    assert.equal(r.code, 'ERR_NATIVE_BINDING_LOAD', JSON.stringify(options))
    assert.match(r.message, /WebAssembly build .* could not be loaded: no WebAssembly here/)
  }
})

test('the WebAssembly package is the fallback where no native addon fits, and what NAPI_RS_FORCE_WASI=1 loads', { skip: !wasmBuilt && 'no wasm build (scripts/build-wasm.sh)' }, (t) => {
  const dir = jsOnlyPackage(t)
  wasmPackage(dir)
  for (const options of [{ platform: 'darwin', arch: 'arm64' }, { platform: 'win32', arch: 'x64' }, {}, { forceWasi: '1' }]) {
    for (const entry of ['seqloop', 'seqloop/fake-timers']) {
      const r = loadIn(dir, entry, options)
      assert.deepEqual(r, { loaded: true, target: 'wasm32-wasi' }, `${entry} ${JSON.stringify(options)}`)
    }
  }
})
