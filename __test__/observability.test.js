'use strict'
const { test } = require('node:test')
const assert = require('node:assert/strict')
const { spawnSync } = require('node:child_process')
const path = require('node:path')

const ENTRY = JSON.stringify(path.join(__dirname, '..', 'lib', 'index.js'))
const SCRIPT = `
  const { Scheduler, DeterministicClock } = require(${ENTRY})
  const clock = new DeterministicClock(0)
  const s = new Scheduler({ clock })
  const id = s.setTimeout(10)
  s.clearTimeout(s.setTimeout(20))
  s.enqueueEvent('evt-1', { n: 1 })
  clock.advance(10)
  s.tick(); s.tick()
`

function run (env) {
  const r = spawnSync(process.execPath, ['-e', SCRIPT], { encoding: 'utf8', env: { ...process.env, ...env } })
  assert.equal(r.status, 0, r.stderr)
  return r.stderr
}

test('SEQLOOP_LOG=trace prints the core events to stderr', () => {
  const err = run({ SEQLOOP_LOG: 'trace' })
  for (const event of ['timer_set', 'timer_clear', 'enqueue', 'timer_fire', 'tick']) {
    assert.match(err, new RegExp(event), `missing ${event} in:\n${err}`)
  }
  assert.match(err, /seqloop::sched/)
  assert.match(err, /kind="?inbound_event/)
})

test('SEQLOOP_LOG filters by directive, and prints nothing when unset', () => {
  const { SEQLOOP_LOG, ...rest } = process.env
  const quiet = spawnSync(process.execPath, ['-e', SCRIPT], { encoding: 'utf8', env: rest })
  assert.equal(quiet.status, 0)
  assert.equal(quiet.stderr, '')
  assert.equal(run({ SEQLOOP_LOG: 'seqloop=info' }), '', 'trace events are below info')
})
