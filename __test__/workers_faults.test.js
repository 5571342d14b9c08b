'use strict'
// ShardedWorkers faults and lifetimes (API.md §8): a handler that throws, a worker that exits
// mid-handler or crashes (slots reclaimed, undelivered messages returned, restart), close()
// with work in flight, and record/replay of a run.
const { test } = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')

const { ShardedWorkers, replay } = require('../lib/index.js')

const ECHO = path.join(__dirname, 'fixtures', 'workers', 'echo.js')
const ORDER = path.join(__dirname, 'fixtures', 'workers', 'order.js')

function collector(workers) {
  const received = { all: [], waiters: [] }
  workers.onMessage((key, view, meta) => {
    const copy = Buffer.from(view)
    received.all.push({ key, bytes: copy, globalSeq: meta.globalSeq })
    for (let i = received.waiters.length - 1; i >= 0; i--) {
      const w = received.waiters[i]
      if (w.key === key) {
        received.waiters.splice(i, 1)
        w.resolve({ key, bytes: copy, meta })
      }
    }
  })
  received.next = (key) => new Promise((resolve) => received.waiters.push({ key, resolve }))
  return received
}

const nextError = (workers) => new Promise((resolve) => workers.once('error', resolve))

test('a handler that throws: an error event with shardId and globalSeq; the worker keeps going', async () => {
  const workers = await ShardedWorkers.start(ECHO, { shards: 1 })
  try {
    const received = collector(workers)
    const error = nextError(workers)
    const after = received.next('b')
    workers.sendBytes('a', Buffer.from('1'))
    workers.sendBytes('throw', Buffer.from('2'))
    workers.sendBytes('b', Buffer.from('3'))
    const err = await error
    assert.equal(err.message, 'handler failed on purpose')
    assert.equal(err.code, 'E_FIXTURE')
    assert.equal(err.shardId, 0)
    assert.equal(err.globalSeq, 1)
    assert.equal(err.key, 'throw')
    assert.equal((await after).bytes.toString(), '3')
    assert.equal(workers.telemetry().shards[0].slotsInUse, 0, 'the failed message\'s slot was freed too')
  } finally {
    const res = await workers.close()
    assert.equal(res.handled, 3)
  }
})

test('a worker that exits mid-handler: ERR_WORKER_EXITED, slots reclaimed, waiting messages undelivered, restart', async () => {
  const workers = await ShardedWorkers.start(ECHO, { shards: 1 })
  try {
    const received = collector(workers)
    const first = received.next('first')
    workers.sendBytes('first', Buffer.from('0'))
    await first
    const error = nextError(workers)
    workers.sendBytes('exit', Buffer.from('x'))
    for (let i = 0; i < 5; i++) workers.sendBytes(`m${i}`, Buffer.from(`body-${i}`))
    const err = await error
    assert.equal(err.code, 'ERR_WORKER_EXITED')
    assert.equal(err.shardId, 0)
    assert.equal(err.exitCode, 7)
    const t = workers.telemetry()
    assert.equal(t.shards[0].alive, false)
    assert.equal(t.shards[0].slotsInUse, 0, 'every slot the shard held was reclaimed')
    const back = workers.undelivered(0)
    assert.deepEqual(back.map((u) => u.key), ['exit', 'm0', 'm1', 'm2', 'm3', 'm4'], 'the message in its handler and the queued ones')
    assert.deepEqual(back.map((u) => u.globalSeq), [1, 2, 3, 4, 5, 6])
    assert.equal(Buffer.from(back[3].bytes).toString(), 'body-2')
    assert.deepEqual(workers.undelivered(0), [], 'undelivered() hands them back once')
    // Sends while the shard is down wait in its lane for the restart.
    workers.sendBytes('later', Buffer.from('L'))
    const later = received.next('later')
    await workers.restart(0)
    assert.equal((await later).bytes.toString(), 'L')
    assert.equal(workers.telemetry().shards[0].alive, true)
    assert.equal(workers.telemetry().shards[0].pinned, true)
  } finally {
    await workers.close()
  }
})

test('a worker that crashes (uncaught exception): ERR_WORKER_EXITED with the crash as cause', async () => {
  const workers = await ShardedWorkers.start(ECHO, { shards: 2 })
  try {
    collector(workers)
    const error = nextError(workers)
    const crashKey = 'crash'
    const crashShard = workers.shardFor(crashKey)
    workers.sendBytes(crashKey, Buffer.alloc(0))
    const err = await error
    assert.equal(err.code, 'ERR_WORKER_EXITED')
    assert.equal(err.shardId, crashShard)
    assert.equal(err.exitCode, 1)
    assert.equal(err.cause.message, 'crashed on purpose')
    assert.equal(workers.telemetry().shards[1 - crashShard].alive, true, 'the other shard is unaffected')
  } finally {
    await workers.close()
  }
})

test('close() with work in flight: every message is handled or returned as undelivered', async () => {
  // A live worker: close drains the lane first.
  const a = await ShardedWorkers.start(ECHO, { shards: 2, entrySizeBytes: 16, workerData: { mode: 'batch' } })
  let echoed = 0
  a.onBatch((b) => {
    echoed += b.count
  })
  const n = a.sendBatch(Array.from({ length: 800 }, (_, i) => `k${i}`), new Uint8Array(800 * 4), new Array(800).fill(4))
  assert.equal(n, 800)
  const ra = await a.close()
  assert.equal(ra.handled, 800)
  assert.deepEqual(ra.undelivered, [])
  assert.equal(echoed, 800, 'what the workers sent back before stopping was delivered too')
  // A worker that never handles (its gate stays shut): everything comes back, in order, intact.
  const gate = new SharedArrayBuffer(4)
  const b = await ShardedWorkers.start(ORDER, { shards: 2, entrySizeBytes: 8, workerData: { gate } })
  const keys = Array.from({ length: 100 }, (_, i) => `user-${i % 10}`)
  const bytes = new Uint8Array(new Uint32Array(Array.from({ length: 100 }, (_, i) => i)).buffer)
  assert.equal(b.sendBatch(keys, bytes, new Array(100).fill(4)), 100)
  const rb = await b.close()
  assert.equal(rb.handled, 0)
  assert.equal(rb.undelivered.length, 100)
  for (const u of rb.undelivered) {
    assert.equal(new Uint32Array(u.bytes.buffer.slice(u.bytes.byteOffset, u.bytes.byteOffset + 4))[0], u.globalSeq)
    assert.equal(u.key, keys[u.globalSeq])
    assert.equal(u.shardId, b.shardFor(u.key))
  }
  assert.deepEqual(await b.close(), rb, 'close() is idempotent')
})

async function recordedRun() {
  const workers = await ShardedWorkers.start(ECHO, { shards: 2, record: true, entrySizeBytes: 32, workerData: { mode: 'batch' } })
  let back = 0
  const all = new Promise((resolve) => {
    workers.onBatch((b) => {
      back += b.count
      if (back === 500) resolve()
    })
  })
  const keys = Array.from({ length: 500 }, (_, i) => `session-${(i * 7) % 13}`)
  const parts = keys.map((k, i) => Buffer.from(`${k}:${i}`))
  assert.equal(workers.sendBatch(keys, Buffer.concat(parts), parts.map((p) => p.length)), 500)
  await all
  // A shard records a message once its handler returns, which can be after its echo arrived
  // here: read the traces after close(), which waits for every handler.
  await workers.close()
  return { producer: workers.trace(), shards: [workers.trace(0), workers.trace(1)] }
}

test('record: one trace per shard plus the producer\'s; replay reproduces each; equal runs have equal digests', async () => {
  const one = await recordedRun()
  const events = (t) => t.records.filter((r) => r.type === 'enqueue_event').map((r) => ({ key: r.event_id, ...r.payload }))
  const sent = events(one.producer)
  assert.equal(sent.length, 500)
  let handled = 0
  for (const [s, t] of one.shards.entries()) {
    const r = replay(t)
    assert.equal(r.ok, true, `shard ${s} replays`)
    const mine = events(t)
    handled += mine.length
    assert.ok(mine.length > 0)
    assert.deepEqual(mine, sent.filter((e) => e.shard === s), `shard ${s} handled exactly its sends, in order, same bytes`)
  }
  assert.equal(handled, 500)
  assert.equal(replay(one.producer).ok, true)
  const two = await recordedRun()
  assert.equal(replay(two.shards[0]).digest, replay(one.shards[0]).digest)
  assert.equal(replay(two.shards[1]).digest, replay(one.shards[1]).digest)
  // A tampered trace diverges: replay compares every dispatch.
  const bad = structuredClone(one.shards[0])
  const d = bad.records.filter((r) => r.type === 'dispatch')[3]
  d.payload.fnv = '0000000000000000'
  const r = replay(bad)
  assert.equal(r.ok, false)
  assert.equal(r.divergence.index, 3)
})
