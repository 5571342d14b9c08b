'use strict'
const { test } = require('node:test')
const assert = require('node:assert/strict')
const { execFileSync } = require('node:child_process')
const path = require('node:path')

const DEMO = path.join(__dirname, '..', 'examples', 'demo.js')

test('npm run demo prints the same dispatch order on every run and replays its own trace', () => {
  const run = () => execFileSync(process.execPath, [DEMO], { encoding: 'utf8' })
  const a = run()
  const b = run()
  assert.equal(a, b, 'deterministic output')
  const [, recorded] = a.match(/digest ([0-9a-f]{16})\n/)
  assert.match(a, new RegExp(`replayed from the trace: ok=true, digest ${recorded}`))
  assert.match(a, /t= 10ms timer A\n {2}t= 10ms {3}nextTick queued by A\n {2}t= 10ms {3}promise reaction queued by A\n {2}t= 10ms timer B/)
  assert.match(a, /ERR_REACTOR_BACKPRESSURE/)
  assert.match(a, /plan\(8\) on synthetic "pack:2 numa:2 core:4 pu:2" \(shard:core\/node\): 0:0\/0 1:8\/1 2:16\/2 3:24\/3/)
  assert.match(a, /the old view now has byteLength 0/)
})
