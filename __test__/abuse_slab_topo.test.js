'use strict'
// Issue 18 (sizes, foreign handles, synthetic topologies) and issue 15 (slab views moved by
// `ArrayBuffer.prototype.transfer()` on Node >= 22) for the slab, mesh and topology classes.
const { test } = require('node:test')
const assert = require('node:assert/strict')

const { NumaSlab, NumaSlabPool, ReactorMesh, ReactorTopologySnapshot } = require('..')

const { throwsCode } = require('./helpers.js')

test('sizes from JS never abort: NumaSlab, pool configs, mesh configs', () => {
  // Bookkeeping grows with use (S8), so the largest capacities cost nothing up front.
  const slab = new NumaSlab(0, 2 ** 31 - 1)
  assert.equal(slab.capacity, 2 ** 31 - 1)
  assert.equal(slab.allocate().slotIndex, 0)
  const max = new NumaSlab(0, 2 ** 32 - 1)
  assert.equal(max.hasCapacity(), true)
  throwsCode(() => new NumaSlab(0, 2 ** 32), 'ERR_OUT_OF_RANGE', RangeError)
  // A huge slab of tiny entries maps lazily and works.
  const pool = NumaSlabPool.fromNodes([0], { slabCapacity: 2 ** 32 - 1, entrySizeBytes: 1 })
  const a = pool.allocate(0)
  assert.equal(a.buffer.byteLength, 1)
  assert.equal(pool.deallocate(a.handle), true)
  // More than the host can map: a coded error, never an abort.
  for (const config of [
    { slabCapacity: 2 ** 32 - 1, entrySizeBytes: 2 ** 32 - 1 },
    { slabCapacity: 2 ** 31, entrySizeBytes: 2 ** 20 },
  ]) {
    assert.throws(() => NumaSlabPool.fromNodes([0, 1, 2], config),
      (e) => ['ERR_SLAB_REGION_FAILED', 'ERR_OUT_OF_RANGE'].includes(e.code), JSON.stringify(config))
  }
  throwsCode(() => NumaSlabPool.fromNodes([0], { slabCapacity: 2 ** 32 }), 'ERR_OUT_OF_RANGE', RangeError)
  throwsCode(() => NumaSlabPool.fromNodes([0], { entrySizeBytes: 2 ** 53 }), 'ERR_OUT_OF_RANGE', RangeError)
  // Mesh lanes grow on demand; the shard count is bounded.
  const mesh = new ReactorMesh({ shardCount: 65536, laneCapacity: 2 ** 53 - 1 })
  mesh.enqueueEvent('e', 1)
  assert.equal(mesh.drainGlobalOrder(2 ** 53 - 1).length, 1)
  throwsCode(() => new ReactorMesh({ shardCount: 2 ** 31 - 1 }), 'ERR_OUT_OF_RANGE', RangeError)
  throwsCode(() => new ReactorMesh({ laneCapacity: 2 ** 53 }), 'ERR_OUT_OF_RANGE', RangeError)
})

test('a handle is refused by every pool but its own (S6)', () => {
  const config = { slabCapacity: 4, entrySizeBytes: 8 }
  const mine = NumaSlabPool.fromNodes([0], config)
  const other = NumaSlabPool.fromNodes([0], config)
  const a = mine.allocate(0)
  const b = other.allocate(0)
  // Same node and slot, another pool: the numbers differ only in the generation's tag.
  assert.equal(a.handle.nodeId, b.handle.nodeId)
  assert.equal(a.handle.slotIndex, b.handle.slotIndex)
  assert.notEqual(a.handle.generation, b.handle.generation)
  const foreign = b.handle
  const triple = new Float64Array([foreign.nodeId, foreign.slotIndex, foreign.generation])
  assert.equal(mine.isLive(foreign), false)
  assert.equal(mine.deallocate(foreign), false)
  assert.equal(mine.deallocate(foreign.nodeId, foreign.slotIndex, foreign.generation), false)
  assert.equal(mine.isLive(foreign.nodeId, foreign.slotIndex, foreign.generation), false)
  assert.equal(mine.deallocateMany(triple, 1), 0)
  for (const h of [[foreign], [foreign.nodeId, foreign.slotIndex, foreign.generation]]) {
    assert.equal(mine.offsetOf(...h), -1)
    assert.equal(mine.readInto(...h, new Uint8Array(8)), -1)
    assert.equal(mine.writeFrom(...h, new Uint8Array(8)), -1)
  }
  for (const call of [
    () => mine.view(foreign), () => mine.readSlot(foreign), () => mine.writeSlot(foreign, new Uint8Array(1)),
  ]) throwsCode(call, 'ERR_SLAB_STALE_HANDLE', Error)
  // Nothing of this pool changed: its own handle is live and its view attached.
  assert.equal(mine.isLive(a.handle), true)
  assert.equal(a.buffer.byteLength, 8)
  assert.equal(mine.telemetry().totalInUse, 1)
  // Plain NumaSlabs are told apart the same way.
  const s1 = new NumaSlab(0, 2)
  const s2 = new NumaSlab(0, 2)
  const h1 = s1.allocate()
  const h2 = s2.allocate()
  assert.equal(s2.deallocate(h1), false)
  assert.equal(s2.inUse, 1)
  assert.equal(s1.deallocate(h1), true)
  assert.equal(s2.deallocate(h2), true)
  assert.ok(Number.isSafeInteger(h1.generation) && Number.isSafeInteger(h2.generation))
})

test('synthetic topologies: linear, bounded, coded beyond the bound', () => {
  // A million cores: built directly, no hwloc tree insertion (Y1–Y2).
  const big = ReactorTopologySnapshot.synthetic('pack:1000 core:1000 pu:1')
  const cores = big.cores
  assert.equal(cores.length, 1_000_000)
  assert.deepEqual(cores[999_999], { coreId: 999_999, numaNode: 0 })
  // Same answer as hwloc for a NUMA layout.
  const t = ReactorTopologySnapshot.synthetic('pack:2 numa:2 core:4 pu:2')
  assert.deepEqual(t.cores.slice(0, 5).map((c) => [c.coreId, c.numaNode]), [[0, 0], [2, 0], [4, 0], [6, 0], [8, 1]])
  for (const d of ['pack:1000 core:1000 pu:2', 'pack:99999999999999999999999 pu:1', 'pack:80 [numa] core:80 pu:1']) {
    throwsCode(() => ReactorTopologySnapshot.synthetic(d), 'ERR_OUT_OF_RANGE', RangeError)
  }
  for (const d of ['pu:2 core:4', 'pack:0 pu:1', 'bogus:2 pu:1', '', 'core:abc']) {
    throwsCode(() => ReactorTopologySnapshot.synthetic(d), 'ERR_INVALID_ARG_VALUE', TypeError)
  }
  // Memory children and attributes still go to hwloc when small.
  assert.equal(ReactorTopologySnapshot.synthetic('pack:2 [numa] core:2 pu:2').cores.length, 4)
})

test('fromCoreNodePairs: huge and sparse arrays are coded errors', () => {
  throwsCode(() => ReactorTopologySnapshot.fromCoreNodePairs(new Array(2 ** 32 - 1)), 'ERR_OUT_OF_RANGE', RangeError)
  throwsCode(() => ReactorTopologySnapshot.fromCoreNodePairs(new Array(2 ** 20 + 1)), 'ERR_OUT_OF_RANGE', RangeError)
  throwsCode(() => ReactorTopologySnapshot.fromCoreNodePairs(new Array(10)), 'ERR_INVALID_ARG_TYPE', TypeError)
  const pairs = Array.from({ length: 2 ** 16 }, (_, i) => [i, i & 1])
  assert.equal(ReactorTopologySnapshot.fromCoreNodePairs(pairs).cores.length, 2 ** 16)
})

test('a slab view moved by ArrayBuffer.prototype.transfer() never shows a later tenant (V2b)', { skip: typeof ArrayBuffer.prototype.transfer !== 'function' && 'no ArrayBuffer.prototype.transfer before Node 22' }, () => {
  const pool = NumaSlabPool.fromNodes([0], { slabCapacity: 2, entrySizeBytes: 8 })
  const a = pool.allocate(0)
  a.buffer.fill(1)
  const moved = new Uint8Array(a.buffer.buffer.transfer())
  assert.equal(a.buffer.byteLength, 0, 'transfer detached the original')
  assert.equal(moved.byteLength, 8)
  // view() still works while the allocation is live.
  assert.equal(pool.view(a.handle).byteLength, 8)
  assert.equal(pool.deallocate(a.handle), true)
  assert.equal(pool.telemetry().retiredSlots, 1, 'the slot is retired, not reused')
  // Every later allocation lands elsewhere; the moved buffer keeps its own bytes only.
  const b = pool.allocate(0)
  assert.equal(b.handle.slotIndex, 1)
  b.buffer.fill(9)
  assert.equal(pool.allocate(0), null, 'the retired slot never comes back')
  assert.ok(moved.every((x) => x === 1), 'no later tenant is visible through the moved buffer')
  // Transfer through view() of another allocation, then free by the handle's three numbers.
  const c = pool.view(b.handle)
  const moved2 = new Uint8Array(c.buffer.transfer())
  assert.equal(pool.deallocate(b.handle.nodeId, b.handle.slotIndex, b.handle.generation), true)
  assert.equal(pool.telemetry().retiredSlots, 2)
  assert.equal(pool.allocate(0), null)
  assert.ok(moved2.every((x) => x === 9))
})

test('a view left alone keeps working across frees: no false retirement', () => {
  const pool = NumaSlabPool.fromNodes([0], { slabCapacity: 1, entrySizeBytes: 8 })
  for (let i = 0; i < 1000; i++) {
    const a = pool.allocate(0)
    assert.ok(a, `allocation ${i}`)
    a.buffer[0] = i & 255
    assert.equal(pool.view(a.handle)[0], i & 255)
    assert.equal(pool.deallocate(a.handle), true)
    assert.equal(a.buffer.byteLength, 0)
  }
  assert.equal(pool.telemetry().retiredSlots, 0)
})
