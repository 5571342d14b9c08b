'use strict'
// The WebAssembly build (seqloop-wasm32-wasi, docs/wasm.md): what it does where the native addon
// uses the machine (hwloc, thread binding, mmap/mbind, libuv). When this file loads the native
// addon, it runs itself again in a child process with NAPI_RS_FORCE_WASI=1, if a wasm build is
// there (`scripts/build-wasm.sh` in a clone, or the installed package; scripts/ci-wasm.sh runs
// it against an install); without one, it skips.
const test = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const { spawnSync } = require('node:child_process')

const { throwsCode } = require('./helpers.js')

const ENTRY = path.join(__dirname, '..')
const seqloop = require('..')
const native = require(path.join(ENTRY, 'lib', 'native.js'))

/** Runs `script` with the wasm build forced, in `cwd`; its exit status, stdout and stderr. */
function forced(script, args = []) {
  const env = { ...process.env, NAPI_RS_FORCE_WASI: '1' }
  delete env.NODE_TEST_CONTEXT
  return spawnSync(process.execPath, [...args, '-e', script], { cwd: ENTRY, env, encoding: 'utf8' })
}

if (native.__napiBindingTarget !== 'wasm32-wasi') {
  const probe = forced(`require(${JSON.stringify(ENTRY)})`)
  const available = probe.status === 0
  test('the wasm build, in a child process with NAPI_RS_FORCE_WASI=1', { skip: !available && 'no wasm build here (scripts/build-wasm.sh)' }, () => {
    const env = { ...process.env, NAPI_RS_FORCE_WASI: '1' }
    delete env.NODE_TEST_CONTEXT
    const out = spawnSync(process.execPath, ['--test', '--expose-gc', '--test-reporter=tap', __filename], { env, encoding: 'utf8' })
    assert.equal(out.status, 0, out.stdout + out.stderr)
    assert.match(out.stdout, /^# pass [1-9]/m)
    assert.match(out.stdout, /^# fail 0$/m)
  })
  return
}

const {
  ReactorTopologySnapshot,
  ReactorPlacementManifest,
  ReactorMesh,
  bindCurrentThread,
  NumaSlabPool,
  EventLoop,
} = seqloop

test('loading the wasm build prints nothing (no WASI ExperimentalWarning) and it is the wasm binding', () => {
  const out = forced(
    `const n = require(${JSON.stringify(path.join(ENTRY, 'lib', 'native.js'))}); ` +
      `require(${JSON.stringify(ENTRY)}); process.stdout.write(n.__napiBindingTarget)`,
  )
  assert.equal(out.status, 0, out.stderr)
  assert.equal(out.stdout, 'wasm32-wasi')
  assert.equal(out.stderr, '')
  // Other warnings still reach the user.
  const other = forced(`require(${JSON.stringify(ENTRY)}); process.emitWarning('still here')`)
  assert.match(other.stderr, /Warning: still here/)
})

test('receivers: without type tags, a method on another class\'s instance is still ERR_INVALID_THIS', () => {
  const { WallClock, DeterministicClock, TimerQueue } = seqloop
  const wall = new WallClock()
  const fixed = new DeterministicClock(5)
  assert.equal(fixed.nowMs(), 5)
  assert.ok(wall.nowMs() > 1.6e12)
  throwsCode(() => WallClock.prototype.nowMs.call(fixed), 'ERR_INVALID_THIS', TypeError)
  throwsCode(() => DeterministicClock.prototype.nowMs.call(wall), 'ERR_INVALID_THIS', TypeError)
  throwsCode(() => DeterministicClock.prototype.nowMs.call({}), 'ERR_INVALID_THIS', TypeError)
  const pool = NumaSlabPool.fromNodes([0], { slabCapacity: 2, entrySizeBytes: 4 })
  const mesh = new ReactorMesh({ shardCount: 1 })
  // The hot methods installed per instance (raw N-API functions) check their receiver too.
  throwsCode(() => NumaSlabPool.prototype.allocateInto.call(mesh, 0, new Float64Array(3), 0), 'ERR_INVALID_THIS', TypeError)
  throwsCode(() => ReactorMesh.prototype.drainSlots.call(pool, 0, 1, new Float64Array(3)), 'ERR_INVALID_THIS', TypeError)
  throwsCode(() => TimerQueue.prototype.popDue.call(mesh, 0, new Float64Array(2)), 'ERR_INVALID_THIS', TypeError)
})

test('topology: detect() and synthetic() throw ERR_TOPOLOGY_UNAVAILABLE; bad descriptions keep their codes', () => {
  const e = throwsCode(() => ReactorTopologySnapshot.detect(), 'ERR_TOPOLOGY_UNAVAILABLE', Error)
  assert.match(e.message, /WebAssembly build .* has no hwloc/)
  assert.match(e.message, /fromCoreNodePairs/)
  for (const d of ['pack:2 numa:2 core:4 pu:2', 'core:2 pu:2']) {
    throwsCode(() => ReactorTopologySnapshot.synthetic(d), 'ERR_TOPOLOGY_UNAVAILABLE', Error)
  }
  throwsCode(() => ReactorTopologySnapshot.synthetic('pack:1024 core:1024 pu:2'), 'ERR_OUT_OF_RANGE', RangeError)
  throwsCode(() => ReactorTopologySnapshot.synthetic(''), 'ERR_INVALID_ARG_VALUE', TypeError)
  throwsCode(() => ReactorTopologySnapshot.synthetic(42), 'ERR_INVALID_ARG_TYPE', TypeError)
})

test('topology: explicit pairs and placement work as on native builds; no topology falls back', () => {
  const t = ReactorTopologySnapshot.fromCoreNodePairs([[3, 1], [0, 0], [1, 0], [2, 1]])
  assert.equal(t.source, 'pairs')
  const m = ReactorPlacementManifest.plan(4, t)
  assert.equal(m.numaNodeCount, 2)
  assert.equal(m.fallbackReason, null)
  assert.deepEqual(m.bindings.map((b) => [b.shardId, b.coreId, b.numaNode]), [[0, 0, 0], [1, 2, 1], [2, 1, 0], [3, 3, 1]])
  const none = ReactorPlacementManifest.plan(2)
  assert.equal(none.fallbackReason, 'topology_unavailable')
  assert.deepEqual(none.bindings.map((b) => [b.coreId, b.numaNode]), [[0, 0], [1, 0]])
})

test('bindCurrentThread: strict advice is not applied, with the reason', () => {
  const r = bindCurrentThread({ shardId: 0, recommendedCore: 0, recommendedNumaNode: 0, enforcement: 'strict' })
  assert.equal(r.applied, false)
  assert.match(r.reason, /WebAssembly build .* cannot bind a thread to core 0/)
  assert.equal(bindCurrentThread({ shardId: 0, recommendedCore: 0, recommendedNumaNode: 0, enforcement: 'advisory' }).applied, false)
})

test('slab pools: heap regions with the hugepage and NUMA reasons; handles and copies work, views are refused', () => {
  // 2 MiB per node: aligned to the default hugepage size, so only detection can say no.
  const pool = NumaSlabPool.fromNodes([0, 1], { slabCapacity: 2 ** 17, entrySizeBytes: 16, hugepages: { enabled: true } })
  assert.equal(pool.hugepageStatus().fallbackReason, 'detection_unavailable')
  const regions = pool.regions()
  assert.equal(regions.length, 2)
  for (const r of regions) {
    assert.equal(r.backing, 'base_pages')
    assert.equal(r.numaBound, false)
    assert.match(r.hugepageReason, /WebAssembly build has no hugepages/)
    assert.match(r.numaReason, /WebAssembly build cannot bind memory to a NUMA node/)
    assert.equal(r.bytes, 2 ** 21)
  }
  // No zero-copy view: refused before anything is allocated.
  throwsCode(() => pool.allocate(0), 'ERR_SLAB_EXTERNAL_BUFFERS_UNSUPPORTED', Error)
  assert.equal(pool.telemetry().totalInUse, 0)
  // The handle API and the copying reads and writes work.
  const out = new Float64Array(6)
  // The slot's offset in its region comes back; the handle triple lands in `out` at `at`.
  assert.equal(pool.allocateInto(1, out, 0), 0)
  assert.equal(pool.allocateInto(1, out, 3), 16)
  assert.deepEqual([out[0], out[1]], [1, 0])
  assert.deepEqual([out[3], out[4]], [1, 1])
  const h = { nodeId: out[0], slotIndex: out[1], generation: out[2] }
  pool.writeSlot(h, Uint8Array.of(1, 2, 3))
  assert.deepEqual([...pool.readSlot(h).subarray(0, 4)], [1, 2, 3, 0])
  throwsCode(() => pool.view(h), 'ERR_SLAB_EXTERNAL_BUFFERS_UNSUPPORTED', Error)
  assert.equal(pool.telemetry().totalInUse, 2)
  assert.equal(pool.deallocate(h), true)
  throwsCode(() => pool.readSlot(h), 'ERR_SLAB_STALE_HANDLE', Error)
  assert.equal(pool.telemetry().totalInUse, 1)
})

test('batches of handles: allocateMany writes into the caller\'s array, deallocateMany reads it', () => {
  const pool = NumaSlabPool.fromNodes([0], { slabCapacity: 8, entrySizeBytes: 4 })
  // A view with an offset into a bigger buffer: only the view's own elements change.
  const buffer = new Float64Array(20).fill(-1)
  const out = buffer.subarray(2, 14)
  assert.equal(pool.allocateMany(0, out, 4), 4)
  assert.deepEqual([buffer[0], buffer[1], buffer[14], buffer[19]], [-1, -1, -1, -1])
  assert.deepEqual([0, 1, 2, 3].map((i) => out[3 * i + 1]), [0, 1, 2, 3])
  assert.equal(pool.telemetry().totalInUse, 4)
  assert.equal(pool.deallocateMany(out, 4), 4)
  assert.equal(pool.telemetry().totalInUse, 0)
})

test('a mesh carries slot handles between a pool and its consumers', () => {
  const pool = NumaSlabPool.fromNodes([0], { slabCapacity: 8, entrySizeBytes: 8 })
  const mesh = new ReactorMesh({ shardCount: 2 })
  const out = new Float64Array(3)
  assert.equal(pool.allocateInto(0, out, 0), 0)
  pool.writeSlot({ nodeId: out[0], slotIndex: out[1], generation: out[2] }, Uint8Array.of(42))
  const shard = mesh.enqueueSlot('k', out[0], out[1], out[2])
  const drained = new Float64Array(3)
  assert.equal(mesh.drainSlots(shard, 4, drained), 1)
  assert.deepEqual([...drained], [...out])
  assert.equal(pool.readSlot({ nodeId: drained[0], slotIndex: drained[1], generation: drained[2] })[0], 42)
})

test("EventLoop 'wall': JS timers drive the run; nextTick and microtasks drain between timers (I2)", async () => {
  const loop = new EventLoop({ clock: 'wall' })
  const log = []
  loop.setTimeout(() => {
    log.push('T0a')
    process.nextTick(() => log.push('nextTick'))
    Promise.resolve().then(() => log.push('promise'))
    queueMicrotask(() => log.push('queueMicrotask'))
  }, 5)
  loop.setTimeout(() => log.push('T0b'), 5)
  loop.setTimeout(() => log.push('T1'), 20)
  await loop.run()
  assert.deepEqual(log, ['T0a', 'nextTick', 'promise', 'queueMicrotask', 'T0b', 'T1'])
})

test("EventLoop 'wall': a run waits for a hostcall completed later from a real timer", async () => {
  const loop = new EventLoop({ clock: 'wall' })
  const pending = loop.hostcall('h1')
  const done = loop.run()
  setTimeout(() => loop.completeHostcall('h1', { type: 'success', value: { ok: 7 } }), 10)
  assert.deepEqual(await pending, { ok: 7 })
  await done
})

test('stream and event listeners run in the async context they were registered in', async () => {
  const { AsyncLocalStorage } = require('node:async_hooks')
  const als = new AsyncLocalStorage()
  const loop = new EventLoop()
  const seen = []
  als.run('registered', () => {
    loop.onEvent((id) => seen.push(`event ${id}: ${als.getStore()}`))
    loop.onStream('s', (chunk) => seen.push(`chunk ${chunk}: ${als.getStore()}`))
    loop.hostcall('h').then((v) => seen.push(`hostcall ${v}: ${als.getStore()}`))
  })
  loop.dispatchEvent('e', null)
  loop.completeHostcall('s', { type: 'stream_chunk', sequence: 0, chunk: 'c', isFinal: true })
  loop.completeHostcall('h', { type: 'success', value: 'v' })
  await als.run('run', () => loop.runAll())
  assert.deepEqual(seen, ['event e: registered', 'chunk c: registered', 'hostcall v: registered'])
  // Bad listeners keep their codes.
  throwsCode(() => loop.onEvent(42), 'ERR_INVALID_ARG_TYPE', TypeError)
  throwsCode(() => loop.onStream('t', null), 'ERR_INVALID_ARG_TYPE', TypeError)
  throwsCode(() => EventLoop.prototype.onEvent.call({}, () => {}), 'ERR_INVALID_THIS', TypeError)
})

test('fake timers installed while GC finalizes the module\'s objects get no timer of the runtime (its finalizer queue uses the real setImmediate)', async () => {
  const fakeTimers = require('seqloop/fake-timers')
  const { explore } = require('seqloop/explore')
  const realSetTimeout = setTimeout
  // Runs of an exploration leave objects the module wraps (with finalizers) behind: emnapi
  // queues their finalizers from GC and drains the queue in a macrotask it schedules with
  // `setImmediate`, which must be the real one even when a fake clock is installed by then.
  await explore(async (ctx) => {
    const io = ctx.io(async (q) => q, { name: 'io' })
    await Promise.all([io(1), io(2)])
  }, { runs: 3, seed: 1 })
  const clock = fakeTimers.install({ toFake: ['setImmediate', 'setTimeout', 'Date'] })
  try {
    global.gc()
    await new Promise((resolve) => realSetTimeout(resolve, 50))
    assert.equal(clock.countTimers(), 0, 'the runtime scheduled no work on the fake clock')
  } finally {
    clock.uninstall()
  }
})

// The run driver (src/binding/ffi/uv_wasm.rs) arms the timers lib/event-loop.js handed over as the
// package loaded, not the globals of the moment: natively, libuv timers are not faked either.
test('EventLoop runs are driven by the real timers while fake timers are installed', async () => {
  const fakeTimers = require('seqloop/fake-timers')
  const realSetTimeout = setTimeout
  const clock = fakeTimers.install({ toFake: ['setImmediate', 'clearImmediate', 'setTimeout', 'clearTimeout', 'Date'] })
  try {
    const loop = new EventLoop({ clock: 'wall' })
    const log = []
    loop.setTimeout(() => log.push('a'), 5)
    loop.setTimeout(() => log.push('b'), 10)
    // (bounded, so that a run waiting for the fake clock does not end the file with it installed)
    await Promise.race([loop.run(), new Promise((resolve) => realSetTimeout(resolve, 2000))])
    assert.deepEqual(log, ['a', 'b'])
    assert.equal(clock.countTimers(), 0, 'the run armed no fake timer')
  } finally {
    clock.uninstall()
  }
})
