'use strict'
// NUMA slabs and hugepage status through the built addon (API.md §5 HugepageStatus, §7).
// Run with: node --test --expose-gc __test__/slab.test.js

const { test } = require('node:test')
const assert = require('node:assert/strict')
const { MessageChannel } = require('node:worker_threads')

/** A handle's own allocation count: generations are `poolTag × 2^32 + count` (S6). */
const count = (generation) => generation % 2 ** 32

const { NumaSlab, NumaSlabPool, NumaSlabTelemetry, HugepageStatus } = require('..')

const OFF = { enabled: false }
const small = (extra = {}) => ({ slabCapacity: 4, entrySizeBytes: 32, hugepage: OFF, ...extra })

const { throwsCode } = require('./helpers.js')

test('API shape', () => {
  assert.equal(typeof NumaSlab, 'function')
  assert.equal(typeof NumaSlabPool.fromNodes, 'function')
  assert.equal(typeof NumaSlabPool.liveRegions, 'function')
  assert.equal(typeof NumaSlabPool.liveViews, 'function')
  assert.equal(typeof HugepageStatus.detect, 'function')
  assert.equal(typeof HugepageStatus.evaluate, 'function')
  const pool = NumaSlabPool.fromNodes([0])
  for (const m of ['allocate', 'deallocate', 'view', 'setHugepageStatus', 'hugepageStatus', 'telemetry', 'regions', 'readSlot', 'writeSlot']) {
    assert.equal(typeof pool[m], 'function', m)
  }
  assert.equal(pool.nodeCount, 1)
  const a = pool.allocate(0)
  assert.deepEqual(Object.keys(a).sort(), ['buffer', 'crossNodeReason', 'handle'])
  assert.deepEqual({ ...a.handle, generation: count(a.handle.generation) }, { nodeId: 0, slotIndex: 0, generation: 1 })
  assert.ok(Number.isSafeInteger(a.handle.generation) && a.handle.generation > 2 ** 32, 'S6: the pool tag is in the generation')
  assert.equal(a.crossNodeReason, null)
  assert.ok(a.buffer instanceof Uint8Array)
  assert.equal(a.buffer.byteLength, 512, 'default entrySizeBytes')
  assert.ok(pool.telemetry() instanceof NumaSlabTelemetry)
  assert.ok(pool.hugepageStatus() instanceof HugepageStatus)
  const slab = new NumaSlab(0, 2)
  for (const m of ['allocate', 'deallocate', 'hasCapacity']) assert.equal(typeof slab[m], 'function', m)
  assert.equal(slab.inUse, 0)
})

test('NumaSlab: NS1–NS8', () => {
  const s1 = new NumaSlab(0, 4)
  const h = s1.allocate()
  assert.deepEqual({ ...h, generation: count(h.generation) }, { nodeId: 0, slotIndex: 0, generation: 1 }) // NS1
  assert.equal(s1.deallocate(h), true)
  assert.equal(s1.inUse, 0)
  assert.equal(s1.deallocate(h), false) // NS4

  const s2 = new NumaSlab(0, 2)
  assert.ok(s2.allocate() && s2.allocate())
  assert.equal(s2.allocate(), null) // NS2

  const s3 = new NumaSlab(0, 2)
  const v1 = s3.allocate()
  assert.equal(s3.deallocate(v1), true)
  const v2 = s3.allocate()
  assert.deepEqual(v2, { nodeId: 0, slotIndex: 0, generation: v1.generation + 1 }) // NS3: LIFO reuse
  assert.equal(s3.deallocate(v1), false)
  assert.equal(s3.deallocate({ ...v2, nodeId: 99 }), false) // NS5
  assert.equal(s3.inUse, 1)

  const s6 = new NumaSlab(0, 8)
  const [a, b, c] = [s6.allocate(), s6.allocate(), s6.allocate()]
  assert.equal(s6.highWaterMark, 3)
  s6.deallocate(a); s6.deallocate(b); s6.deallocate(c)
  s6.allocate()
  assert.equal(s6.highWaterMark, 3) // NS6

  const s7 = new NumaSlab(0, 3)
  assert.deepEqual([s7.inUse, s7.hasCapacity()], [0, true])
  const h1 = s7.allocate()
  const h2 = s7.allocate()
  s7.allocate()
  assert.deepEqual([s7.inUse, s7.hasCapacity()], [3, false])
  assert.equal(s7.allocate(), null)
  s7.deallocate(h1)
  assert.deepEqual([s7.inUse, s7.hasCapacity()], [2, true])
  s7.deallocate(h2)
  assert.equal(s7.inUse, 1) // NS7

  const s8 = new NumaSlab(0, 0)
  assert.equal(s8.capacity, 1) // NS8
})

test('pool routing and telemetry (PO1, PA1, PA2/TJ1, TJ2)', () => {
  assert.equal(NumaSlabPool.fromNodes([0, 0, 1, 1]).nodeCount, 2)
  assert.equal(NumaSlabPool.fromNodes([]).nodeCount, 1)
  assert.deepEqual(NumaSlabPool.fromNodes([2, 0, 1]).nodeIds, [0, 1, 2])

  const p1 = NumaSlabPool.fromNodes([0, 1], { slabCapacity: 8, entrySizeBytes: 256, hugepage: OFF })
  const a = p1.allocate(1)
  assert.equal(a.handle.nodeId, 1)
  assert.equal(a.crossNodeReason, null)

  const p2 = NumaSlabPool.fromNodes([0, 1], { slabCapacity: 1, entrySizeBytes: 64, hugepage: OFF })
  assert.equal(p2.allocate(0).handle.nodeId, 0)
  const x = p2.allocate(0)
  assert.equal(x.handle.nodeId, 1)
  assert.equal(x.crossNodeReason, 'local_exhausted')
  assert.equal(p2.allocate(0), null, 'PA3: all full')
  const t = p2.telemetry()
  assert.equal(t.crossNodeAllocs, 1)
  const j = t.asJson()
  assert.equal(j.total_allocs, 2)
  assert.equal(j.local_allocs, 1)
  assert.equal(j.remote_allocs, 1)
  assert.deepEqual(j.allocation_ratio_bps, { scale: 10000, local: 5000, remote: 5000 })
  assert.deepEqual(j.latency_proxies_bps, { scale: 10000, tlb_miss_pressure: 5000, cache_miss_pressure: 10000, occupancy_pressure: 10000 })
  assert.deepEqual(j.pressure_bands, { tlb_miss: 'medium', cache_miss: 'high', occupancy: 'high' })
  assert.deepEqual(j.fallback_reasons, { cross_node: 'local_exhausted', hugepage: 'hugepage_disabled' })

  const p3 = NumaSlabPool.fromNodes([0, 0, 1, 1], { slabCapacity: 16, entrySizeBytes: 128, hugepage: OFF })
  p3.allocate(0); p3.allocate(1); p3.allocate(0)
  const k = p3.telemetry().asJson()
  assert.equal(k.node_count, 2)
  assert.equal(k.total_in_use, 3)
  assert.equal(k.latency_proxies_bps.cache_miss_pressure, 937)
  assert.equal(k.latency_proxies_bps.occupancy_pressure, 937)
  assert.deepEqual(k.pressure_bands, { tlb_miss: 'low', cache_miss: 'low', occupancy: 'low' })
  assert.deepEqual(Object.keys(k).sort(), [
    'allocation_ratio_bps', 'config', 'cross_node_allocs', 'fallback_reasons', 'hugepage', 'hugepage_backed_allocs',
    'hugepage_hit_rate_bps', 'latency_proxies_bps', 'local_allocs', 'node_count', 'per_node', 'pressure_bands',
    'remote_allocs', 'total_allocs', 'total_frees', 'total_in_use',
  ])
  assert.deepEqual(k.config, { slab_capacity: 16, entry_size_bytes: 128, hugepage_enabled: false, hugepage_page_size_bytes: 2097152 })
  assert.deepEqual(k.per_node[0], { node_id: 0, capacity: 16, in_use: 2, total_allocs: 2, total_frees: 0, high_water_mark: 2 })
})

test('hugepage status: evaluate, detect and the pool rules (HS1–HS4, HJ1, HP-a, HP-d, HP-l)', () => {
  const hs1 = HugepageStatus.evaluate({ enabled: false }, 1024, 512)
  assert.deepEqual([hs1.active, hs1.fallbackReason, hs1.totalPages, hs1.freePages], [false, 'hugepage_disabled', 1024, 512])
  assert.equal(HugepageStatus.evaluate(undefined, 0, 0).fallbackReason, 'detection_unavailable')
  assert.equal(HugepageStatus.evaluate({}, 1024, 0).fallbackReason, 'insufficient_hugepages')
  const hs4 = HugepageStatus.evaluate({}, 1024, 512)
  assert.deepEqual([hs4.active, hs4.fallbackReason, hs4.pageSizeBytes, hs4.thpMode], [true, null, 2097152, null])
  assert.deepEqual(HugepageStatus.evaluate({}, 1024, 128).asJson(), {
    total_pages: 1024, free_pages: 128, page_size_bytes: 2097152, active: true, fallback_reason: null,
  })
  const host = HugepageStatus.detect()
  assert.equal(host.active, host.fallbackReason === null)
  assert.ok(['always', 'madvise', 'never', null].includes(host.thpMode))
  assert.equal(HugepageStatus.detect({ enabled: false }).fallbackReason, 'hugepage_disabled')

  const hpa = NumaSlabPool.fromNodes([0], { slabCapacity: 3, entrySizeBytes: 1024, hugepage: { enabled: true, pageSizeBytes: 2048 } })
  assert.equal(hpa.hugepageStatus().fallbackReason, 'alignment_mismatch')
  assert.equal(hpa.telemetry().asJson().fallback_reasons.hugepage, 'alignment_mismatch')
  hpa.setHugepageStatus(HugepageStatus.evaluate({ pageSizeBytes: 2048 }, 256, 64)) // HP-c
  assert.deepEqual(hpa.hugepageStatus().asJson().total_pages, 0)

  const hpd = NumaSlabPool.fromNodes([0], { slabCapacity: 4, entrySizeBytes: 1024, hugepage: { enabled: false, pageSizeBytes: 4096 } })
  hpd.setHugepageStatus({ totalPages: 512, freePages: 256, pageSizeBytes: 4096, active: true, fallbackReason: null })
  const d = hpd.hugepageStatus()
  assert.deepEqual([d.active, d.fallbackReason, d.totalPages, d.freePages], [false, 'hugepage_disabled', 512, 256])

  const hpl = NumaSlabPool.fromNodes([0], { slabCapacity: 4, entrySizeBytes: 1024, hugepage: { enabled: true, pageSizeBytes: 4096 } })
  assert.equal(hpl.hugepageStatus().fallbackReason, 'detection_unavailable') // HP-b
  hpl.setHugepageStatus({ totalPages: 128, freePages: 64, pageSizeBytes: 4096, active: true })
  hpl.allocate(0); hpl.allocate(0)
  const l = hpl.telemetry().asJson()
  assert.equal(l.hugepage_backed_allocs, 2)
  assert.deepEqual(l.hugepage_hit_rate_bps, { scale: 10000, value: 10000 })
  assert.equal(l.hugepage.active, true)
})

test('hugepage status is plain data: spreading, Object.keys and JSON keep its fields (issue 16)', () => {
  const pool = NumaSlabPool.fromNodes([0], small({ entrySizeBytes: 1024, hugepage: { enabled: true, pageSizeBytes: 4096 } }))
  pool.setHugepageStatus({ totalPages: 128, freePages: 64, pageSizeBytes: 4096, active: true })
  const cases = [
    [HugepageStatus.evaluate({}, 1024, 512), { totalPages: 1024, freePages: 512, pageSizeBytes: 2097152, active: true, fallbackReason: null, thpMode: null }],
    [HugepageStatus.evaluate({ enabled: false }, 8, 2), { totalPages: 8, freePages: 2, pageSizeBytes: 2097152, active: false, fallbackReason: 'hugepage_disabled', thpMode: null }],
    [pool.hugepageStatus(), { totalPages: 128, freePages: 64, pageSizeBytes: 4096, active: true, fallbackReason: null, thpMode: null }],
  ]
  const host = HugepageStatus.detect()
  cases.push([host, { totalPages: host.totalPages, freePages: host.freePages, pageSizeBytes: host.pageSizeBytes, active: host.active, fallbackReason: host.fallbackReason, thpMode: host.thpMode }])
  for (const [status, fields] of cases) {
    assert.ok(status instanceof HugepageStatus)
    assert.deepEqual({ ...status }, fields)
    assert.deepEqual(Object.keys(status), Object.keys(fields))
    assert.deepEqual(JSON.parse(JSON.stringify(status)), fields)
    assert.deepEqual({ ...status, active: false }, { ...fields, active: false })
    // Read-only: the fields cannot drift from the native value behind asJson().
    assert.throws(() => { 'use strict'; status.totalPages = 1 }, TypeError)
    assert.equal(status.asJson().total_pages, fields.totalPages)
    // A spread copy is accepted wherever a status is.
    const copy = NumaSlabPool.fromNodes([0], small({ hugepage: { enabled: false, pageSizeBytes: fields.pageSizeBytes } }))
    copy.setHugepageStatus({ ...status })
    assert.deepEqual([copy.hugepageStatus().totalPages, copy.hugepageStatus().freePages], [fields.totalPages, fields.freePages])
    const fromInstance = NumaSlabPool.fromNodes([0], small({ hugepage: { enabled: false, pageSizeBytes: fields.pageSizeBytes } }))
    fromInstance.setHugepageStatus(status)
    assert.deepEqual({ ...fromInstance.hugepageStatus() }, { ...copy.hugepageStatus() })
  }
})

test('error codes', () => {
  const pool = NumaSlabPool.fromNodes([0], small())
  const { handle } = pool.allocate(0)
  // ERR_INVALID_ARG_TYPE
  throwsCode(() => NumaSlabPool.fromNodes('0'), 'ERR_INVALID_ARG_TYPE', TypeError)
  throwsCode(() => NumaSlabPool.fromNodes({ length: 1 }), 'ERR_INVALID_ARG_TYPE', TypeError)
  throwsCode(() => NumaSlabPool.fromNodes(['0']), 'ERR_INVALID_ARG_TYPE', TypeError)
  throwsCode(() => NumaSlabPool.fromNodes([0], 5), 'ERR_INVALID_ARG_TYPE', TypeError)
  throwsCode(() => NumaSlabPool.fromNodes([0], { slabCapacity: '4' }), 'ERR_INVALID_ARG_TYPE', TypeError)
  throwsCode(() => NumaSlabPool.fromNodes([0], { hugepage: { enabled: 1 } }), 'ERR_INVALID_ARG_TYPE', TypeError)
  throwsCode(() => NumaSlabPool.fromNodes([0], { hugepage: 'on' }), 'ERR_INVALID_ARG_TYPE', TypeError)
  throwsCode(() => pool.allocate('0'), 'ERR_INVALID_ARG_TYPE', TypeError)
  throwsCode(() => pool.allocate(), 'ERR_INVALID_ARG_TYPE', TypeError)
  for (const bad of [null, undefined, 5, 'h', Symbol('h')]) {
    throwsCode(() => pool.deallocate(bad), 'ERR_INVALID_ARG_TYPE', TypeError)
    throwsCode(() => pool.view(bad), 'ERR_INVALID_ARG_TYPE', TypeError)
  }
  throwsCode(() => pool.deallocate({ nodeId: 0, slotIndex: '0', generation: 1 }), 'ERR_INVALID_ARG_TYPE', TypeError)
  throwsCode(() => pool.deallocate({}), 'ERR_INVALID_ARG_TYPE', TypeError)
  throwsCode(() => pool.writeSlot(handle, [1, 2]), 'ERR_INVALID_ARG_TYPE', TypeError)
  throwsCode(() => pool.writeSlot(handle, new Uint16Array(2)), 'ERR_INVALID_ARG_TYPE', TypeError)
  throwsCode(() => pool.setHugepageStatus(1), 'ERR_INVALID_ARG_TYPE', TypeError)
  throwsCode(() => pool.setHugepageStatus({ totalPages: 1, freePages: 1, pageSizeBytes: 1, active: 'yes' }), 'ERR_INVALID_ARG_TYPE', TypeError)
  throwsCode(() => HugepageStatus.evaluate({}, '1', 1), 'ERR_INVALID_ARG_TYPE', TypeError)
  throwsCode(() => HugepageStatus.detect(7), 'ERR_INVALID_ARG_TYPE', TypeError)
  throwsCode(() => new NumaSlab('0', 1), 'ERR_INVALID_ARG_TYPE', TypeError)
  // ERR_OUT_OF_RANGE
  for (const bad of [-1, NaN, Infinity, 2 ** 53, 2 ** 32]) {
    throwsCode(() => pool.allocate(bad), 'ERR_OUT_OF_RANGE', RangeError)
    throwsCode(() => NumaSlabPool.fromNodes([bad]), 'ERR_OUT_OF_RANGE', RangeError)
    throwsCode(() => new NumaSlab(bad, 1), 'ERR_OUT_OF_RANGE', RangeError)
  }
  throwsCode(() => pool.deallocate({ nodeId: 0, slotIndex: -1, generation: 1 }), 'ERR_OUT_OF_RANGE', RangeError)
  throwsCode(() => pool.deallocate({ nodeId: 0, slotIndex: 0, generation: NaN }), 'ERR_OUT_OF_RANGE', RangeError)
  throwsCode(() => NumaSlabPool.fromNodes([0], { entrySizeBytes: 0 }), 'ERR_OUT_OF_RANGE', RangeError)
  throwsCode(() => NumaSlabPool.fromNodes([0], { entrySizeBytes: 2 ** 32 }), 'ERR_OUT_OF_RANGE', RangeError)
  throwsCode(() => NumaSlabPool.fromNodes([0], { slabCapacity: 2 ** 32 }), 'ERR_OUT_OF_RANGE', RangeError)
  throwsCode(() => NumaSlabPool.fromNodes([0], { slabCapacity: -4 }), 'ERR_OUT_OF_RANGE', RangeError)
  throwsCode(() => pool.writeSlot(handle, new Uint8Array(33)), 'ERR_OUT_OF_RANGE', RangeError)
  throwsCode(() => new NumaSlab(0, 2 ** 32), 'ERR_OUT_OF_RANGE', RangeError)
  // ERR_INVALID_ARG_VALUE
  throwsCode(
    () => pool.setHugepageStatus({ totalPages: 1, freePages: 1, pageSizeBytes: 1, active: true, fallbackReason: 'bogus' }),
    'ERR_INVALID_ARG_VALUE',
    TypeError,
  )
  // ERR_SLAB_STALE_HANDLE
  const stale = { ...handle, generation: handle.generation + 1 }
  throwsCode(() => pool.view(stale), 'ERR_SLAB_STALE_HANDLE', Error)
  throwsCode(() => pool.readSlot(stale), 'ERR_SLAB_STALE_HANDLE', Error)
  throwsCode(() => pool.writeSlot(stale, new Uint8Array(1)), 'ERR_SLAB_STALE_HANDLE', Error)
  throwsCode(() => pool.view({ nodeId: 2 ** 32, slotIndex: 0, generation: 1 }), 'ERR_SLAB_STALE_HANDLE', Error)
  // ERR_SLAB_REGION_FAILED: a footprint no address space can hold.
  for (const hugepage of [OFF, undefined]) {
    throwsCode(
      () => NumaSlabPool.fromNodes([0], { slabCapacity: 2 ** 32 - 1, entrySizeBytes: 2 ** 32 - 1, hugepage }),
      'ERR_SLAB_REGION_FAILED',
      Error,
    )
  }
})

test('bytes cross between JS and Rust without copies', () => {
  const pool = NumaSlabPool.fromNodes([0, 1], small())
  const a = pool.allocate(1)
  const b = pool.allocate(1)
  assert.equal(a.buffer.byteLength, 32)
  assert.ok(a.buffer.every((x) => x === 0), 'fresh memory is zeroed')
  a.buffer.set([1, 2, 3, 4])
  assert.deepEqual([...pool.readSlot(a.handle).subarray(0, 5)], [1, 2, 3, 4, 0], 'JS writes, Rust reads')
  pool.writeSlot(b.handle, Buffer.from('hello'))
  assert.equal(Buffer.from(b.buffer.buffer, b.buffer.byteOffset, 5).toString(), 'hello', 'Rust writes, JS reads')
  assert.deepEqual([...a.buffer.subarray(0, 4)], [1, 2, 3, 4], 'neighbouring slots do not overlap')
  const v = pool.view(a.handle)
  assert.equal(v.buffer, a.buffer.buffer, 'view() reuses the live buffer of the allocation')
  v[31] = 0xee
  assert.equal(a.buffer[31], 0xee)
  assert.equal(pool.readSlot(a.handle)[31], 0xee)
  // The buffer cannot be moved to another realm: transferring leaves it attached here. Node 20
  // copies it; Node >= 22 refuses the transfer with a DataCloneError. Neither aliases the slot.
  let moved = null
  try {
    moved = structuredClone(a.buffer, { transfer: [a.buffer.buffer] })
  } catch (e) {
    assert.equal(e.name, 'DataCloneError', e.message)
  }
  assert.equal(a.buffer.byteLength, 32)
  if (moved !== null) moved[0] = 99
  assert.equal(a.buffer[0], 1, 'a transfer copies or is refused, it does not alias')
  const { port1, port2 } = new MessageChannel()
  try {
    port1.postMessage(a.buffer, [a.buffer.buffer])
  } catch (e) {
    assert.ok(e instanceof Error)
  }
  port1.close(); port2.close()
  assert.equal(a.buffer.byteLength, 32)
})

test('deallocate detaches every view of that allocation', () => {
  const pool = NumaSlabPool.fromNodes([0], small({ slabCapacity: 2 }))
  const a = pool.allocate(0)
  const other = pool.allocate(0)
  const v1 = pool.view(a.handle)
  const v2 = pool.view(a.handle)
  const sub = a.buffer.subarray(8, 16)
  const dv = new DataView(a.buffer.buffer)
  a.buffer.fill(0x11)
  assert.equal(pool.deallocate(a.handle), true)
  for (const v of [a.buffer, v1, v2, sub]) assert.equal(v.byteLength, 0)
  assert.equal(a.buffer.buffer.byteLength, 0)
  assert.throws(() => dv.getUint8(0), TypeError)
  assert.equal(other.buffer.byteLength, 32, 'other allocations keep their views')
  // The slot is reused (LIFO); the old views can neither see nor write it.
  const b = pool.allocate(0)
  assert.equal(b.handle.slotIndex, a.handle.slotIndex)
  assert.equal(b.handle.generation, a.handle.generation + 1)
  a.buffer[0] = 0x77
  v1[1] = 0x77
  assert.equal(a.buffer[0], undefined)
  assert.deepEqual([...pool.readSlot(b.handle).subarray(0, 2)], [0x11, 0x11], 'new tenant untouched by old views')
  assert.equal(b.buffer.byteLength, 32)
  assert.notEqual(b.buffer.buffer, a.buffer.buffer)
})

test('stale, foreign and hostile handles are refused', () => {
  const pool = NumaSlabPool.fromNodes([0, 1], small({ slabCapacity: 2 }))
  const a = pool.allocate(0)
  assert.equal(pool.deallocate(a.handle), true)
  assert.equal(pool.deallocate(a.handle), false, 'double free')
  throwsCode(() => pool.view(a.handle), 'ERR_SLAB_STALE_HANDLE')
  const b = pool.allocate(0)
  assert.equal(pool.deallocate(a.handle), false, 'stale generation (ABA)')
  for (const h of [
    { ...b.handle, nodeId: 7 },
    { ...b.handle, nodeId: 2 ** 40 },
    { ...b.handle, slotIndex: 1 },
    { ...b.handle, slotIndex: 2 ** 31 },
    { ...b.handle, slotIndex: 2 ** 53 - 1 },
    { ...b.handle, generation: 0 },
    { ...b.handle, generation: Number.MAX_SAFE_INTEGER },
  ]) {
    assert.equal(pool.deallocate(h), false, JSON.stringify(h))
    throwsCode(() => pool.view(h), 'ERR_SLAB_STALE_HANDLE')
    throwsCode(() => pool.readSlot(h), 'ERR_SLAB_STALE_HANDLE')
  }
  // Fractional numbers are truncated like other ids; getters that throw surface as errors.
  assert.equal(pool.view({ nodeId: 0.5, slotIndex: b.handle.slotIndex + 0.9, generation: b.handle.generation }).byteLength, 32)
  const evil = { nodeId: 0, slotIndex: 0, get generation() { throw new Error('boom') } }
  assert.throws(() => pool.deallocate(evil))
  assert.equal(b.buffer.byteLength, 32, 'the live allocation is untouched by all of the above')
  assert.equal(pool.telemetry().totalInUse, 1)
})

test('regions report their backing, THP and NUMA outcome', (t) => {
  const pool = NumaSlabPool.fromNodes([0], { slabCapacity: 4096, entrySizeBytes: 512 }) // 2 MiB
  const hs = []
  for (let i = 0; i < 4096; i++) {
    const a = pool.allocate(0)
    a.buffer.fill(i & 0xff)
    hs.push(a.handle)
  }
  const [r] = pool.regions()
  assert.equal(r.bytes, 2 * 1024 * 1024)
  assert.ok(['explicit_hugepages', 'transparent_hugepages', 'base_pages'].includes(r.backing))
  assert.equal(typeof r.numaBound, 'boolean')
  assert.equal(r.numaBound, r.numaReason === null)
  if (r.backing === 'transparent_hugepages') assert.equal(r.thpAdvised, true)
  t.diagnostic(`region: ${JSON.stringify(r)}`)
  assert.equal(pool.readSlot(hs[4095])[0], 4095 & 0xff)
})

const { settleUnderGc: settle, requireGc } = require('./helpers.js')

test('finalizers: regions stay mapped while views live, and are unmapped after', async () => {
  await settle(() => false) // let earlier tests' garbage go first
  const regions0 = NumaSlabPool.liveRegions()
  const views0 = NumaSlabPool.liveViews()

  let kept = (() => {
    const pool = NumaSlabPool.fromNodes([0, 1], small())
    const a = pool.allocate(0)
    a.buffer.fill(0x5a)
    for (let i = 0; i < 3; i++) pool.view(pool.allocate(1).handle)
    const freed = pool.allocate(0)
    pool.view(freed.handle)
    pool.deallocate(freed.handle)
    assert.equal(NumaSlabPool.liveRegions(), regions0 + 2)
    return a.buffer
  })()
  // The pool is unreachable; the kept view must still read its bytes (region still mapped).
  await settle(() => NumaSlabPool.liveViews() <= views0 + 1)
  assert.equal(NumaSlabPool.liveViews(), views0 + 1, 'only the kept view is left')
  assert.ok(NumaSlabPool.liveRegions() >= regions0 + 1, 'its region is still mapped')
  assert.equal(kept.byteLength, 32)
  assert.ok(kept.every((x) => x === 0x5a))
  kept[0] = 1
  kept = null
  const done = await settle(() => NumaSlabPool.liveRegions() === regions0 && NumaSlabPool.liveViews() === views0)
  assert.ok(done, `regions ${NumaSlabPool.liveRegions()} (start ${regions0}), views ${NumaSlabPool.liveViews()} (start ${views0})`)
})

test('finalizers: many pools and views churned under GC', async () => {
  const gc = requireGc()
  await settle(() => false)
  const regions0 = NumaSlabPool.liveRegions()
  const views0 = NumaSlabPool.liveViews()
  // In a plain function: a suspended async frame may keep its locals reachable.
  ;(() => {
    for (let round = 0; round < 20; round++) {
      const pool = NumaSlabPool.fromNodes([0], small({ slabCapacity: 8 }))
      const live = []
      for (let i = 0; i < 50; i++) {
        const a = pool.allocate(0)
        if (a) live.push(a)
        if (live.length > 4) {
          const x = live.shift()
          pool.view(x.handle)[0] = i
          assert.equal(pool.deallocate(x.handle), true)
          assert.equal(x.buffer.byteLength, 0)
        }
      }
      if (round % 5 === 0) gc()
    }
  })()
  const done = await settle(() => NumaSlabPool.liveRegions() === regions0 && NumaSlabPool.liveViews() === views0)
  assert.ok(done, `regions ${NumaSlabPool.liveRegions()} (start ${regions0}), views ${NumaSlabPool.liveViews()} (start ${views0})`)
})
