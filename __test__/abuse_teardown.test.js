'use strict'
// Worker termination and environment teardown with live slab views, region views, fast paths
// and meshes (issue 18): each scenario runs in a child process that must run to completion.
const { test } = require('node:test')
const assert = require('node:assert/strict')
const { spawnSync } = require('node:child_process')
const path = require('node:path')

const child = path.join(__dirname, 'abuse', 'teardown-child.js')

for (const scenario of ['terminate', 'exit', 'drop', 'main-exit']) {
  test(`worker teardown with live slab views and meshes: ${scenario}`, () => {
    const r = spawnSync(process.execPath, ['--expose-gc', child, scenario], { encoding: 'utf8', timeout: 60_000 })
    assert.equal(r.signal, null, `killed by ${r.signal}: ${r.stderr}`)
    assert.equal(r.status, 0, r.stderr)
    assert.equal(r.stdout, 'done\n')
  })
}
