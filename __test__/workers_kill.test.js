'use strict'
// A shard's worker killed from outside (Worker#terminate(), as a supervisor or a test runner's
// teardown would do it) while it holds a retained slot and messages are in flight (API.md §8,
// faults): ERR_WORKER_EXITED with the shard id, every slot it held reclaimed, every message either
// handled or handed back by undelivered() (none lost, none twice), and restart() brings it back.
//
// ShardedWorkers does not expose its Worker objects, so this file (its own process under
// node --test) wraps node:worker_threads' Worker before seqloop is loaded, to get hold of them.
const { test } = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const workerThreads = require('node:worker_threads')

const spawned = []
const RealWorker = workerThreads.Worker
workerThreads.Worker = class SpiedWorker extends RealWorker {
  constructor(...args) {
    super(...args)
    spawned.push(this)
  }
}
const { ShardedWorkers } = require('../lib/index.js')

const ECHO = path.join(__dirname, 'fixtures', 'workers', 'echo.js')

test('a worker terminated from outside: ERR_WORKER_EXITED, slots reclaimed, nothing lost or doubled, restart', async () => {
  const workers = await ShardedWorkers.start(ECHO, { shards: 1 })
  assert.equal(spawned.length, 1, 'one Worker per shard')
  const echoed = []
  const waiters = new Map()
  workers.onMessage((key, view) => {
    echoed.push(key)
    const w = waiters.get(key)
    if (w) {
      waiters.delete(key)
      w(Buffer.from(view).toString())
    }
  })
  const next = (key) => new Promise((resolve) => waiters.set(key, resolve))
  try {
    // The worker keeps one slot past its handler ('retain'), then answers 'first'.
    workers.sendBytes('retain', Buffer.from('kept'))
    const first = next('first')
    workers.sendBytes('first', Buffer.from('0'))
    assert.equal(await first, '0')
    // (the slot of 'first' may still be the shard's for a moment after its echo arrives)
    assert.ok(workers.telemetry().shards[0].slotsInUse >= 1, 'the retained slot is the shard\'s')

    const error = new Promise((resolve) => workers.once('error', resolve))
    const sent = []
    for (let i = 0; i < 200; i++) {
      workers.sendBytes(`m${i}`, Buffer.from(`body-${i}`))
      sent.push(`m${i}`)
    }
    await spawned[0].terminate()
    const err = await error
    assert.equal(err.code, 'ERR_WORKER_EXITED')
    assert.equal(err.shardId, 0)
    const t = workers.telemetry().shards[0]
    assert.equal(t.alive, false)
    assert.equal(t.slotsInUse, 0, 'the retained slot and every in-flight slot were reclaimed')

    // Each message sent before the kill was either echoed or comes back, exactly once, in order.
    const back = workers.undelivered(0)
    const backKeys = back.map((u) => u.key)
    const handled = echoed.filter((k) => k.startsWith('m'))
    assert.deepEqual([...handled, ...backKeys], sent, 'handled, then undelivered: every message once, in send order')
    for (const u of back) assert.equal(Buffer.from(u.bytes).toString(), `body-${u.key.slice(1)}`)

    const later = next('later')
    workers.sendBytes('later', Buffer.from('L'))
    await workers.restart(0)
    assert.equal(spawned.length, 2, 'restart started a new Worker')
    assert.equal(await later, 'L')
    assert.equal(workers.telemetry().shards[0].alive, true)
  } finally {
    const res = await workers.close()
    assert.deepEqual(res.undelivered, [])
  }
})
