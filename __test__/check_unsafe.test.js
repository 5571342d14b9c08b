'use strict'
// scripts/check-unsafe.sh (run by `npm run lint`): every unsafe block of the binding lives in
// src/binding/ffi/. Checked on the real tree, and on small fake trees that break the rule.
const { test } = require('node:test')
const assert = require('node:assert/strict')
const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const ROOT = path.join(__dirname, '..')
const SCRIPT = path.join(ROOT, 'scripts', 'check-unsafe.sh')
const MOD = [
  '//! The binding; unsafe code lives in ffi.',
  '#![deny(unsafe_code)]',
  '#[allow(unsafe_code, reason = "the one module of the binding that holds unsafe code")]',
  'mod ffi;',
  'mod topo;',
].join('\n')

function run (dir) {
  return spawnSync('bash', [SCRIPT, dir], { cwd: ROOT, encoding: 'utf8' })
}

/** A fake binding tree: `files` maps a relative path to its text. */
function tree (t, files) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seqloop-unsafe-'))
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  const all = {
    'mod.rs': MOD,
    'ffi/mod.rs': '// SAFETY: ffi may hold unsafe code\npub fn f() { unsafe { g() } }\n',
    'topo.rs': '// a comment may say unsafe\npub fn parse() {}\n',
    ...files,
  }
  for (const [rel, text] of Object.entries(all)) {
    if (text === null) continue
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true })
    fs.writeFileSync(path.join(dir, rel), text)
  }
  return dir
}

test('the real binding keeps every unsafe block in src/binding/ffi/', () => {
  const r = run('src/binding')
  assert.equal(r.status, 0, r.stdout + r.stderr)
})

test('a clean tree passes: unsafe only in ffi/, mentions only in comments', (t) => {
  const r = run(tree(t, {}))
  assert.equal(r.status, 0, r.stdout + r.stderr)
})

test('unsafe code outside ffi/ fails, naming the file and line', (t) => {
  for (const code of [
    'fn f() { unsafe { g() } }',
    'unsafe fn f() {}',
    'unsafe extern "C" fn cb() {}',
    'unsafe impl Send for X {}',
    '    let v = unsafe { x.cast::<Object>() };',
  ]) {
    const r = run(tree(t, { 'slab/state.rs': `// ok\n${code}\n` }))
    assert.equal(r.status, 1, code)
    assert.match(r.stderr, /slab\/state\.rs:2:/, code)
  }
})

test('opting out of deny(unsafe_code) outside the ffi line fails', (t) => {
  for (const attr of ['#![allow(unsafe_code)]', '#[expect(unsafe_code)]', '#[allow( unsafe_code )]']) {
    const r = run(tree(t, { 'topo.rs': `${attr}\npub fn parse() {}\n` }))
    assert.equal(r.status, 1, attr)
    assert.match(r.stderr, /topo\.rs:1:/, attr)
  }
  const noDeny = run(tree(t, { 'mod.rs': MOD.replace('#![deny(unsafe_code)]\n', '') }))
  assert.equal(noDeny.status, 1)
  assert.match(noDeny.stderr, /lost its #!\[deny\(unsafe_code\)\]/)
})
