'use strict'
// `npm run demo`: one small deterministic scenario, run twice — once through the data-level
// Scheduler (you dispatch, with recording on, then replayed), once through the EventLoop (the
// addon runs your callbacks) — then the machine's topology, a shard placement for it and a few
// messages through a ReactorMesh. Except for the detected topology, the output is identical on
// every run and every machine.
const {
  Scheduler, DeterministicClock, EventLoop, replay,
  ReactorTopologySnapshot, ReactorPlacementManifest, ReactorMesh, NumaSlabPool,
} = require('../lib/index.js')

function schedulerDemo () {
  console.log('== Scheduler (data level): timers, hostcall completions, a stream, events')
  const clock = new DeterministicClock(0)
  const s = new Scheduler({ clock, record: true })
  const names = new Map()
  names.set(s.setTimeout(300), 'timeout 300ms')
  names.set(s.setTimeout(100), 'timeout 100ms (a)')
  names.set(s.setTimeout(100), 'timeout 100ms (b)')
  const cancelled = s.setTimeout(50)
  s.clearTimeout(cancelled)
  s.enqueueEvent('user.click', { x: 10, y: 20 })
  s.enqueueHostcallComplete('fetch-1', { type: 'success', value: { status: 200 } })
  s.enqueueStreamChunk('read-1', 0, 'hello ', false)
  s.enqueueStreamChunk('read-1', 1, 'world', true)
  s.enqueueHostcallComplete('fetch-2', { type: 'error', code: 'E_TIMEOUT', message: 'took too long' })
  const describe = (t) => {
    switch (t.kind) {
      case 'timer_fired': return `timer ${t.timerId} (${names.get(t.timerId)})`
      case 'inbound_event': return `event ${t.eventId} ${JSON.stringify(t.payload)}`
      default: return `hostcall ${t.callId} ${JSON.stringify(t.outcome)}`
    }
  }
  for (;;) {
    for (const t of s.drain(64)) console.log(`  t=${String(clock.nowMs()).padStart(3)}ms seq=${t.seq} ${describe(t)}`)
    const next = s.nextTimerDeadline()
    if (next === null) break
    clock.set(next)
  }
  const trace = s.traceJsonl()
  const again = replay(trace)
  console.log(`  recorded ${trace.split('\n').length - 2} trace records; digest ${s.digest()}`)
  console.log(`  replayed from the trace: ok=${again.ok}, digest ${again.digest}`)
}

function topologyDemo () {
  console.log('\n== Topology (hwloc) and shard placement')
  const topo = ReactorTopologySnapshot.detect()
  const cores = topo.cores.map((c) => `${c.coreId}@node${c.numaNode}`).join(' ')
  console.log(`  this machine (${topo.source}): ${topo.cores.length} cores: ${cores}`)
  const manifest = ReactorPlacementManifest.plan(4, topo)
  console.log(`  plan(4 shards): ${JSON.stringify(manifest.asJson())}`)
  const big = ReactorPlacementManifest.plan(8, ReactorTopologySnapshot.synthetic('pack:2 numa:2 core:4 pu:2'))
  const layout = big.bindings.map((b) => `${b.shardId}:${b.coreId}/${b.numaNode}`).join(' ')
  console.log(`  plan(8) on synthetic "pack:2 numa:2 core:4 pu:2" (shard:core/node): ${layout}`)

  console.log('\n== ReactorMesh: hash-routed completions, round-robin events, global order')
  const mesh = new ReactorMesh({ shardCount: 4, laneCapacity: 2, topology: topo })
  for (const id of ['call-a', 'call-b', 'call-a']) mesh.enqueueHostcallComplete(id, { type: 'success', value: id })
  for (let i = 0; i < 3; i++) mesh.enqueueEvent(`evt-${i}`, { i })
  try {
    mesh.enqueueHostcallComplete('call-a', { type: 'success', value: 'one too many' })
  } catch (e) {
    console.log(`  backpressure: ${e.code} on shard ${e.shardId} (depth ${e.depth} of ${e.capacity}); nothing queued was lost`)
  }
  for (const env of mesh.drainGlobalOrder(16)) {
    const what = env.task.kind === 'inbound_event' ? env.task.eventId : env.task.callId
    console.log(`  global #${env.globalSeq} shard ${env.shardId} (shard seq ${env.shardSeq}) ${what}`)
  }

  const pool = NumaSlabPool.fromManifest(manifest, { slabCapacity: 4, entrySizeBytes: 64 })
  const a = pool.allocate(0)
  a.buffer.set(Buffer.from('zero-copy hello'))
  console.log(`  slab: wrote into slot ${a.handle.slotIndex} of node ${a.handle.nodeId}; Rust reads "${Buffer.from(pool.readSlot(a.handle)).toString('utf8', 0, 15)}"`)
  pool.deallocate(a.handle)
  console.log(`  freed: the old view now has byteLength ${a.buffer.byteLength}`)
}

async function eventLoopDemo () {
  console.log('\n== EventLoop: the addon runs the callbacks; microtasks drain after each one (I2)')
  const loop = new EventLoop()
  const log = (msg) => console.log(`  t=${String(loop.now()).padStart(3)}ms ${msg}`)
  loop.setTimeout(() => {
    log('timer A')
    process.nextTick(() => log('  nextTick queued by A'))
    Promise.resolve().then(() => log('  promise reaction queued by A'))
  }, 10)
  loop.setTimeout(() => log('timer B (same deadline as A, set later: runs after A and its microtasks)'), 10)
  let beats = 0
  const iv = loop.setInterval(() => { log(`interval beat ${++beats}`); if (beats === 3) loop.clearInterval(iv) }, 15)
  loop.onEvent((id, payload) => log(`event ${id} ${JSON.stringify(payload)}`))
  loop.onStream('download', (chunk, info) => log(`stream chunk #${info.sequence} ${JSON.stringify(chunk)}${info.isFinal ? ' (final)' : ''}`))
  ;(async () => {
    const value = await loop.hostcall('db.query')
    log(`hostcall resolved with ${JSON.stringify(value)}; the await continuation runs in the same macrotask`)
  })()
  loop.setTimeout(() => {
    log('timer C completes the hostcall and sends stream chunks (they run later, in seq order)')
    loop.completeHostcall('db.query', { type: 'success', value: { rows: 3 } })
    loop.completeHostcall('download', { type: 'stream_chunk', sequence: 0, chunk: 'part-1', isFinal: false })
    loop.completeHostcall('download', { type: 'stream_chunk', sequence: 1, chunk: 'part-2', isFinal: true })
    loop.dispatchEvent('job.done', { ok: true })
  }, 20)
  const ran = await loop.runAll()
  console.log(`  ran ${ran} macrotasks; virtual time is now ${loop.now()}ms`)
}

schedulerDemo()
eventLoopDemo().then(topologyDemo).catch((e) => { console.error(e); process.exitCode = 1 })
