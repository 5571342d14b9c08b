'use strict'
// Topology snapshots, the placement planner, affinity advice and bindCurrentThread
// (API.md §5; behaviors.md §6 and §10).

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { Worker } = require('node:worker_threads')

const {
  ReactorTopologySnapshot,
  ReactorPlacementManifest,
  ThreadAffinityAdvice,
  ReactorMesh,
  bindCurrentThread,
} = require('..')

const pairs = (p) => ReactorTopologySnapshot.fromCoreNodePairs(p)
const nodes = (m) => m.bindings.map((b) => b.numaNode)
const cores = (m) => m.bindings.map((b) => b.coreId)

const { throwsCode } = require('./helpers.js')

// Parses a kernel CPU list such as "0-3,8,10-11".
function parseCpuList(text) {
  const out = new Set()
  for (const part of text.trim().split(',')) {
    const [a, b] = part.split('-').map(Number)
    for (let c = a; c <= (b ?? a); c++) out.add(c)
  }
  return out
}

function cpusAllowed() {
  const status = fs.readFileSync('/proc/thread-self/status', 'utf8')
  return parseCpuList(status.match(/^Cpus_allowed_list:\s*(.*)$/m)[1])
}

test('detect reads this machine through hwloc', () => {
  const t = ReactorTopologySnapshot.detect()
  assert.equal(t.source, 'hwloc')
  assert.ok(t.cores.length >= 1)
  const ids = t.cores.map((c) => c.coreId)
  assert.equal(new Set(ids).size, ids.length, 'one entry per core')
  assert.deepEqual([...ids].sort((a, b) => a - b), ids, 'sorted by core id')
  const present = parseCpuList(fs.readFileSync('/sys/devices/system/cpu/present', 'utf8'))
  for (const c of t.cores) {
    assert.ok(present.has(c.coreId), `core ${c.coreId} is a present CPU`)
    assert.ok(Number.isSafeInteger(c.numaNode) && c.numaNode >= 0)
    assert.deepEqual(Object.keys(c).sort(), ['coreId', 'numaNode'])
  }
})

test('synthetic topologies: one entry per core, first PU as core id', () => {
  const t = ReactorTopologySnapshot.synthetic('pack:2 numa:2 core:4 pu:2')
  assert.equal(t.source, 'synthetic')
  assert.equal(t.cores.length, 16)
  assert.deepEqual(t.cores[0], { coreId: 0, numaNode: 0 })
  assert.deepEqual(t.cores[1], { coreId: 2, numaNode: 0 })
  assert.deepEqual(t.cores[15], { coreId: 30, numaNode: 3 })
  const big = ReactorTopologySnapshot.synthetic('pack:8 numa:2 core:32 pu:2')
  assert.equal(big.cores.length, 512)
  assert.equal(new Set(big.cores.map((c) => c.numaNode)).size, 16)
})

test('a bad synthetic description is a coded TypeError, not a crash', () => {
  for (const bad of ['', 'banana', 'pack:0', 'core:abc pu:2', 'pack:2\u0000core:2']) {
    throwsCode(() => ReactorTopologySnapshot.synthetic(bad), 'ERR_INVALID_ARG_VALUE', TypeError)
  }
  throwsCode(() => ReactorTopologySnapshot.synthetic(42), 'ERR_INVALID_ARG_TYPE', TypeError)
  throwsCode(() => ReactorTopologySnapshot.synthetic(), 'ERR_INVALID_ARG_TYPE', TypeError)
})

test('fromCoreNodePairs sorts and de-duplicates (TP1)', () => {
  const t = pairs([[7, 5], [2, 1], [4, 2], [2, 1], [1, 1], [4, 2]])
  assert.equal(t.source, 'pairs')
  assert.deepEqual(t.cores.map((c) => [c.coreId, c.numaNode]), [[1, 1], [2, 1], [4, 2], [7, 5]])
  assert.deepEqual(pairs([]).cores, [])
})

test('fromCoreNodePairs validates its input', () => {
  throwsCode(() => pairs('0,0'), 'ERR_INVALID_ARG_TYPE', TypeError)
  throwsCode(() => pairs({ length: 1 }), 'ERR_INVALID_ARG_TYPE', TypeError)
  throwsCode(() => pairs([[1]]), 'ERR_INVALID_ARG_TYPE', TypeError)
  throwsCode(() => pairs([[1, 2, 3]]), 'ERR_INVALID_ARG_TYPE', TypeError)
  throwsCode(() => pairs([1, 2]), 'ERR_INVALID_ARG_TYPE', TypeError)
  throwsCode(() => pairs([['1', 0]]), 'ERR_INVALID_ARG_TYPE', TypeError)
  throwsCode(() => pairs([[-1, 0]]), 'ERR_OUT_OF_RANGE', RangeError)
  throwsCode(() => pairs([[0, NaN]]), 'ERR_OUT_OF_RANGE', RangeError)
  throwsCode(() => pairs([[2 ** 53, 0]]), 'ERR_OUT_OF_RANGE', RangeError)
  // eslint-disable-next-line no-sparse-arrays
  throwsCode(() => pairs([, [0, 0]]), 'ERR_INVALID_ARG_TYPE', TypeError)
})

test('plan(0) has no bindings and no fallback (PL0)', () => {
  for (const t of [undefined, null, pairs([]), pairs([[0, 0], [1, 1]])]) {
    const m = ReactorPlacementManifest.plan(0, t)
    assert.equal(m.shardCount, 0)
    assert.equal(m.numaNodeCount, 0)
    assert.deepEqual(m.bindings, [])
    assert.equal(m.fallbackReason, null)
  }
})

test('fallback layouts (PL1, PL2, PL3)', () => {
  const none = ReactorPlacementManifest.plan(3)
  assert.equal(none.fallbackReason, 'topology_unavailable')
  assert.equal(none.numaNodeCount, 1)
  assert.deepEqual(none.bindings, [
    { shardId: 0, coreId: 0, numaNode: 0 },
    { shardId: 1, coreId: 1, numaNode: 0 },
    { shardId: 2, coreId: 2, numaNode: 0 },
  ])
  const empty = ReactorPlacementManifest.plan(2, pairs([]))
  assert.equal(empty.fallbackReason, 'topology_empty')
  assert.equal(empty.numaNodeCount, 1)
  assert.deepEqual(cores(empty), [0, 1])
  const single = ReactorPlacementManifest.plan(2, pairs([[0, 0], [1, 0]]))
  assert.equal(single.fallbackReason, 'single_numa_node')
  assert.equal(single.numaNodeCount, 1)
  assert.deepEqual(cores(single), [0, 1])
})

test('multi-node layout: nodes round-robin, then cores (PL4, PL5, PL6)', () => {
  const t = pairs([[0, 0], [1, 0], [2, 1], [3, 1]])
  const a = ReactorPlacementManifest.plan(8, t)
  assert.deepEqual(a.asJson(), ReactorPlacementManifest.plan(8, t).asJson())
  assert.equal(a.fallbackReason, null)
  assert.deepEqual(nodes(a), [0, 1, 0, 1, 0, 1, 0, 1])
  assert.deepEqual(cores(a), [0, 2, 1, 3, 0, 2, 1, 3])

  const b = ReactorPlacementManifest.plan(6, pairs([[0, 0], [1, 0], [4, 1], [5, 1]]))
  assert.deepEqual(nodes(b), [0, 1, 0, 1, 0, 1])
  assert.deepEqual(cores(b), [0, 4, 1, 5, 0, 4])

  const odd = pairs([[11, 42], [7, 5], [9, 42], [3, 5], [11, 42], [3, 5]])
  const c = ReactorPlacementManifest.plan(8, odd)
  assert.deepEqual(c.asJson(), ReactorPlacementManifest.plan(8, odd).asJson())
  assert.equal(c.numaNodeCount, 2)
  assert.equal(c.fallbackReason, null)
  assert.deepEqual(nodes(c), [5, 42, 5, 42, 5, 42, 5, 42])
  assert.deepEqual(cores(c), [3, 9, 7, 11, 3, 9, 7, 11])
})

test('planning over a synthetic 16-node machine', () => {
  const t = ReactorTopologySnapshot.synthetic('pack:8 numa:2 core:32 pu:2')
  const m = ReactorPlacementManifest.plan(1024, t)
  assert.equal(m.shardCount, 1024)
  assert.equal(m.numaNodeCount, 16)
  assert.equal(m.fallbackReason, null)
  // Shard 17: node 17 mod 16 = 1, that node's core (17 div 16) mod 32 = 1; node 1 holds PUs 64..127.
  assert.deepEqual(m.bindings[17], { shardId: 17, coreId: 66, numaNode: 1 })
})

test('manifest JSON and numaNodeForShard (PJ1)', () => {
  const m = ReactorPlacementManifest.plan(4, pairs([[0, 0], [1, 0], [2, 1], [3, 1]]))
  const j = m.asJson()
  assert.deepEqual(Object.keys(j).sort(), ['bindings', 'fallback_reason', 'numa_node_count', 'shard_count'])
  assert.equal(j.shard_count, 4)
  assert.equal(j.numa_node_count, 2)
  assert.equal(j.fallback_reason, null)
  assert.equal(j.bindings.length, 4)
  assert.deepEqual(j.bindings[1], { shard_id: 1, core_id: 2, numa_node: 1 })
  assert.equal(ReactorPlacementManifest.plan(1).asJson().fallback_reason, 'topology_unavailable')

  const f = ReactorPlacementManifest.plan(2)
  assert.equal(f.numaNodeForShard(0), 0)
  assert.equal(f.numaNodeForShard(99), null)
  assert.equal(f.numaNodeForShard(2 ** 40), null)
  assert.equal(m.numaNodeForShard(3), 1)
})

test('plan validates its arguments', () => {
  throwsCode(() => ReactorPlacementManifest.plan('3'), 'ERR_INVALID_ARG_TYPE', TypeError)
  throwsCode(() => ReactorPlacementManifest.plan(-1), 'ERR_OUT_OF_RANGE', RangeError)
  throwsCode(() => ReactorPlacementManifest.plan(Infinity), 'ERR_OUT_OF_RANGE', RangeError)
  throwsCode(() => ReactorPlacementManifest.plan(65537), 'ERR_OUT_OF_RANGE', RangeError)
  throwsCode(() => ReactorPlacementManifest.plan(2, { cores: [] }), 'ERR_INVALID_ARG_TYPE', TypeError)
  throwsCode(() => ReactorPlacementManifest.plan(2, 'hwloc'), 'ERR_INVALID_ARG_TYPE', TypeError)
  assert.equal(ReactorPlacementManifest.plan(2.9).shardCount, 2)
})

test('affinity advice per binding (AF1) and its JSON (AF2, AF3)', () => {
  const m = ReactorPlacementManifest.plan(4, pairs([[0, 0], [1, 0], [4, 1], [5, 1]]))
  const advice = m.affinityAdvice('advisory')
  assert.equal(advice.length, 4)
  assert.ok(advice.every((a) => a instanceof ThreadAffinityAdvice))
  assert.deepEqual(
    advice.map((a) => [a.shardId, a.recommendedCore, a.recommendedNumaNode, a.enforcement]),
    [[0, 0, 0, 'advisory'], [1, 4, 1, 'advisory'], [2, 1, 0, 'advisory'], [3, 5, 1, 'advisory']],
  )
  for (const code of ['advisory', 'strict', 'disabled']) {
    assert.ok(m.affinityAdvice(code).every((a) => a.enforcement === code))
  }
  const af2 = new ThreadAffinityAdvice({ shardId: 0, recommendedCore: 3, recommendedNumaNode: 1, enforcement: 'strict' })
  assert.equal(af2.asJson().shard_id, 0)
  assert.equal(af2.asJson().recommended_core, 3)
  assert.equal(af2.asJson().enforcement, 'strict')
  const af3 = new ThreadAffinityAdvice({ shardId: 2, recommendedCore: 5, recommendedNumaNode: 1, enforcement: 'strict' })
  assert.deepEqual(af3.asJson(), { shard_id: 2, recommended_core: 5, recommended_numa_node: 1, enforcement: 'strict' })
})

test('advice is plain data: spreading and JSON keep its fields; asJson() is not one of them', () => {
  const fromMesh = new ReactorMesh({ shardCount: 2, topology: pairs([[0, 0], [1, 1]]) }).affinityAdvice('strict')
  const fromPlan = ReactorPlacementManifest.plan(2, pairs([[0, 0], [1, 1]])).affinityAdvice('strict')
  const made = new ThreadAffinityAdvice({ shardId: 1, recommendedCore: 1, recommendedNumaNode: 1, enforcement: 'strict' })
  for (const advice of [fromMesh[1], fromPlan[1], made]) {
    const fields = { shardId: 1, recommendedCore: 1, recommendedNumaNode: 1, enforcement: 'strict' }
    assert.deepEqual({ ...advice }, fields)
    assert.deepEqual({ ...advice, enforcement: 'advisory' }, { ...fields, enforcement: 'advisory' })
    assert.deepEqual(Object.keys(advice), Object.keys(fields))
    assert.deepEqual(JSON.parse(JSON.stringify(advice)), fields)
    assert.deepEqual(JSON.parse(JSON.stringify(fromMesh)), [{ ...fields, shardId: 0, recommendedCore: 0, recommendedNumaNode: 0 }, fields])
    // The fields cannot drift from the native value behind asJson() and bindCurrentThread.
    assert.throws(() => { 'use strict'; advice.shardId = 7 }, TypeError)
    assert.equal(advice.asJson().shard_id, 1)
    // A spread copy is accepted wherever advice is.
    assert.equal(bindCurrentThread({ ...advice, enforcement: 'disabled' }).applied, false)
  }
})

test('enforcement and advice arguments are validated', () => {
  // One NodeId (u32) across topology and slabs: a node id no slab can hold is refused up front.
  throwsCode(() => pairs([[0, 2 ** 32]]), 'ERR_OUT_OF_RANGE', RangeError)
  assert.equal(pairs([[0, 2 ** 32 - 1]]).cores[0].numaNode, 2 ** 32 - 1)
  throwsCode(
    () => new ThreadAffinityAdvice({ shardId: 0, recommendedCore: 0, recommendedNumaNode: 2 ** 32, enforcement: 'strict' }),
    'ERR_OUT_OF_RANGE', RangeError,
  )
  const m = ReactorPlacementManifest.plan(2)
  throwsCode(() => m.affinityAdvice('Strict'), 'ERR_INVALID_ARG_VALUE', TypeError)
  throwsCode(() => m.affinityAdvice(1), 'ERR_INVALID_ARG_TYPE', TypeError)
  throwsCode(() => new ThreadAffinityAdvice(), 'ERR_INVALID_ARG_TYPE', TypeError)
  throwsCode(
    () => new ThreadAffinityAdvice({ shardId: 0, recommendedCore: -1, recommendedNumaNode: 0, enforcement: 'strict' }),
    'ERR_OUT_OF_RANGE',
    RangeError,
  )
  throwsCode(
    () => new ThreadAffinityAdvice({ shardId: 0, recommendedCore: 0, recommendedNumaNode: 0, enforcement: 'always' }),
    'ERR_INVALID_ARG_VALUE',
    TypeError,
  )
  throwsCode(() => bindCurrentThread(null), 'ERR_INVALID_ARG_TYPE', TypeError)
  throwsCode(() => bindCurrentThread({ shardId: 0 }), 'ERR_INVALID_ARG_TYPE', TypeError)
})

test('advisory and disabled advice never bind', () => {
  const before = cpusAllowed()
  for (const enforcement of ['advisory', 'disabled']) {
    const r = bindCurrentThread({ shardId: 0, recommendedCore: 0, recommendedNumaNode: 0, enforcement })
    assert.equal(r.applied, false)
    assert.equal(typeof r.reason, 'string')
    assert.ok(r.reason.length > 0)
  }
  assert.deepEqual(cpusAllowed(), before)
})

// Runs `body` (a function source taking the addon) in a worker thread and returns what it returns.
function inWorker(body) {
  const addon = path.resolve(__dirname, '..', 'index.js')
  const code = `
    const { parentPort, workerData } = require('node:worker_threads')
    const fs = require('node:fs')
    const seqloop = require(workerData.addon)
    const cpus = () => fs.readFileSync('/proc/thread-self/status', 'utf8').match(/^Cpus_allowed_list:\\s*(.*)$/m)[1].trim()
    parentPort.postMessage((${body})(seqloop, cpus))
  `
  return new Promise((resolve, reject) => {
    const w = new Worker(code, { eval: true, workerData: { addon } })
    w.once('message', resolve)
    w.once('error', reject)
  })
}

test('strict advice binds the calling worker thread (checked with the kernel)', async () => {
  const before = cpusAllowed()
  const t = ReactorTopologySnapshot.detect()
  const target = t.cores[t.cores.length - 1].coreId
  const out = await inWorker(`(seqloop, cpus) => {
    const t = seqloop.ReactorTopologySnapshot.detect()
    const m = seqloop.ReactorPlacementManifest.plan(t.cores.length, t)
    const advice = m.affinityAdvice('strict').find((a) => a.recommendedCore === ${target})
    const result = seqloop.bindCurrentThread(advice)
    return { result, after: cpus(), advice: advice.asJson() }
  }`)
  assert.deepEqual(out.result, { applied: true, reason: null })
  assert.equal(out.advice.recommended_core, target)
  const after = parseCpuList(out.after)
  assert.ok(after.has(target), `worker may run on ${out.after}`)
  const coreIds = new Set(t.cores.map((c) => c.coreId))
  assert.deepEqual([...after].filter((c) => coreIds.has(c)), [target], 'only the target core')
  // The test runner's own thread is untouched.
  assert.deepEqual(cpusAllowed(), before)
})

test('strict advice for a core that does not exist is not applied', async () => {
  const out = await inWorker(`(seqloop, cpus) => {
    const before = cpus()
    const result = seqloop.bindCurrentThread({ shardId: 0, recommendedCore: 2 ** 40, recommendedNumaNode: 0, enforcement: 'strict' })
    return { result, before, after: cpus() }
  }`)
  assert.equal(out.result.applied, false)
  assert.match(out.result.reason, /does not exist/)
  assert.equal(out.after, out.before)
})
