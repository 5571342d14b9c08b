'use strict'
// ShardedWorkers (API.md §8): pinning, ownership (detach on send and on free), per-key order,
// backpressure, batches both ways, bad input. Faults, close and replay: workers_faults.test.js.
const { test } = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')

const seqloop = require('../lib/index.js')
const { ShardedWorkers, ReactorTopologySnapshot, ReactorPlacementManifest } = seqloop

const ECHO = path.join(__dirname, 'fixtures', 'workers', 'echo.js')
const ORDER = path.join(__dirname, 'fixtures', 'workers', 'order.js')

/** Resolves with the first message the main thread receives for `key`. */
function next(workers, key, received) {
  return new Promise((resolve) => {
    received.waiters.push({ key, resolve })
  })
}

/** The order fixture's report. */
function report(view) {
  const [count, bad, keys, sum] = new Float64Array(view.buffer.slice(view.byteOffset, view.byteOffset + 32))
  return { count, bad, keys, sum }
}

function collector(workers) {
  const received = { all: [], waiters: [], views: [] }
  workers.onMessage((key, view, meta) => {
    received.views.push(view)
    const copy = Buffer.from(view)
    received.all.push({ key, bytes: copy, meta: { ...meta } })
    const i = received.waiters.findIndex((w) => w.key === key)
    if (i >= 0) received.waiters.splice(i, 1)[0].resolve({ key, bytes: copy, meta })
  })
  return received
}

test('start pins each shard to its planned core on strict advice (checked with sched_getcpu)', async () => {
  const workers = await ShardedWorkers.start(ECHO, { shards: 2 })
  try {
    assert.equal(workers.shardCount, 2)
    assert.ok(workers.manifest instanceof ReactorPlacementManifest)
    const received = collector(workers)
    const t = workers.telemetry()
    for (const s of t.shards) {
      assert.equal(s.pinned, true, `shard ${s.shardId} pinned`)
      assert.equal(s.coreId, workers.manifest.bindings[s.shardId].coreId)
    }
    for (let s = 0; s < 2; s++) {
      const key = ['a', 'b', 'c', 'd', 'e', 'f'].find((k) => workers.shardFor(k) === s)
      workers.sendBytes(key, Buffer.from('x'))
      const wait = next(workers, 'info', received)
      workers.sendBytes(key === 'a' ? 'info' : 'info', Buffer.alloc(0))
      const info = JSON.parse((await wait).bytes)
      assert.equal(info.pinned, true)
      assert.equal(info.cpu, info.coreId, 'the thread runs on its planned core')
    }
    assert.deepEqual(Object.keys(t).sort(), ['fallbackReason', 'maxQueueDepths', 'queueDepths', 'rejectedEnqueues', 'shardBindings', 'shards'])
    assert.equal(JSON.parse(JSON.stringify(t.asJson())).shards.length, 2)
  } finally {
    await workers.close()
  }
})

test('advisory and disabled enforcement never pin', async () => {
  for (const enforcement of ['advisory', 'disabled']) {
    const workers = await ShardedWorkers.start(ECHO, { shards: 1, enforcement, workerData: { mode: 'message', n: 1 } })
    const received = collector(workers)
    const wait = next(workers, 'info', received)
    workers.sendBytes('info', Buffer.alloc(0))
    const info = JSON.parse((await wait).bytes)
    assert.equal(info.pinned, false)
    assert.deepEqual(info.workerData, { mode: 'message', n: 1 }, 'shard.workerData')
    assert.equal(workers.telemetry().shards[0].pinned, false)
    await workers.close()
  }
})

test('send moves ownership: the producer view is detached; the consumer view is detached when its handler returns', async () => {
  const workers = await ShardedWorkers.start(ECHO, { shards: 2, entrySizeBytes: 64 })
  try {
    const received = collector(workers)
    const slot = workers.allocate('k1')
    assert.equal(slot.buffer.byteLength, 64)
    assert.deepEqual(Object.keys(slot.handle).sort(), ['generation', 'nodeId', 'slotIndex'])
    slot.buffer.fill(7)
    const alias = new Uint8Array(slot.buffer.buffer)
    const wait = next(workers, 'k1', received)
    workers.send('k1', slot)
    assert.equal(slot.buffer.byteLength, 0, 'the producer view is detached on send')
    assert.equal(alias.byteLength, 0, 'every view of that buffer is')
    assert.throws(() => workers.send('k1', slot), { code: 'ERR_SLAB_STALE_HANDLE' }, 'a sent slot is not the producer\'s any more')
    const echoed = await wait
    assert.equal(echoed.bytes.length, 64)
    assert.ok(echoed.bytes.every((b) => b === 7), 'the bytes crossed threads intact')
    assert.equal(received.views[0].byteLength, 0, 'the main thread\'s view was detached after its handler')
    // A length argument sends only the first bytes.
    const s2 = workers.allocate('k1')
    s2.buffer.set([1, 2, 3])
    const w2 = next(workers, 'k1', received)
    workers.send('k1', s2.handle, 3)
    assert.deepEqual([...(await w2).bytes], [1, 2, 3])
    // A slot allocated for one key's shard cannot go to another shard.
    const other = ['a', 'b', 'c', 'd', 'e', 'f', 'g'].find((k) => workers.shardFor(k) !== workers.shardFor('k1'))
    const s3 = workers.allocate('k1')
    assert.throws(() => workers.send(other, s3), { code: 'ERR_SLAB_STALE_HANDLE' })
    assert.equal(s3.buffer.byteLength, 64, 'a refused send leaves the view attached')
  } finally {
    await workers.close()
  }
})

test('the worker\'s views: detached after the handler, kept by retain() until free(meta), then detached', async () => {
  const workers = await ShardedWorkers.start(ECHO, { shards: 1 })
  try {
    const received = collector(workers)
    workers.sendBytes('keep', Buffer.from('abc'))
    workers.sendBytes('retain', Buffer.from('hello'))
    workers.sendBytes('retain', Buffer.from('world!'))
    const wait = next(workers, 'info', received)
    workers.sendBytes('info', Buffer.alloc(0))
    const info = JSON.parse((await wait).bytes)
    assert.deepEqual(info.seenLengths, [0], 'a view kept past its handler is detached')
    assert.deepEqual(info.retainedLengths, [5, 6], 'retained views stay attached')
    const inUse = workers.telemetry().shards[0].slotsInUse
    assert.ok(inUse >= 2, `retained slots stay allocated (${inUse})`)
    const freedWait = next(workers, 'freed', received)
    workers.sendBytes('free', Buffer.alloc(0))
    const freed = JSON.parse((await freedWait).bytes)
    assert.deepEqual(freed, { freed: [true, true], lengths: [0, 0], again: [false, false] })
  } finally {
    await workers.close()
  }
})

test('batches both ways: sendBatch → onBatch in the worker → sendBatch → onBatch on main, windows detached', async () => {
  const workers = await ShardedWorkers.start(ECHO, { shards: 2, entrySizeBytes: 32, workerData: { mode: 'batch' } })
  try {
    const got = new Map()
    const windows = []
    let count = 0
    const done = new Promise((resolve) => {
      workers.onBatch((b) => {
        windows.push(b.bytes)
        assert.equal(b.keys.length, b.count)
        for (let i = 0; i < b.count; i++) {
          const body = Buffer.from(b.bytes.subarray(b.offsets[i], b.offsets[i] + b.lengths[i])).toString()
          got.set(b.keys[i], [...(got.get(b.keys[i]) || []), body])
          assert.ok(b.globalSeqs[i] >= 0)
        }
        count += b.count
        if (count === 300) resolve()
      })
    })
    const keys = []
    const parts = []
    for (let i = 0; i < 300; i++) {
      keys.push(`key-${i % 7}`)
      parts.push(Buffer.from(`v${i}`))
    }
    const bytes = Buffer.concat(parts)
    const lengths = parts.map((p) => p.length)
    assert.equal(workers.sendBatch(keys, bytes, lengths), 300)
    await done
    for (let k = 0; k < 7; k++) {
      const expected = []
      for (let i = k; i < 300; i += 7) expected.push(`v${i}`)
      assert.deepEqual(got.get(`key-${k}`), expected, `key-${k} in send order`)
    }
    assert.ok(windows.every((w) => w.byteLength === 0), 'every window was detached after its handler')
  } finally {
    await workers.close()
  }
})

async function orderRun(shards, total) {
  const workers = await ShardedWorkers.start(ORDER, { shards, entrySizeBytes: 32, laneCapacity: 4096, slabCapacity: 8192, enforcement: 'advisory' })
  const reports = []
  const all = new Promise((resolve) => {
    workers.onMessage((key, view) => {
      reports.push(report(view))
      if (reports.length === shards) resolve()
    })
  })
  const table = Array.from({ length: 1000 }, (_, i) => `user-${i}`)
  const CHUNK = 4096
  const keys = new Array(CHUNK)
  const bytes = new Uint8Array(4 * CHUNK)
  const dv = new DataView(bytes.buffer)
  const lengths = new Uint32Array(CHUNK).fill(4)
  let sent = 0
  let expectedSum = 0
  let refused = 0
  while (sent < total) {
    const n = Math.min(CHUNK, total - sent)
    for (let j = 0; j < n; j++) {
      keys[j] = table[(sent + j) % 1000]
      dv.setUint32(4 * j, sent + j + 1, true)
      expectedSum += sent + j + 1
    }
    let done = 0
    while (done < n) {
      const k = workers.sendBatch(done === 0 && n === CHUNK ? keys : keys.slice(done, n), bytes.subarray(4 * done), lengths.subarray(done))
      done += k
      if (done < n) {
        refused++
        await new Promise((resolve) => setImmediate(resolve))
      }
    }
    sent += n
  }
  return { workers, all, reports, expectedSum, refused }
}

for (const shards of [2, 4]) {
  test(`per-key order across 1e6 messages with ${shards} shards`, async () => {
    const { workers, all, reports, expectedSum } = await orderRun(shards, 1e6)
    // One end marker per shard (the worker reports at a key starting with 'end').
    const endKeys = []
    for (let s = 0; s < shards; s++) {
      let k = 0
      while (workers.shardFor(`end${k}`) !== s) k++
      endKeys[s] = `end${k}`
    }
    for (const k of endKeys) {
      while (!workers.trySend(k, workers.allocate(k), 0)) await new Promise((resolve) => setImmediate(resolve))
    }
    await all
    const total = reports.reduce((a, r) => a + r.count, 0)
    assert.equal(total, 1e6, 'nothing lost')
    assert.equal(reports.reduce((a, r) => a + r.bad, 0), 0, 'every key in send order')
    assert.equal(reports.reduce((a, r) => a + r.sum, 0), expectedSum, 'every body intact')
    assert.equal(reports.reduce((a, r) => a + r.keys, 0), 1000)
    const res = await workers.close()
    assert.equal(res.handled, 1e6 + shards)
    assert.deepEqual(res.undelivered, [])
  })
}

test('backpressure: a full lane throws ERR_REACTOR_BACKPRESSURE (trySend: false), nothing is lost', async () => {
  const gate = new SharedArrayBuffer(4)
  const workers = await ShardedWorkers.start(ORDER, { shards: 1, laneCapacity: 8, entrySizeBytes: 32, workerData: { gate } })
  try {
    const reports = []
    const done = new Promise((resolve) => workers.onMessage((key, view) => resolve(reports.push(report(view)))))
    const body = (v) => new Uint8Array(new Uint32Array([v]).buffer)
    for (let i = 1; i <= 8; i++) workers.sendBytes('k', body(i))
    const err = assert.throws(() => workers.sendBytes('k', body(9)), (e) => {
      assert.equal(e.code, 'ERR_REACTOR_BACKPRESSURE')
      assert.equal(e.shardId, 0)
      assert.equal(e.depth, 8)
      assert.equal(e.capacity, 8)
      return true
    })
    void err
    const slot = workers.allocate('k')
    slot.buffer.set(body(9))
    assert.throws(() => workers.send('k', slot), { code: 'ERR_REACTOR_BACKPRESSURE' })
    assert.equal(workers.trySend('k', slot), false)
    assert.equal(slot.buffer.byteLength, 32, 'a refused slot stays the producer\'s, view attached')
    assert.equal(workers.sendBatch(['k', 'k'], new Uint8Array(8), [4, 4]), 0)
    const t = workers.telemetry()
    assert.deepEqual(t.queueDepths, [8])
    assert.ok(t.rejectedEnqueues[0] >= 4)
    Atomics.store(new Int32Array(gate), 0, 1)
    while (!workers.trySend('k', slot, 4)) await new Promise((resolve) => setTimeout(resolve, 1))
    let v = 10
    while (v <= 100) {
      if (workers.sendBatch(['k'], body(v), [4]) === 1) v++
      else await new Promise((resolve) => setImmediate(resolve))
    }
    while (!workers.trySend('end', workers.allocate('end'), 0)) await new Promise((resolve) => setImmediate(resolve))
    await done
    assert.deepEqual(reports[0], { count: 100, bad: 0, keys: 1, sum: (100 * 101) / 2 })
  } finally {
    await workers.close()
  }
})

test('synthetic topology (8 packages, 16 NUMA nodes): each shard\'s core, node and slot memory follow the plan', async () => {
  const topology = ReactorTopologySnapshot.synthetic('pack:8 numa:2 core:2 pu:1')
  const plan = ReactorPlacementManifest.plan(16, topology)
  assert.equal(plan.numaNodeCount, 16)
  assert.deepEqual(plan.bindings.map((b) => b.numaNode), Array.from({ length: 16 }, (_, s) => s))
  const workers = await ShardedWorkers.start(ECHO, { shards: 4, topology, enforcement: 'advisory', slabCapacity: 16 })
  try {
    const t = workers.telemetry()
    assert.deepEqual(t.shards.map((s) => [s.coreId, s.numaNode, s.memoryNode]), workers.manifest.bindings.map((b) => [b.coreId, b.numaNode, b.numaNode]))
    assert.deepEqual(t.shards.map((s) => s.numaNode), [0, 1, 2, 3], 'shard s on node s mod 16')
    for (const key of ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h']) {
      const slot = workers.allocate(key)
      assert.equal(slot.handle.nodeId, t.shards[workers.shardFor(key)].numaNode, 'a key\'s slot is on its shard\'s node')
    }
  } finally {
    await workers.close()
  }
})

test('bad input: coded TypeError/RangeError, nothing sent', async () => {
  await assert.rejects(ShardedWorkers.start(42), { code: 'ERR_INVALID_ARG_TYPE' })
  await assert.rejects(ShardedWorkers.start(ECHO, { shards: 0 }), { code: 'ERR_OUT_OF_RANGE' })
  await assert.rejects(ShardedWorkers.start(ECHO, { shards: 1.5 }), { code: 'ERR_OUT_OF_RANGE' })
  await assert.rejects(ShardedWorkers.start(ECHO, { shards: '2' }), { code: 'ERR_INVALID_ARG_TYPE' })
  await assert.rejects(ShardedWorkers.start(ECHO, { enforcement: 'always' }), { code: 'ERR_INVALID_ARG_VALUE' })
  await assert.rejects(ShardedWorkers.start(ECHO, { topology: {} }), { code: 'ERR_INVALID_ARG_TYPE' })
  await assert.rejects(ShardedWorkers.start(ECHO, { laneCapacity: -1 }), { code: 'ERR_OUT_OF_RANGE' })
  await assert.rejects(ShardedWorkers.start(ECHO, { record: 'yes' }), { code: 'ERR_INVALID_ARG_TYPE' })
  await assert.rejects(ShardedWorkers.start(path.join(__dirname, 'fixtures', 'workers', 'missing.js'), { shards: 1 }))
  assert.throws(() => new ShardedWorkers(), { code: 'ERR_ILLEGAL_CONSTRUCTOR' })
  const workers = await ShardedWorkers.start(ECHO, { shards: 1, entrySizeBytes: 16 })
  try {
    const received = collector(workers)
    assert.throws(() => workers.sendBytes(1, Buffer.alloc(1)), { code: 'ERR_INVALID_ARG_TYPE', name: 'TypeError' })
    assert.throws(() => workers.sendBytes('k', 'text'), { code: 'ERR_INVALID_ARG_TYPE' })
    assert.throws(() => workers.sendBytes('k', Buffer.alloc(17)), { code: 'ERR_OUT_OF_RANGE', name: 'RangeError' })
    assert.throws(() => workers.send('k', null), { code: 'ERR_INVALID_ARG_TYPE' })
    assert.throws(() => workers.send('k', { nodeId: 0, slotIndex: -1, generation: 1 }), { code: 'ERR_OUT_OF_RANGE' })
    assert.throws(() => workers.send('k', { nodeId: 9, slotIndex: 0, generation: 1 }), { code: 'ERR_SLAB_STALE_HANDLE' })
    assert.throws(() => workers.send('k', workers.allocate('k'), 17), { code: 'ERR_OUT_OF_RANGE' })
    assert.throws(() => workers.sendBatch('k', Buffer.alloc(1), [1]), { code: 'ERR_INVALID_ARG_TYPE' })
    assert.throws(() => workers.sendBatch(['k'], Buffer.alloc(1), [2]), { code: 'ERR_OUT_OF_RANGE' })
    assert.throws(() => workers.sendBatch(['k', 'k'], Buffer.alloc(2), [1]), { code: 'ERR_OUT_OF_RANGE' })
    assert.throws(() => workers.sendBatch(['k', 3], Buffer.alloc(2), [1, 1]), { code: 'ERR_INVALID_ARG_TYPE' })
    assert.throws(() => workers.sendBatch(['k'], Buffer.alloc(2), [NaN]), { code: 'ERR_OUT_OF_RANGE' })
    assert.throws(() => workers.onMessage(5), { code: 'ERR_INVALID_ARG_TYPE' })
    assert.throws(() => workers.shardFor({}), { code: 'ERR_INVALID_ARG_TYPE' })
    assert.throws(() => workers.undelivered(5), { code: 'ERR_OUT_OF_RANGE' })
    assert.throws(() => workers.trace(0), { code: 'ERR_NOT_RECORDING' })
    assert.throws(() => ShardedWorkers.prototype.sendBytes.call({}, 'k', Buffer.alloc(1)), { code: 'ERR_INVALID_THIS' })
    await assert.rejects(workers.restart(0), { code: 'ERR_INVALID_ARG_VALUE' })
    await assert.rejects(workers.restart(3), { code: 'ERR_OUT_OF_RANGE' })
    // Nothing above reached the worker.
    const wait = next(workers, 'ok', received)
    workers.sendBytes('ok', Buffer.from('1'))
    await wait
    assert.deepEqual(received.all.map((m) => m.key), ['ok'])
  } finally {
    const res = await workers.close()
    assert.equal(res.handled, 1)
  }
  assert.throws(() => workers.sendBytes('k', Buffer.alloc(1)), { code: 'ERR_WORKERS_CLOSED' })
  await assert.rejects(workers.restart(0), { code: 'ERR_WORKERS_CLOSED' })
})

test('the README counter service example runs and counts per key', () => {
  const { execFileSync } = require('node:child_process')
  const out = execFileSync(process.execPath, [path.join(__dirname, '..', 'examples', 'counter.js')], { encoding: 'utf8', timeout: 20000 })
  assert.match(out, /sent 6;/)
  assert.match(out, /handled: 6, undelivered: 0, totals: \{ alice: 3, bob: 4, carol: 5 \}/)
})

test('an ES module worker file imports { shard } from seqloop/worker', async () => {
  const workers = await ShardedWorkers.start(path.join(__dirname, 'fixtures', 'workers', 'esm.mjs'), { shards: 1 })
  try {
    const got = new Promise((resolve) => workers.onMessage((key, view) => resolve([key, Buffer.from(view).toString()])))
    workers.sendBytes('hi', Buffer.from('there'))
    assert.deepEqual(await got, ['hi:0', 'there'])
  } finally {
    await workers.close()
  }
})
