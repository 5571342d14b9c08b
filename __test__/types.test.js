'use strict'
const { test } = require('node:test')
const assert = require('node:assert/strict')
const { spawnSync } = require('node:child_process')
const path = require('node:path')

test('the published .d.ts files type-check real usage and reject misuse', () => {
  const tsc = require.resolve('typescript/bin/tsc')
  const file = path.join(__dirname, 'types', 'usage.ts')
  const r = spawnSync(process.execPath, [tsc, '--noEmit', '--strict', '--skipLibCheck', 'false', file], { encoding: 'utf8' })
  assert.equal(r.status, 0, r.stdout + r.stderr)
})

test('the ESM entry exports every name the CommonJS entry does', async () => {
  const cjs = require('../lib/index.js')
  const esm = await import('../lib/index.mjs')
  const named = Object.keys(esm).filter((k) => k !== 'default').sort()
  assert.deepEqual(named, Object.keys(cjs).sort())
  for (const k of named) assert.equal(esm[k], cjs[k], k)
})
