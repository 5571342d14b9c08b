'use strict'
// ReactorMesh (API.md §6; behaviors.md §5).

const test = require('node:test')
const assert = require('node:assert/strict')

const {
  ReactorMesh,
  ReactorMeshTelemetry,
  ReactorPlacementManifest,
  ReactorTopologySnapshot,
  ThreadAffinityAdvice,
} = require('..')

const ok = (value) => ({ type: 'success', value })
const pairs = (p) => ReactorTopologySnapshot.fromCoreNodePairs(p)

const { throwsCode, seeded } = require('./helpers.js')

// FNV-1a 64 of the UTF-8 bytes, in BigInt: an independent model of the routing.
function fnv1a64(s) {
  let h = 0xcbf29ce484222325n
  for (const b of Buffer.from(s, 'utf8')) h = ((h ^ BigInt(b)) * 0x100000001b3n) & 0xffffffffffffffffn
  return h
}

test('defaults and clamping', () => {
  const m = new ReactorMesh()
  assert.equal(m.shardCount, 4)
  assert.equal(m.totalDepth(), 0)
  assert.equal(m.hasPending(), false)
  assert.equal(new ReactorMesh({}).shardCount, 4)
  // Zero shards / zero capacity clamp to 1.
  const z = new ReactorMesh({ shardCount: 0, laneCapacity: 0 })
  assert.equal(z.shardCount, 1)
  z.enqueueEvent('a')
  throwsCode(() => z.enqueueEvent('b'), 'ERR_REACTOR_BACKPRESSURE', Error)
  assert.equal(z.placementManifest().shardCount, 1)
})

test('hostcalls route by FNV-1a 64 of the call id (HR1 and vectors)', () => {
  assert.equal(fnv1a64(''), 0xcbf29ce484222325n)
  assert.equal(fnv1a64('foobar'), 0x85944171f73967e8n)
  const m8 = new ReactorMesh({ shardCount: 8, laneCapacity: 64 })
  const a = m8.enqueueHostcallComplete('call-affinity', ok(1))
  const b = m8.enqueueHostcallComplete('call-affinity', ok(2))
  assert.equal(a.shardId, 0)
  assert.equal(b.shardId, a.shardId)
  assert.equal(b.shardSeq, a.shardSeq + 1)
  const m4 = new ReactorMesh({ shardCount: 4 })
  assert.equal(m4.enqueueHostcallComplete('call-a', ok(null)).shardId, 3)
  assert.equal(m4.enqueueHostcallComplete('call-b', ok(null)).shardId, 2)
  assert.equal(m4.enqueueHostcallComplete('call-1', ok(null)).shardId, 3)
  // Any id, including non-ASCII, routes as the BigInt model says.
  const m7 = new ReactorMesh({ shardCount: 7, laneCapacity: 1000 })
  for (const id of ['', 'x', 'héllo', '日本語', 'call-42', '\u{1F600}']) {
    assert.equal(m7.enqueueHostcallComplete(id, ok(null)).shardId, Number(fnv1a64(id) % 7n), id)
  }
})

test('events route round-robin from shard 0 (RR1, RR2)', () => {
  const m = new ReactorMesh({ shardCount: 3 })
  const ids = []
  for (let i = 0; i < 6; i++) ids.push(m.enqueueEvent(`e${i}`, { i }).shardId)
  assert.deepEqual(ids, [0, 1, 2, 0, 1, 2])
  const m4 = new ReactorMesh({ shardCount: 4 })
  for (let i = 0; i < 4; i++) m4.enqueueEvent(`e${i}`, null)
  assert.deepEqual([0, 1, 2, 3].map((s) => m4.queueDepth(s)), [1, 1, 1, 1])
  // Hostcalls do not move the cursor.
  const m2 = new ReactorMesh({ shardCount: 2 })
  m2.enqueueEvent('x')
  m2.enqueueHostcallComplete('c1', ok(1))
  m2.enqueueHostcallComplete('c2', ok(1))
  assert.equal(m2.enqueueEvent('y').shardId, 1)
})

test('envelopes carry a Macrotask without seq', () => {
  const m = new ReactorMesh({ shardCount: 4 })
  const h = m.enqueueHostcallComplete('call-1', ok({ result: 42 }))
  assert.deepEqual(h, {
    globalSeq: 0,
    shardSeq: 0,
    shardId: 3,
    task: { kind: 'hostcall_complete', callId: 'call-1', outcome: { type: 'success', value: { result: 42 } } },
  })
  const e = m.enqueueEvent('evt-1', { n: [1, 'two', null] })
  assert.deepEqual(e, { globalSeq: 1, shardSeq: 0, shardId: 0, task: { kind: 'inbound_event', eventId: 'evt-1', payload: { n: [1, 'two', null] } } })
  const u = m.enqueueEvent('evt-2')
  assert.equal(u.task.payload, null)
  const err = m.enqueueHostcallComplete('err-call', { type: 'error', code: 'E_TIMEOUT', message: 'Request timed out' })
  const chunk = m.enqueueHostcallComplete('s', { type: 'stream_chunk', sequence: 3, chunk: 'abc', isFinal: true })
  const drained = m.drainGlobalOrder(100)
  assert.deepEqual(drained, [h, e, u, err, chunk])
  assert.deepEqual(drained[3].task.outcome, { type: 'error', code: 'E_TIMEOUT', message: 'Request timed out' })
  assert.deepEqual(drained[4].task.outcome, { type: 'stream_chunk', sequence: 3, chunk: 'abc', isFinal: true })
})

test('a full lane throws ERR_REACTOR_BACKPRESSURE and keeps what is queued (BP1)', () => {
  const m = new ReactorMesh({ shardCount: 1, laneCapacity: 2 })
  m.enqueueEvent('evt-0')
  m.enqueueEvent('evt-1')
  const err = throwsCode(() => m.enqueueEvent('evt-overflow'), 'ERR_REACTOR_BACKPRESSURE', Error)
  assert.equal(err.shardId, 0)
  assert.equal(err.depth, 2)
  assert.equal(err.capacity, 2)
  assert.equal(typeof err.message, 'string')
  const t = m.telemetry()
  assert.ok(t instanceof ReactorMeshTelemetry)
  assert.equal(t.rejectedEnqueues, 1)
  assert.deepEqual(t.maxQueueDepths, [2])
  assert.deepEqual(t.queueDepths, [2])
  assert.deepEqual(m.drainShard(0, 10).map((e) => e.task.eventId), ['evt-0', 'evt-1'])
  // The rejected enqueue used up global seq 2 and shard seq 2.
  const next = m.enqueueEvent('evt-3')
  assert.equal(next.globalSeq, 3)
  assert.equal(next.shardSeq, 3)
  // The high-water mark is never lowered.
  assert.deepEqual(m.telemetry().maxQueueDepths, [2])
  assert.deepEqual(m.telemetry().queueDepths, [1])
})

test('backpressure on a hostcall names its shard, and the cursor moves on rejection', () => {
  const m = new ReactorMesh({ shardCount: 4, laneCapacity: 1 })
  m.enqueueHostcallComplete('call-a', ok(1))
  const err = throwsCode(() => m.enqueueHostcallComplete('call-a', ok(2)), 'ERR_REACTOR_BACKPRESSURE')
  assert.equal(err.shardId, 3)
  assert.equal(err.depth, 1)
  assert.equal(err.capacity, 1)
  const rr = new ReactorMesh({ shardCount: 2, laneCapacity: 1 })
  rr.enqueueEvent('a') // shard 0
  rr.enqueueEvent('b') // shard 1
  assert.equal(throwsCode(() => rr.enqueueEvent('c'), 'ERR_REACTOR_BACKPRESSURE').shardId, 0)
  rr.drainShard(0, 1)
  assert.equal(throwsCode(() => rr.enqueueEvent('d'), 'ERR_REACTOR_BACKPRESSURE').shardId, 1)
  assert.equal(rr.enqueueEvent('e').shardId, 0)
})

test('depth queries (DQ1, DQ2)', () => {
  const m = new ReactorMesh({ shardCount: 4 })
  assert.deepEqual([0, 1, 2, 3].map((s) => m.queueDepth(s)), [0, 0, 0, 0])
  assert.equal(m.queueDepth(99), null)
  assert.equal(m.queueDepth(2 ** 40), null)
  const m3 = new ReactorMesh({ shardCount: 3, laneCapacity: 16 })
  assert.equal(m3.shardCount, 3)
  assert.equal(m3.totalDepth(), 0)
  assert.equal(m3.hasPending(), false)
  m3.enqueueEvent('a')
  m3.enqueueEvent('b')
  assert.equal(m3.totalDepth(), 2)
  assert.equal(m3.hasPending(), true)
})

test('drainShard: FIFO by budget; unknown shard gives [] (DS1)', () => {
  const m = new ReactorMesh({ shardCount: 2 })
  m.enqueueEvent('only')
  assert.deepEqual(m.drainShard(99, 10), [])
  assert.equal(m.totalDepth(), 1)
  for (let i = 0; i < 5; i++) m.enqueueHostcallComplete('same', ok(i))
  const shard = m.enqueueHostcallComplete('same', ok(5)).shardId
  const first = m.drainShard(shard, 2)
  assert.deepEqual(first.map((e) => e.task.outcome.value), [0, 1])
  assert.deepEqual(m.drainShard(shard, 0), [])
  assert.deepEqual(m.drainShard(shard, 100).map((e) => e.task.outcome.value), [2, 3, 4, 5])
})

test('drainGlobalOrder merges shards by global seq (DG1)', () => {
  const m = new ReactorMesh({ shardCount: 4 })
  const seqs = [
    m.enqueueEvent('evt-1'),
    m.enqueueHostcallComplete('call-a', ok(1)),
    m.enqueueEvent('evt-2'),
    m.enqueueHostcallComplete('call-b', ok(2)),
  ]
  assert.deepEqual(seqs.map((e) => e.shardId), [0, 3, 1, 2])
  const drained = m.drainGlobalOrder(16)
  assert.deepEqual(drained.map((e) => e.globalSeq), [0, 1, 2, 3])
  assert.deepEqual(drained, seqs)
  assert.equal(m.hasPending(), false)
  assert.deepEqual(m.drainGlobalOrder(16), [])
})

test('drainGlobalOrder stays ascending through mixed shard drains (seeded)', () => {
  const rand = seeded(0x9e3779b9)
  for (const shards of [1, 3, 8]) {
    const m = new ReactorMesh({ shardCount: shards, laneCapacity: 8 })
    const live = new Set()
    for (let step = 0; step < 400; step++) {
      const op = rand(5)
      try {
        if (op <= 1) live.add(m.enqueueHostcallComplete(`call-${rand(50)}`, ok(step)).globalSeq)
        else if (op === 2) live.add(m.enqueueEvent(`evt-${step}`, step).globalSeq)
        else if (op === 3) for (const e of m.drainShard(rand(shards + 1), rand(4))) assert.ok(live.delete(e.globalSeq))
        else {
          const got = m.drainGlobalOrder(rand(6)).map((e) => e.globalSeq)
          const want = [...live].sort((a, b) => a - b).slice(0, got.length)
          assert.deepEqual(got, want)
          for (const g of got) live.delete(g)
        }
      } catch (err) {
        if (err.code !== 'ERR_REACTOR_BACKPRESSURE') throw err
      }
      assert.equal(m.totalDepth(), live.size)
      assert.ok(m.totalDepth() <= shards * 8)
    }
  }
})

test('telemetry without topology (TL1)', () => {
  const m = new ReactorMesh({ shardCount: 2, laneCapacity: 8 })
  const t = m.telemetry()
  assert.deepEqual(t.queueDepths, [0, 0])
  assert.deepEqual(t.maxQueueDepths, [0, 0])
  assert.equal(t.rejectedEnqueues, 0)
  assert.equal(t.fallbackReason, 'topology_unavailable')
  assert.deepEqual(t.shardBindings, [
    { shardId: 0, coreId: 0, numaNode: 0 },
    { shardId: 1, coreId: 1, numaNode: 0 },
  ])
  const j = t.asJson()
  assert.deepEqual(Object.keys(j).sort(), ['fallback_reason', 'max_queue_depths', 'queue_depths', 'rejected_enqueues', 'shard_bindings'])
  assert.equal(j.queue_depths.length, 2)
  assert.equal(j.rejected_enqueues, 0)
  assert.equal(j.shard_bindings.length, 2)
  assert.ok('fallback_reason' in j)
  assert.equal(j.fallback_reason, 'topology_unavailable')
  // A snapshot: later enqueues do not change it.
  m.enqueueEvent('e')
  assert.deepEqual(t.queueDepths, [0, 0])
  assert.deepEqual(m.telemetry().asJson().queue_depths, [1, 0])
})

test('telemetry with a single-node topology (TL2)', () => {
  const m = new ReactorMesh({ shardCount: 2, laneCapacity: 4, topology: pairs([[10, 0], [11, 0]]) })
  m.enqueueEvent('e')
  const j = m.telemetry().asJson()
  assert.equal(j.fallback_reason, 'single_numa_node')
  assert.deepEqual(j.shard_bindings, [
    { shard_id: 0, core_id: 10, numa_node: 0 },
    { shard_id: 1, core_id: 11, numa_node: 0 },
  ])
  assert.deepEqual(j.queue_depths, [1, 0])
  assert.deepEqual(j.max_queue_depths, [1, 0])
})

test('manifest, preferred NUMA node and affinity through the mesh (MM1-MM3)', () => {
  const m1 = new ReactorMesh({ shardCount: 3, laneCapacity: 8, topology: pairs([[2, 0], [3, 0]]) })
  const manifest = m1.placementManifest()
  assert.ok(manifest instanceof ReactorPlacementManifest)
  const j = manifest.asJson()
  assert.equal(j.shard_count, 3)
  assert.equal(j.numa_node_count, 1)
  assert.equal(j.fallback_reason, 'single_numa_node')
  assert.equal(j.bindings.length, 3)
  assert.deepEqual(j.bindings.map((b) => b.core_id), [2, 3, 2])

  const m2 = new ReactorMesh({ shardCount: 3, topology: pairs([[0, 0], [4, 1], [8, 2]]) })
  assert.deepEqual([0, 1, 2, 99, 2 ** 40].map((s) => m2.preferredNumaNode(s)), [0, 1, 2, 0, 0])

  const m3 = new ReactorMesh({ shardCount: 2, topology: pairs([[0, 0], [1, 1]]) })
  const advice = m3.affinityAdvice('disabled')
  assert.equal(advice.length, 2)
  assert.ok(advice.every((a) => a instanceof ThreadAffinityAdvice && a.enforcement === 'disabled'))
  assert.deepEqual(advice.map((a) => a.asJson()), [
    { shard_id: 0, recommended_core: 0, recommended_numa_node: 0, enforcement: 'disabled' },
    { shard_id: 1, recommended_core: 1, recommended_numa_node: 1, enforcement: 'disabled' },
  ])
})

test('a mesh over a synthetic multi-node topology spreads shards over nodes', () => {
  const t = ReactorTopologySnapshot.synthetic('pack:2 numa:2 core:4 pu:2')
  const m = new ReactorMesh({ shardCount: 8, topology: t })
  assert.deepEqual([0, 1, 2, 3, 4].map((s) => m.preferredNumaNode(s)), [0, 1, 2, 3, 0])
  assert.equal(m.telemetry().fallbackReason, null)
})

test('arguments are validated with coded errors', () => {
  throwsCode(() => new ReactorMesh(5), 'ERR_INVALID_ARG_TYPE', TypeError)
  throwsCode(() => new ReactorMesh({ shardCount: 'x' }), 'ERR_INVALID_ARG_TYPE', TypeError)
  throwsCode(() => new ReactorMesh({ shardCount: -1 }), 'ERR_OUT_OF_RANGE', RangeError)
  throwsCode(() => new ReactorMesh({ shardCount: 1e6 }), 'ERR_OUT_OF_RANGE', RangeError)
  throwsCode(() => new ReactorMesh({ laneCapacity: NaN }), 'ERR_OUT_OF_RANGE', RangeError)
  throwsCode(() => new ReactorMesh({ topology: { cores: [] } }), 'ERR_INVALID_ARG_TYPE', TypeError)
  const m = new ReactorMesh()
  throwsCode(() => m.enqueueHostcallComplete(1, ok(1)), 'ERR_INVALID_ARG_TYPE', TypeError)
  throwsCode(() => m.enqueueHostcallComplete('c'), 'ERR_INVALID_ARG_TYPE', TypeError)
  throwsCode(() => m.enqueueHostcallComplete('c', { type: 'maybe' }), 'ERR_INVALID_ARG_TYPE', TypeError)
  throwsCode(() => m.enqueueEvent(undefined), 'ERR_INVALID_ARG_TYPE', TypeError)
  throwsCode(() => m.enqueueEvent('e', Symbol('s')), 'ERR_INVALID_ARG_TYPE', TypeError)
  throwsCode(() => m.enqueueHostcallComplete('c', ok(() => 1)), 'ERR_INVALID_ARG_TYPE', TypeError)
  throwsCode(() => m.drainShard(-1, 1), 'ERR_OUT_OF_RANGE', RangeError)
  throwsCode(() => m.drainShard(0), 'ERR_INVALID_ARG_TYPE', TypeError)
  throwsCode(() => m.drainGlobalOrder(Infinity), 'ERR_OUT_OF_RANGE', RangeError)
  throwsCode(() => m.queueDepth('0'), 'ERR_INVALID_ARG_TYPE', TypeError)
  throwsCode(() => m.preferredNumaNode(-2), 'ERR_OUT_OF_RANGE', RangeError)
  throwsCode(() => m.affinityAdvice('sometimes'), 'ERR_INVALID_ARG_VALUE', TypeError)
  // Nothing was queued by the failed calls.
  assert.equal(m.totalDepth(), 0)
  assert.equal(m.enqueueEvent('first').globalSeq, 0)
})

test('one call drains many envelopes; huge budgets are fine', () => {
  const m = new ReactorMesh({ shardCount: 64, laneCapacity: 1024 })
  for (let i = 0; i < 5000; i++) m.enqueueEvent(`e${i}`, i)
  const out = m.drainGlobalOrder(Number.MAX_SAFE_INTEGER)
  assert.equal(out.length, 5000)
  assert.ok(out.every((e, i) => e.globalSeq === i && e.task.payload === i))
})
