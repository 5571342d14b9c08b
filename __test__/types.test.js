'use strict'
const { test } = require('node:test')
const assert = require('node:assert/strict')
const { spawnSync } = require('node:child_process')
const path = require('node:path')

// The same tsc run as `npm run lint` (scripts/lint.sh): strict settings in types/tsconfig.json,
// over types/usage.ts (the package entry and seqloop/fake-timers) and types/runners.cts
// (seqloop/vitest, seqloop/jest-environment).
test('the published .d.ts files type-check real usage and reject misuse', () => {
  const tsc = require.resolve('typescript/bin/tsc')
  const project = path.join(__dirname, 'types', 'tsconfig.json')
  const r = spawnSync(process.execPath, [tsc, '-p', project], { encoding: 'utf8' })
  assert.equal(r.status, 0, r.stdout + r.stderr)
})

test('the ESM entry exports every name the CommonJS entry does', async () => {
  const cjs = require('..')
  const esm = await import('../lib/index.mjs')
  const named = Object.keys(esm).filter((k) => k !== 'default').sort()
  assert.deepEqual(named, Object.keys(cjs).sort())
  for (const k of named) assert.equal(esm[k], cjs[k], k)
})
