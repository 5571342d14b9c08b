'use strict'
// Ownership rules at the edges (API.md §8, docs/workers.md): shard.free() frees only a retained
// or allocated-and-unsent slot, never the message being handled or one still in the lane (else the
// producer could reuse memory a live view shows); the main thread's meta cannot retain; a
// sendBatch called from a key's getter inside another sendBatch keeps every key with its body.
const { test } = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')

const { ShardedWorkers } = require('../lib/index.js')

const RULES = path.join(__dirname, 'fixtures', 'workers', 'free-rules.js')
const ECHO = path.join(__dirname, 'fixtures', 'workers', 'echo.js')

function collect(workers) {
  const got = []
  const waiters = []
  workers.onMessage((key, view, meta) => {
    got.push({ key, body: Buffer.from(view).toString(), meta, view })
    for (let i = waiters.length - 1; i >= 0; i--) if (waiters[i].n <= got.length) waiters.splice(i, 1)[0].resolve()
  })
  return { got, until: (n) => (got.length >= n ? Promise.resolve() : new Promise((resolve) => waiters.push({ n, resolve }))) }
}

test('shard.free() refuses the slot being handled and slots still in the lane; nothing is reused under a live view', { timeout: 60000 }, async () => {
  const workers = await ShardedWorkers.start(RULES, { shards: 1, slabCapacity: 16, entrySizeBytes: 128 })
  try {
    const c = collect(workers)
    const errors = []
    workers.on('error', (e) => errors.push(e))
    workers.sendBytes('free-current', Buffer.from('A'))
    workers.sendBytes('free-forged', Buffer.from('F'))
    const queued = []
    for (let i = 0; i < 6; i++) {
      workers.sendBytes(`q${i}`, Buffer.from(`body-${i}`))
      queued.push(`q${i}`)
    }
    await c.until(8)
    assert.deepEqual(errors, [])
    const current = JSON.parse(c.got.find((g) => g.key === 'free-current').body)
    assert.deepEqual(current, { freed: false, again: false, length: 1, first: 'A'.charCodeAt(0) }, 'the running message\'s slot is not the handler\'s to free')
    assert.deepEqual(JSON.parse(c.got.find((g) => g.key === 'free-forged').body), { freed: 0 }, 'no forged handle frees a queued slot')
    for (let i = 0; i < 6; i++) assert.equal(c.got.find((g) => g.key === `q${i}`).body, `body-${i}`)
  } finally {
    const res = await workers.close()
    assert.deepEqual(res.undelivered, [])
  }
})

test('the main thread\'s meta has no retain(): its views are detached and slots freed when the handler returns', { timeout: 60000 }, async () => {
  const workers = await ShardedWorkers.start(ECHO, { shards: 1 })
  try {
    const c = collect(workers)
    workers.sendBytes('x', Buffer.from('hello'))
    await c.until(1)
    assert.equal(c.got[0].meta.retain, undefined)
    assert.equal(c.got[0].view.byteLength, 0, 'detached after the handler')
    assert.equal(workers.telemetry().shards[0].slotsInUse, 0)
  } finally {
    await workers.close()
  }
})

test('a sendBatch from a key getter inside another sendBatch: every body goes with its own key', { timeout: 60000 }, async () => {
  const workers = await ShardedWorkers.start(ECHO, { shards: 2 })
  try {
    const c = collect(workers)
    const keys = ['a', undefined, 'c']
    Object.defineProperty(keys, 1, {
      enumerable: true,
      get() {
        assert.equal(workers.sendBatch(['p', 'q', 'r', 's'], Buffer.from('PQRS'), [1, 1, 1, 1]), 4)
        return 'b'
      },
    })
    assert.equal(workers.sendBatch(keys, Buffer.from('ABC'), [1, 1, 1]), 3)
    await c.until(7)
    const pairs = Object.fromEntries(c.got.map((g) => [g.key, g.body]))
    assert.deepEqual(pairs, { p: 'P', q: 'Q', r: 'R', s: 'S', a: 'A', b: 'B', c: 'C' })
  } finally {
    await workers.close()
  }
})
