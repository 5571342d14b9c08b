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
function loadIn(dir, entry, { platform, arch } = {}) {
  const pose =
    (platform ? `Object.defineProperty(process, 'platform', { value: ${JSON.stringify(platform)} });` : '') +
    (arch ? `Object.defineProperty(process, 'arch', { value: ${JSON.stringify(arch)} });` : '')
  const script =
    pose +
    `try { require(${JSON.stringify(entry)}); console.log(JSON.stringify({ loaded: true })) }` +
    ' catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message, platform: e.platform,' +
    ' supported: e.supported, cause: e.cause && e.cause.message })) }'
  const env = { ...process.env }
  delete env.NAPI_RS_NATIVE_LIBRARY_PATH
  delete env.NAPI_RS_FORCE_WASI
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
  assert.deepEqual(r, { loaded: true })
})
