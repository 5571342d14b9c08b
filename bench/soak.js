'use strict'
// Soak: many millions of operations over the Scheduler, the EventLoop, a ReactorMesh and a
// NumaSlabPool (through their public methods), sampling RSS after a full GC as it goes. Prints the
// RSS curve and fails (exit 1) unless RSS after warm-up stays within `--tolerance` (10 %) of
// its value at the end of warm-up: a leak of a few bytes per operation shows up as a slope.
//
//   node --expose-gc bench/soak.js [--ops 1e7] [--samples 20] [--warmup 0.2] [--tolerance 0.1]
//   npm run soak            (1e7 operations)
//   scripts/ci-abuse.sh     (1e6 operations, the CI form)
const { Scheduler, EventLoop, ReactorMesh, NumaSlabPool, DeterministicClock } = require('..')

function arg (name, fallback) {
  const i = process.argv.indexOf(`--${name}`)
  return i === -1 ? fallback : Number(process.argv[i + 1])
}

const OPS = arg('ops', 1e7)
const SAMPLES = arg('samples', 20)
const WARMUP = arg('warmup', 0.2)
const TOLERANCE = arg('tolerance', 0.1)

if (typeof global.gc !== 'function') {
  console.error('run with node --expose-gc')
  process.exit(2)
}

// One round is ROUND_OPS operations across the four components (counted per native call).
const ROUND_OPS = 1000

function setup () {
  const clock = new DeterministicClock()
  const sched = new Scheduler({ clock })
  const loop = new EventLoop()
  const mesh = new ReactorMesh({ shardCount: 4, laneCapacity: 4096 })
  const pool = NumaSlabPool.fromNodes([0], { slabCapacity: 1024, entrySizeBytes: 64 })
  return { clock, sched, loop, mesh, pool, timers: new Float64Array(256), slots: new Float64Array(3 * 64), n: 0 }
}

/** One round: exactly ROUND_OPS native operations. */
async function round (s) {
  let ops = 0
  // Scheduler: 300 operations.
  for (let i = 0; i < 100; i++) {
    const id = s.sched.setTimeout(i % 7)
    if (i % 2 === 0) s.sched.clearTimeout(id)
    else s.sched.enqueueEvent('e', i)
    ops += 2
  }
  s.clock.advance(10)
  ops += 1
  while (s.sched.drainTimers(s.timers) === s.timers.length) ops += 1
  ops += 1
  while (s.sched.tick() !== null) ops += 1
  ops += 1
  // EventLoop: 100 operations (timers, immediates and events run by the loop).
  let fired = 0
  for (let i = 0; i < 40; i++) {
    s.loop.setTimeout(() => { fired++ }, i % 3)
    s.loop.setImmediate(() => { fired++ })
  }
  ops += 80
  for (let i = 0; i < 19; i++) s.loop.dispatchEvent('ev', { i })
  ops += 19
  await s.loop.runAll()
  ops += 1
  // Mesh: 300 operations.
  for (let i = 0; i < 100; i++) {
    s.mesh.enqueueEvent(i % 2 ? 'a' : 'b', i)
    s.mesh.enqueueSlot('k', 0, i, 1)
  }
  ops += 200
  while (s.mesh.drainGlobalOrder(32).length > 0) ops += 1
  ops += 1
  for (let sh = 0; sh < 4; sh++) {
    while (s.mesh.drainSlots(sh, 64, s.slots) > 0) ops += 1
    ops += 1
  }
  // Slab pool: the rest, allocateInto/deallocate and a few allocations with views.
  const h = new Float64Array(3)
  for (let i = 0; i < 10; i++) {
    const a = s.pool.allocate(0)
    a.buffer[0] = i
    s.pool.deallocate(a.handle)
    ops += 2
  }
  while (ops < ROUND_OPS - 1) {
    s.pool.allocateInto(0, h)
    s.pool.deallocate(h[0], h[1], h[2])
    ops += 2
  }
  if (ops < ROUND_OPS) { s.pool.offsetOf(0, 0, 0); ops += 1 }
  s.n += fired
  return ops
}

function rssMiB () {
  global.gc()
  global.gc()
  return process.memoryUsage().rss / 2 ** 20
}

async function main () {
  const s = setup()
  const rounds = Math.ceil(OPS / ROUND_OPS)
  const every = Math.max(1, Math.floor(rounds / SAMPLES))
  const curve = []
  let done = 0
  const t0 = process.hrtime.bigint()
  curve.push({ ops: 0, rss: rssMiB() })
  for (let r = 1; r <= rounds; r++) {
    done += await round(s)
    // Let Node's own loop turn now and then, as any program does: N-API finalizers of freed
    // external buffers and async-hook bookkeeping run there (without it they pile up, which
    // looks like a leak but is only deferred work).
    if (r % 10 === 0) await new Promise((resolve) => setImmediate(resolve))
    if (r % every === 0 || r === rounds) curve.push({ ops: done, rss: rssMiB() })
  }
  const secs = Number(process.hrtime.bigint() - t0) / 1e9
  const warmIndex = curve.findIndex((p) => p.ops >= WARMUP * done)
  const base = curve[warmIndex].rss
  const after = curve.slice(warmIndex)
  const max = Math.max(...after.map((p) => p.rss))
  const min = Math.min(...after.map((p) => p.rss))
  const drift = (max - base) / base
  console.log(`soak: ${done.toExponential(2)} operations in ${secs.toFixed(1)} s (${(done / secs / 1e6).toFixed(2)} M ops/s); the loop ran ${s.n} callbacks`)
  console.log('     ops      RSS MiB')
  const top = Math.max(...curve.map((p) => p.rss))
  for (const p of curve) {
    const bar = '#'.repeat(Math.round((p.rss / top) * 50))
    const mark = p === curve[warmIndex] ? ' <- end of warm-up' : ''
    console.log(`${p.ops.toExponential(2).padStart(9)} ${p.rss.toFixed(1).padStart(8)}  ${bar}${mark}`)
  }
  console.log(`after warm-up: min ${min.toFixed(1)} MiB, max ${max.toFixed(1)} MiB, base ${base.toFixed(1)} MiB, growth ${(drift * 100).toFixed(1)} % (limit ${(TOLERANCE * 100).toFixed(0)} %)`)
  if (drift > TOLERANCE || (base - min) / base > TOLERANCE) {
    console.log('soak: FAIL, RSS is not flat after warm-up')
    process.exitCode = 1
  } else {
    console.log('soak: ok, RSS flat after warm-up')
  }
}

main()
