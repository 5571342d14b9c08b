'use strict'
// Slab handles through the ReactorMesh: zero-copy message bodies (API.md §7 last item), and
// NumaSlabPool.fromManifest (§7, behaviours §9.1 PO1–PO3).
// Run with: node --test --expose-gc __test__/slab_mesh.test.js

const { test } = require('node:test')
const assert = require('node:assert/strict')

const {
  NumaSlabPool,
  ReactorMesh,
  ReactorPlacementManifest,
  ReactorTopologySnapshot,
} = require('..')

const OFF = { enabled: false }
const pairs = (list) => ReactorTopologySnapshot.fromCoreNodePairs(list)
const TWO_NODES = [[0, 0], [1, 0], [2, 1], [3, 1]]

const { throwsCode } = require('./helpers.js')

/** A message body that differs per message and per byte. */
function message (i, len) {
  const m = new Uint8Array(len)
  for (let b = 0; b < len; b++) m[b] = (i * 31 + b * 7) & 0xff
  return m
}

function sameBytes (view, offset, expected) {
  for (let b = 0; b < expected.length; b++) {
    if (view[offset + b] !== expected[b]) return `byte ${b}: ${view[offset + b]} !== ${expected[b]}`
  }
  return null
}

test('API shape', () => {
  assert.equal(typeof NumaSlabPool.fromManifest, 'function')
  const pool = NumaSlabPool.fromNodes([0], { regionViews: true })
  const poolMethods = ['allocate', 'allocateInto', 'allocateMany', 'deallocate', 'deallocateMany', 'regionView', 'readInto', 'writeFrom', 'isLive', 'offsetOf', 'view']
  for (const m of poolMethods) assert.equal(typeof pool[m], 'function', m)
  assert.equal(pool.entrySizeBytes, 512)
  assert.equal(pool.slabCapacity, 256)
  assert.equal(pool.regionViewsEnabled, true)
  assert.equal(NumaSlabPool.fromNodes([0]).regionViewsEnabled, false, 'region views are opt-in')
  const mesh = new ReactorMesh()
  const meshMethods = ['enqueueSlot', 'tryEnqueueSlot', 'enqueueSlots', 'drainSlots', 'drainSlotsGlobalOrder']
  for (const m of meshMethods) assert.equal(typeof mesh[m], 'function', m)
  // One form per operation: no second API beside the methods, nothing enumerable on instances
  // (even after a call, which gives the instance its own bound copies of the hot methods).
  assert.equal(mesh.tryEnqueueSlot(null, 0, 0, 1), true)
  assert.equal(pool.isLive(0, 0, 1), false)
  for (const o of [pool, mesh]) {
    assert.equal(o.fastPaths, undefined)
    assert.deepEqual(Object.keys(o), [])
  }
  assert.equal(NumaSlabPool.prototype.allocateMany.name, 'allocateMany')
})

test('returned data is plain data: handles and telemetry keep their fields when spread or serialized', () => {
  const mesh = new ReactorMesh({ shardCount: 2, laneCapacity: 1 })
  const pool = NumaSlabPool.fromNodes([0], { slabCapacity: 2, entrySizeBytes: 8, hugepage: OFF })
  const a = pool.allocate(0)
  assert.deepEqual(Object.keys(a.handle), ['nodeId', 'slotIndex', 'generation'])
  assert.deepEqual({ ...a.handle }, JSON.parse(JSON.stringify(a.handle)))
  mesh.enqueueSlot('k', a.handle)
  assert.equal(mesh.tryEnqueueSlot('k', a.handle), false)
  const mt = mesh.telemetry()
  const mfields = { ...mt }
  assert.deepEqual(Object.keys(mfields), ['queueDepths', 'maxQueueDepths', 'rejectedEnqueues', 'shardBindings', 'fallbackReason'])
  assert.equal(mfields.rejectedEnqueues, 1)
  assert.deepEqual(mfields.queueDepths.reduce((x, y) => x + y), 1)
  assert.deepEqual(JSON.parse(JSON.stringify(mt)), JSON.parse(JSON.stringify(mfields)))
  assert.equal(mt.asJson().rejected_enqueues, 1, 'asJson() is a method, not a field')
  const pt = pool.telemetry()
  assert.deepEqual({ ...pt }, {
    nodeCount: 1, totalAllocs: 1, totalFrees: 0, totalInUse: 1, retiredSlots: 0, crossNodeAllocs: 0, hugepageBackedAllocs: 0,
  })
  assert.deepEqual(JSON.parse(JSON.stringify(pt)), { ...pt })
  assert.equal(pt.asJson().total_allocs, 1)
})

test('fromManifest: PO1–PO3, one slab per distinct node ascending, node 0 without bindings', () => {
  const cfg = { slabCapacity: 4, entrySizeBytes: 64, hugepage: OFF }
  // PO1
  assert.equal(NumaSlabPool.fromManifest(ReactorPlacementManifest.plan(4, pairs(TWO_NODES)), cfg).nodeCount, 2)
  // PO2
  const p2 = NumaSlabPool.fromManifest(ReactorPlacementManifest.plan(4), cfg)
  assert.equal(p2.nodeCount, 1)
  assert.deepEqual(p2.nodeIds, [0])
  // PO3
  const p3 = NumaSlabPool.fromManifest(ReactorPlacementManifest.plan(3, pairs([[0, 0], [1, 1], [2, 2]])), cfg)
  assert.equal(p3.nodeCount, 3)
  assert.deepEqual(p3.nodeIds, [0, 1, 2])
  // No bindings at all, default config, a mesh's own manifest, nodes that are not 0-based.
  assert.deepEqual(NumaSlabPool.fromManifest(ReactorPlacementManifest.plan(0)).nodeIds, [0])
  assert.equal(NumaSlabPool.fromManifest(ReactorPlacementManifest.plan(0)).entrySizeBytes, 512)
  const mesh = new ReactorMesh({ shardCount: 4, topology: pairs(TWO_NODES) })
  assert.deepEqual(NumaSlabPool.fromManifest(mesh.placementManifest(), cfg).nodeIds, [0, 1])
  assert.deepEqual(NumaSlabPool.fromManifest(ReactorPlacementManifest.plan(2, pairs([[9, 5], [1, 3]])), cfg).nodeIds, [3, 5])
  // Config is applied as for fromNodes.
  const p = NumaSlabPool.fromManifest(ReactorPlacementManifest.plan(2), { slabCapacity: 3, entrySizeBytes: 40, hugepage: OFF })
  assert.equal(p.allocate(0).buffer.byteLength, 40)
  assert.equal(p.telemetry().asJson().config.slab_capacity, 3)
  // Errors.
  for (const bad of [undefined, null, 4, 'manifest', {}, { bindings: [] }, pairs(TWO_NODES), mesh]) {
    throwsCode(() => NumaSlabPool.fromManifest(bad), 'ERR_INVALID_ARG_TYPE', TypeError)
  }
  throwsCode(() => NumaSlabPool.fromManifest(ReactorPlacementManifest.plan(1), 5), 'ERR_INVALID_ARG_TYPE', TypeError)
  throwsCode(() => NumaSlabPool.fromManifest(ReactorPlacementManifest.plan(1), { regionViews: 1 }), 'ERR_INVALID_ARG_TYPE', TypeError)
  throwsCode(() => NumaSlabPool.fromManifest(ReactorPlacementManifest.plan(1), { entrySizeBytes: 0 }), 'ERR_OUT_OF_RANGE', RangeError)
  throwsCode(
    () => NumaSlabPool.fromManifest(ReactorPlacementManifest.plan(1, pairs([[0, 2 ** 40]])), { hugepage: OFF }),
    'ERR_OUT_OF_RANGE',
    RangeError,
  )
})

test('end to end with the typed API: producer → mesh → consumer → reply → producer, byte for byte', () => {
  const mesh = new ReactorMesh({ shardCount: 4, laneCapacity: 64, topology: pairs(TWO_NODES) })
  const pool = NumaSlabPool.fromManifest(mesh.placementManifest(), { slabCapacity: 32, entrySizeBytes: 512, hugepage: OFF })
  const keys = ['orders', 'quotes', 'fills', 'audit']
  const sent = new Map() // "node/slot/gen" → message index
  const buffers = []
  // Slots route like hostcall completions: a probe completion tells each key's shard.
  const shardOf = new Map(keys.map((k) => [`probe-${k}`, mesh.enqueueHostcallComplete(`probe-${k}`, { type: 'success', value: null }).shardId]))
  assert.equal(mesh.drainGlobalOrder(10).length, 4)
  for (let i = 0; i < 40; i++) {
    const key = keys[i % keys.length]
    const shard = shardOf.get(`probe-${key}`)
    const a = pool.allocate(mesh.preferredNumaNode(shard))
    assert.equal(a.crossNodeReason, null)
    a.buffer.set(message(i, 512))
    assert.equal(mesh.enqueueSlot(`probe-${key}`, a.handle), shard, 'enqueueSlot routes by FNV-1a like hostcall completions')
    sent.set(`${a.handle.nodeId}/${a.handle.slotIndex}/${a.handle.generation}`, i)
    buffers.push(a.buffer)
  }
  // Consumers: each shard drains handles compactly, reads the producer's bytes through a view of
  // the same memory, writes a reply in place and sends the slot back on a reply mesh.
  const replies = new ReactorMesh({ shardCount: 2, laneCapacity: 64 })
  const out = new Float64Array(3 * 64)
  let seen = 0
  for (let s = 0; s < 4; s++) {
    const n = mesh.drainSlots(s, 64, out)
    for (let k = 0; k < n; k++) {
      const handle = { nodeId: out[3 * k], slotIndex: out[3 * k + 1], generation: out[3 * k + 2] }
      const i = sent.get(`${handle.nodeId}/${handle.slotIndex}/${handle.generation}`)
      assert.notEqual(i, undefined)
      const v = pool.view(handle)
      assert.equal(v.buffer, buffers[i].buffer, 'the consumer sees the producer\'s own buffer: no copy')
      assert.equal(sameBytes(v, 0, message(i, 512)), null)
      const got = new Uint8Array(512)
      assert.equal(pool.readInto(handle, got), 512)
      assert.deepEqual(got, message(i, 512))
      v.set(message(i + 1000, 512))
      replies.enqueueSlot(null, handle)
      seen++
    }
  }
  assert.equal(seen, 40)
  // The producer gets the replies in global order and finds the consumer's bytes in its own
  // buffers; then it frees the slots, which detaches those buffers.
  const n = replies.drainSlotsGlobalOrder(1000, out.subarray(0, 3 * 40))
  assert.equal(n, 40)
  for (let k = 0; k < n; k++) {
    const i = sent.get(`${out[3 * k]}/${out[3 * k + 1]}/${out[3 * k + 2]}`)
    assert.equal(sameBytes(buffers[i], 0, message(i + 1000, 512)), null)
  }
  assert.equal(pool.deallocateMany(out, n), 40)
  assert.ok(buffers.every((b) => b.byteLength === 0), 'every view of a freed slot is detached')
  assert.equal(pool.telemetry().totalInUse, 0)
  assert.equal(mesh.totalDepth() + replies.totalDepth(), 0)
})

test('end to end with handles as numbers (allocateInto, enqueueSlot) and one region view per node', () => {
  const mesh = new ReactorMesh({ shardCount: 2, laneCapacity: 256, topology: pairs(TWO_NODES) })
  const pool = NumaSlabPool.fromManifest(mesh.placementManifest(), { slabCapacity: 64, entrySizeBytes: 512, hugepage: OFF, regionViews: true })
  const regions = pool.nodeIds.map((n) => pool.regionView(n))
  assert.ok(regions.every((r) => r.byteLength === 64 * 512))
  const h = new Float64Array(3)
  const out = new Float64Array(3 * 256)
  const sums = new Map()
  for (let round = 0; round < 5; round++) {
    // Producer: 100 messages, each written straight into its slot through the region view.
    for (let i = 0; i < 100; i++) {
      const id = round * 100 + i
      const off = pool.allocateInto(i % 2, h, 0)
      assert.ok(off >= 0)
      assert.equal(off, h[1] * 512)
      regions[h[0]].set(message(id, 512), off)
      const shard = mesh.enqueueSlot(i % 2 ? 'odd' : 'even', h[0], h[1], h[2])
      assert.ok(shard >= 0)
      sums.set(`${h[0]}/${h[1]}/${h[2]}`, id)
    }
    // Consumer: drain each shard, check every byte where the handle says, reply, free.
    let drained = 0
    for (let s = 0; s < 2; s++) {
      const n = mesh.drainSlots(s, 256, out)
      for (let k = 0; k < n; k++) {
        const [node, slot, gen] = [out[3 * k], out[3 * k + 1], out[3 * k + 2]]
        const id = sums.get(`${node}/${slot}/${gen}`)
        assert.notEqual(id, undefined)
        const off = pool.offsetOf(node, slot, gen)
        assert.equal(off, slot * 512, 'live: its offset in the region')
        assert.equal(sameBytes(regions[node], off, message(id, 512)), null)
        // The reverse direction: the consumer writes through writeFrom, the producer side reads
        // through the region view and through readInto.
        assert.equal(pool.writeFrom(node, slot, gen, message(id + 7, 100)), 100)
        assert.equal(sameBytes(regions[node], off, message(id + 7, 100)), null)
        const back = new Uint8Array(600)
        assert.equal(pool.readInto(node, slot, gen, back), 512)
        assert.equal(sameBytes(back, 0, message(id + 7, 100)), null)
        assert.equal(sameBytes(back, 100, message(id, 512).subarray(100)), null)
      }
      assert.equal(pool.deallocateMany(out, n), n)
      drained += n
    }
    assert.equal(drained, 100)
    assert.equal(pool.telemetry().totalInUse, 0)
  }
  assert.equal(pool.telemetry().totalAllocs, 500)
  assert.equal(pool.telemetry().crossNodeAllocs, 0)
})

test('backpressure: a full lane keeps the slot with the producer, nothing lost or leaked', () => {
  const mesh = new ReactorMesh({ shardCount: 1, laneCapacity: 2 })
  const pool = NumaSlabPool.fromNodes([0], { slabCapacity: 8, entrySizeBytes: 64, hugepage: OFF })
  const queued = []
  for (let i = 0; i < 2; i++) {
    const a = pool.allocate(0)
    a.buffer.fill(i + 1)
    mesh.enqueueSlot('k', a.handle)
    queued.push(a)
  }
  const c = pool.allocate(0)
  c.buffer.fill(0xcc)
  assert.throws(() => mesh.enqueueSlot('k', c.handle), (e) => {
    assert.equal(e.code, 'ERR_REACTOR_BACKPRESSURE')
    assert.deepEqual([e.shardId, e.depth, e.capacity], [0, 2, 2])
    return true
  })
  // tryEnqueueSlot: false, no error object (same arguments: a handle or its three numbers).
  assert.equal(mesh.tryEnqueueSlot('k', c.handle), false)
  assert.equal(mesh.tryEnqueueSlot(null, c.handle.nodeId, c.handle.slotIndex, c.handle.generation), false)
  assert.equal(mesh.telemetry().rejectedEnqueues, 3)
  // The producer still owns a live, intact slot and can free it.
  assert.equal(pool.isLive(c.handle), true)
  assert.ok(c.buffer.every((b) => b === 0xcc))
  assert.equal(pool.deallocate(c.handle), true)
  assert.equal(c.buffer.byteLength, 0)
  // The queued ones were not touched.
  const out = new Float64Array(12)
  assert.equal(mesh.drainSlots(0, 10, out), 2)
  assert.deepEqual(Array.from(out.subarray(0, 6)), queued.flatMap((a) => [a.handle.nodeId, a.handle.slotIndex, a.handle.generation]))
  queued.forEach((a, i) => assert.ok(a.buffer.every((b) => b === i + 1)))
  assert.equal(pool.deallocateMany(out, 2), 2)
  assert.equal(pool.telemetry().totalInUse, 0, 'no slot leaked')
  assert.equal(pool.telemetry().totalFrees, 3)
})

test('batches: allocateMany → enqueueSlots → drainSlots → deallocateMany; a full lane stops the batch, the rest stays with the producer', () => {
  const mesh = new ReactorMesh({ shardCount: 2, laneCapacity: 4 })
  const pool = NumaSlabPool.fromNodes([0], { slabCapacity: 16, entrySizeBytes: 64, hugepage: OFF, regionViews: true })
  const region = pool.regionView(0)
  const batch = new Float64Array(3 * 6)
  assert.equal(pool.allocateMany(0, batch, 6), 6)
  for (let k = 0; k < 6; k++) region.set(message(k, 64), batch[3 * k + 1] * 64)
  // One key: all six go to one shard of capacity 4, so the batch stops after four.
  assert.equal(mesh.enqueueSlots('one-key', batch, 6), 4)
  assert.equal(mesh.enqueueSlots('one-key', batch.subarray(12), 2), 0, 'still full')
  assert.equal(mesh.totalDepth(), 4)
  assert.equal(mesh.telemetry().rejectedEnqueues, 2, 'one rejection per stopped batch')
  // Handles 4 and 5 were not queued: still live, still the producer's, freed by it.
  const rest = batch.slice(12, 18)
  assert.equal(pool.offsetOf(rest[0], rest[1], rest[2]), rest[1] * 64)
  assert.equal(pool.deallocateMany(rest, 2), 2)
  const shard = mesh.telemetry().queueDepths.indexOf(4)
  const out = new Float64Array(3 * 8)
  assert.equal(mesh.drainSlots(shard, 8, out), 4)
  assert.deepEqual(Array.from(out.subarray(0, 12)), Array.from(batch.subarray(0, 12)), 'in batch order')
  for (let k = 0; k < 4; k++) assert.equal(sameBytes(region, out[3 * k + 1] * 64, message(k, 64)), null)
  assert.equal(pool.deallocateMany(out, 4), 4)
  assert.equal(pool.telemetry().totalInUse, 0)
  // Round-robin batches spread over the shards; a bad triple queues nothing.
  assert.equal(pool.allocateMany(0, batch, 4), 4)
  assert.equal(mesh.enqueueSlots(null, batch, 4), 4)
  assert.deepEqual(mesh.telemetry().queueDepths, [2, 2])
  throwsCode(() => mesh.enqueueSlots(null, new Float64Array([0, 1, 1, 0, -1, 1]), 2), 'ERR_OUT_OF_RANGE', RangeError)
  throwsCode(() => mesh.enqueueSlots(null, new Float64Array([0, 2 ** 32, 1]), 1), 'ERR_OUT_OF_RANGE', RangeError)
  throwsCode(() => mesh.enqueueSlots(null, batch, 7), 'ERR_OUT_OF_RANGE', RangeError)
  throwsCode(() => mesh.enqueueSlots(null, [0, 0, 1], 1), 'ERR_INVALID_ARG_TYPE', TypeError)
  assert.equal(mesh.totalDepth(), 4)
  assert.equal(pool.deallocateMany(out, mesh.drainSlotsGlobalOrder(8, out)), 4)
})

test('stale handles after free: refused everywhere, old views detached, region view is only a raw window', () => {
  const mesh = new ReactorMesh({ shardCount: 1, laneCapacity: 8 })
  const pool = NumaSlabPool.fromNodes([0], { slabCapacity: 2, entrySizeBytes: 32, hugepage: OFF, regionViews: true })
  const region = pool.regionView(0)
  const a = pool.allocate(0)
  a.buffer.fill(0x11)
  mesh.enqueueSlot('k', a.handle)
  // A buggy producer frees after sending; another tenant takes the slot.
  assert.equal(pool.deallocate(a.handle), true)
  assert.equal(a.buffer.byteLength, 0)
  const b = pool.allocate(0)
  assert.equal(b.handle.slotIndex, a.handle.slotIndex)
  b.buffer.fill(0x22)
  const out = new Float64Array(3)
  assert.equal(mesh.drainSlots(0, 1, out), 1)
  const [n, s, g] = out
  assert.deepEqual({ nodeId: n, slotIndex: s, generation: g }, a.handle)
  // Every checked path refuses the stale generation.
  assert.equal(pool.isLive(a.handle), false)
  assert.equal(pool.offsetOf(n, s, g), -1)
  assert.equal(pool.readInto(n, s, g, new Uint8Array(32)), -1)
  assert.equal(pool.writeFrom(n, s, g, new Uint8Array(32)), -1)
  // The same answers when the handle is given as an object: one rule per method.
  assert.equal(pool.offsetOf(a.handle), -1)
  assert.equal(pool.readInto(a.handle, new Uint8Array(32)), -1)
  assert.equal(pool.writeFrom(a.handle, new Uint8Array(32)), -1)
  assert.equal(pool.deallocate(a.handle), false)
  throwsCode(() => pool.view(a.handle), 'ERR_SLAB_STALE_HANDLE', Error)
  assert.equal(pool.deallocate(n, s, g), false)
  assert.equal(pool.deallocateMany(out, 1), 0)
  assert.ok(b.buffer.every((x) => x === 0x22), 'the new tenant is untouched')
  // The region view is the documented raw window: it shows the slot's current tenant and stays
  // attached across frees.
  assert.equal(region[s * 32], 0x22)
  assert.equal(pool.deallocate(b.handle.nodeId, b.handle.slotIndex, b.handle.generation), true)
  assert.equal(b.buffer.byteLength, 0, 'a free given as numbers detaches per-allocation views too')
  assert.equal(region.byteLength, 64)
  assert.equal(pool.deallocate(b.handle.nodeId, b.handle.slotIndex, b.handle.generation), false, 'double free')
  // Hostile numbers name no slot.
  for (const [hn, hs, hg] of [[7, 0, 1], [2 ** 40, 0, 1], [0, 2 ** 40, 1], [0, 5, 1], [0, 0, 0]]) {
    assert.equal(pool.offsetOf(hn, hs, hg), -1)
    assert.equal(pool.deallocate(hn, hs, hg), false)
  }
})

test('region views are opt-in, one per node, and bounded by the region', () => {
  const closed = NumaSlabPool.fromNodes([0, 1], { slabCapacity: 4, entrySizeBytes: 16, hugepage: OFF })
  throwsCode(() => closed.regionView(0), 'ERR_SLAB_REGION_VIEWS_DISABLED', Error)
  const pool = NumaSlabPool.fromNodes([0, 1], { slabCapacity: 4, entrySizeBytes: 16, hugepage: OFF, regionViews: true })
  const r0 = pool.regionView(0)
  assert.ok(r0 instanceof Uint8Array)
  assert.equal(r0.byteLength, 64)
  assert.equal(pool.regionView(0), r0, 'the same object while it lives')
  assert.notEqual(pool.regionView(1), r0)
  assert.equal(pool.regionView(2), null, 'a node that is not in the pool')
  throwsCode(() => pool.regionView('0'), 'ERR_INVALID_ARG_TYPE', TypeError)
  throwsCode(() => pool.regionView(-1), 'ERR_OUT_OF_RANGE', RangeError)
  // Slots sit at slotIndex * entrySizeBytes; per-slot buffers alias the region.
  const a = pool.allocate(0)
  const b = pool.allocate(0)
  b.buffer.fill(9)
  assert.equal(pool.offsetOf(b.handle), 16)
  assert.ok(r0.subarray(16, 32).every((x) => x === 9))
  r0[0] = 5
  assert.equal(a.buffer[0], 5)
  assert.equal(r0[64], undefined, 'V8 bounds the window to the region')
})

test('drains stop at the first envelope that is not a slot message; order is never broken', () => {
  const mesh = new ReactorMesh({ shardCount: 1, laneCapacity: 16 })
  const out = new Float64Array(30)
  mesh.enqueueSlot(null, { nodeId: 0, slotIndex: 1, generation: 1 })
  mesh.enqueueSlot('x', { nodeId: 0, slotIndex: 2, generation: 1 })
  mesh.enqueueEvent('json', { a: 1 })
  mesh.enqueueSlot(null, { nodeId: 0, slotIndex: 3, generation: 4 })
  assert.equal(mesh.drainSlots(0, 1, out), 1, 'budget')
  assert.equal(mesh.drainSlots(0, 10, out), 1, 'stops before the JSON event')
  assert.deepEqual(Array.from(out.subarray(0, 3)), [0, 2, 1])
  assert.equal(mesh.drainSlotsGlobalOrder(10, out), 0)
  const [ev, slot] = mesh.drainShard(0, 10)
  assert.deepEqual(ev.task, { kind: 'inbound_event', eventId: 'json', payload: { a: 1 } })
  assert.deepEqual(slot.task, { kind: 'inbound_event', eventId: '', payload: { nodeId: 0, slotIndex: 3, generation: 4 } })
  // out.length caps the budget; a detached or short array takes nothing.
  for (let i = 0; i < 4; i++) mesh.enqueueSlot(null, { nodeId: 0, slotIndex: i, generation: 1 })
  assert.equal(mesh.drainSlots(0, 100, new Float64Array(7)), 2)
  assert.equal(mesh.drainSlots(0, 100, new Float64Array(2)), 0)
  assert.equal(mesh.drainSlots(7, 100, out), 0, 'unknown shard')
  assert.equal(mesh.drainSlots(2 ** 40, 100, out), 0, 'unknown shard (raw numbers)')
  assert.equal(mesh.drainSlotsGlobalOrder(100, out), 2)
})

test('slot messages keep the key they were routed by as their eventId (keys are shared, never mixed up)', () => {
  const mesh = new ReactorMesh({ shardCount: 3, laneCapacity: 8192 })
  const keys = []
  // More distinct keys than the mesh keeps for reuse (4096), long keys (read past the 64-byte
  // stack buffer), non-ASCII keys and the empty key.
  for (let i = 0; i < 5000; i++) keys.push(i % 7 === 0 ? `ключ-${i}-${'x'.repeat(i % 100)}` : `k${i % 4500}`)
  keys.push('', 'k1')
  const want = []
  keys.forEach((key, i) => {
    const shard = mesh.enqueueSlot(key, 0, i, 1)
    want.push({ shard, key, i })
  })
  const batch = new Float64Array([0, 9000, 1, 0, 9001, 1])
  assert.equal(mesh.enqueueSlots('batch-key', batch, 2), 2)
  assert.equal(mesh.enqueueSlots(null, batch, 2), 2)
  const got = mesh.drainGlobalOrder(10000)
  assert.equal(got.length, keys.length + 4)
  want.forEach(({ shard, key, i }, n) => {
    const e = got[n]
    assert.deepEqual([e.shardId, e.task.eventId, e.task.payload.slotIndex], [shard, key, i], `message ${n}`)
  })
  assert.deepEqual(got.slice(-4).map((e) => e.task.eventId), ['batch-key', 'batch-key', '', ''])
  // One key, one shard, on every mesh of that shard count (FNV-1a of the key, M5).
  const fresh = new ReactorMesh({ shardCount: 3, laneCapacity: 8 })
  for (const key of ['k1', `ключ-7-${'x'.repeat(7)}`, '', 'batch-key']) {
    const a = mesh.enqueueSlot(key, 0, 1, 1)
    assert.equal(mesh.enqueueSlot(key, 0, 2, 1), a)
    assert.equal(fresh.enqueueSlot(key, 0, 3, 1), a)
  }
})

test('error codes of the slot API', () => {
  const mesh = new ReactorMesh({ shardCount: 2 })
  const pool = NumaSlabPool.fromNodes([0], { slabCapacity: 4, entrySizeBytes: 16, hugepage: OFF })
  const h = { nodeId: 0, slotIndex: 0, generation: 1 }
  for (const bad of [5, {}, Symbol('k'), true]) {
    throwsCode(() => mesh.enqueueSlot(bad, h), 'ERR_INVALID_ARG_TYPE', TypeError)
    throwsCode(() => mesh.enqueueSlot(bad, 0, 0, 1), 'ERR_INVALID_ARG_TYPE', TypeError)
  }
  for (const bad of [null, undefined, 5, 'h']) throwsCode(() => mesh.enqueueSlot('k', bad), 'ERR_INVALID_ARG_TYPE', TypeError)
  throwsCode(() => mesh.enqueueSlot('k', { nodeId: 2 ** 32, slotIndex: 0, generation: 1 }), 'ERR_OUT_OF_RANGE', RangeError)
  throwsCode(() => mesh.enqueueSlot('k', { nodeId: -1, slotIndex: 0, generation: 1 }), 'ERR_OUT_OF_RANGE', RangeError)
  throwsCode(() => mesh.enqueueSlot('k', 0, 2 ** 32, 1), 'ERR_OUT_OF_RANGE', RangeError)
  throwsCode(() => mesh.enqueueSlot('k', 0, 0, NaN), 'ERR_OUT_OF_RANGE', RangeError)
  throwsCode(() => mesh.enqueueSlot('k', '0', 0, 1), 'ERR_INVALID_ARG_TYPE', TypeError)
  for (const bad of [[0, 0, 0], new Float32Array(3), new Uint32Array(3), null]) {
    throwsCode(() => mesh.drainSlots(0, 1, bad), 'ERR_INVALID_ARG_TYPE', TypeError)
    throwsCode(() => mesh.drainSlotsGlobalOrder(1, bad), 'ERR_INVALID_ARG_TYPE', TypeError)
    throwsCode(() => pool.deallocateMany(bad, 0), 'ERR_INVALID_ARG_TYPE', TypeError)
    throwsCode(() => pool.allocateInto(0, bad), 'ERR_INVALID_ARG_TYPE', TypeError)
  }
  throwsCode(() => mesh.drainSlots(0, -1, new Float64Array(3)), 'ERR_OUT_OF_RANGE', RangeError)
  throwsCode(() => pool.allocateInto(0, new Float64Array(3), 1), 'ERR_OUT_OF_RANGE', RangeError)
  throwsCode(() => pool.allocateInto(0, new Float64Array(2)), 'ERR_OUT_OF_RANGE', RangeError)
  throwsCode(() => pool.allocateInto(-1, new Float64Array(3)), 'ERR_OUT_OF_RANGE', RangeError)
  throwsCode(() => pool.allocateMany(0, new Float64Array(6), 3), 'ERR_OUT_OF_RANGE', RangeError)
  throwsCode(() => pool.deallocateMany(new Float64Array(6), 3), 'ERR_OUT_OF_RANGE', RangeError)
  throwsCode(() => pool.deallocateMany(new Float64Array([0, -1, 1]), 1), 'ERR_OUT_OF_RANGE', RangeError)
  throwsCode(() => pool.readInto(h, [0, 0]), 'ERR_INVALID_ARG_TYPE', TypeError)
  throwsCode(() => pool.writeFrom(h, new Uint16Array(2)), 'ERR_INVALID_ARG_TYPE', TypeError)
  throwsCode(() => pool.readInto(0, 0, 1, new Int8Array(2)), 'ERR_INVALID_ARG_TYPE', TypeError)
  throwsCode(() => pool.offsetOf(0, 0, -1), 'ERR_OUT_OF_RANGE', RangeError)
  // allocateMany fills what it can and says how many.
  const many = new Float64Array(15)
  assert.equal(pool.allocateMany(0, many, 5), 4)
  const tag = many[2] - 1 // generations are poolTag × 2^32 + count (S6)
  assert.ok(tag >= 2 ** 32 && tag % 2 ** 32 === 0, 'the pool tag')
  assert.deepEqual(Array.from(many.subarray(0, 12)), [0, 0, tag + 1, 0, 1, tag + 1, 0, 2, tag + 1, 0, 3, tag + 1])
  assert.equal(pool.allocateInto(0, many), -1, 'full')
  assert.equal(pool.deallocateMany(many, 4), 4)
  // Buffers (Uint8Array subclasses) are accepted as byte arrays.
  pool.allocateInto(0, many)
  assert.equal(pool.writeFrom(many[0], many[1], many[2], Buffer.from('hello')), 5)
  const back = Buffer.alloc(5)
  assert.equal(pool.readInto(many[0], many[1], many[2], back), 5)
  assert.equal(back.toString(), 'hello')
})

const { settleUnderGc: settle, requireGc } = require('./helpers.js')

test('GC: a region view keeps its region mapped after the pool is gone, then everything is unmapped', async () => {
  await settle(() => false)
  const regions0 = NumaSlabPool.liveRegions()
  const views0 = NumaSlabPool.liveViews()
  let region = (() => {
    const pool = NumaSlabPool.fromNodes([0, 1], { slabCapacity: 4, entrySizeBytes: 64, hugepage: OFF, regionViews: true })
    const a = pool.allocate(1)
    a.buffer.fill(0x5a)
    pool.regionView(0)
    return pool.regionView(1)
  })()
  await settle(() => NumaSlabPool.liveViews() <= views0 + 1)
  assert.equal(NumaSlabPool.liveViews(), views0 + 1, 'only the kept region view is left')
  assert.equal(NumaSlabPool.liveRegions(), regions0 + 1, 'its region is still mapped, the other is not')
  assert.ok(region.subarray(0, 64).every((x) => x === 0x5a))
  region[0] = 1
  region = null
  const done = await settle(() => NumaSlabPool.liveRegions() === regions0 && NumaSlabPool.liveViews() === views0)
  assert.ok(done, `regions ${NumaSlabPool.liveRegions()} (start ${regions0}), views ${NumaSlabPool.liveViews()} (start ${views0})`)
})

test('GC: methods taken off a pool that outlive the pool object still detach views on free', async () => {
  await settle(() => false)
  const regions0 = NumaSlabPool.liveRegions()
  let collected = false
  const registry = new FinalizationRegistry(() => { collected = true })
  let { fp, buffer, handle } = (() => {
    const pool = NumaSlabPool.fromNodes([0], { slabCapacity: 4, entrySizeBytes: 64, hugepage: OFF })
    registry.register(pool, 'pool')
    const a = pool.allocate(0)
    a.buffer.fill(7)
    pool.isLive(a.handle) // the first call gives the instance its own methods, bound to its state
    return { fp: { deallocate: pool.deallocate, allocateInto: pool.allocateInto }, buffer: a.buffer, handle: a.handle }
  })()
  assert.ok(await settle(() => collected), 'the pool object was collected')
  assert.equal(buffer.byteLength, 64)
  assert.ok(buffer.every((x) => x === 7))
  assert.equal(fp.deallocate(handle.nodeId, handle.slotIndex, handle.generation), true)
  assert.equal(buffer.byteLength, 0, 'V2 holds without the pool object')
  const h = new Float64Array(3)
  assert.equal(fp.allocateInto(0, h), 0, 'the slot is reused')
  assert.equal(h[2], handle.generation + 1)
  fp = buffer = handle = null
  const done = await settle(() => NumaSlabPool.liveRegions() === regions0)
  assert.ok(done, `regions ${NumaSlabPool.liveRegions()} (start ${regions0})`)
})

test('GC: pools, meshes, views and bound methods churned together return to baseline', async () => {
  await settle(() => false)
  const regions0 = NumaSlabPool.liveRegions()
  const views0 = NumaSlabPool.liveViews()
  ;(() => {
    const out = new Float64Array(3 * 16)
    for (let round = 0; round < 20; round++) {
      const mesh = new ReactorMesh({ shardCount: 2, laneCapacity: 8 })
      const pool = NumaSlabPool.fromNodes([0, 1], { slabCapacity: 8, entrySizeBytes: 32, hugepage: OFF, regionViews: round % 2 === 0 })
      const h = new Float64Array(3)
      for (let i = 0; i < 40; i++) {
        const a = i % 3 === 0 ? pool.allocate(i % 2) : null
        if (a) {
          a.buffer[0] = i
          if (!mesh.tryEnqueueSlot(`k${i}`, a.handle)) pool.deallocate(a.handle)
        } else if (pool.allocateInto(i % 2, h) >= 0) {
          if (!mesh.tryEnqueueSlot(null, h[0], h[1], h[2])) pool.deallocate(h[0], h[1], h[2])
        }
        if (i % 4 === 3) pool.deallocateMany(out, mesh.drainSlotsGlobalOrder(16, out))
      }
      if (round % 2 === 0) pool.regionView(round % 4 === 0 ? 0 : 1)
      if (round % 5 === 0) requireGc()()
    }
  })()
  const done = await settle(() => NumaSlabPool.liveRegions() === regions0 && NumaSlabPool.liveViews() === views0)
  assert.ok(done, `regions ${NumaSlabPool.liveRegions()} (start ${regions0}), views ${NumaSlabPool.liveViews()} (start ${views0})`)
})
