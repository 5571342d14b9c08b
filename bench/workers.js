'use strict'
// ShardedWorkers (API.md §8) beside the usual ways to hand 512-byte messages to worker threads:
// main → 2 workers, each consumer checksums every byte (bench/workers/checksum.js), and, for
// round trips, sends each message back to the main thread, which checksums it again.
//
// Contenders:
// - seqloop sendBatch/onBatch: batches of BATCH messages copied natively into slots of shared
//   NUMA memory, one window per run of slots for the handler; echo with shard.sendBatch.
// - seqloop per message: allocate(key) + buffer.set + send(key, slot); onMessage (one external
//   view per message); echo with shard.sendBytes.
// - postMessage with a transferred ArrayBuffer per message (round-robin over the two workers).
// - a plain-JS SharedArrayBuffer + Atomics ring per worker (bench/sab-ring.js), batched
//   publication, Atomics.wait when idle; echo over a second ring.
// - Piscina: `run()` per message (the result is the checksum: inherently a round trip), and
//   batched (one task per BATCH messages in one transferred buffer).
//
// Every run is verified: the consumers' message count and checksum sum must equal the values
// computed before timing. Figures: messages/s (one way: until both workers have handled every
// message; round trip: until the main thread has every echo back), CPU use of the whole process
// (process.cpuUsage over wall time, in cores), and round-trip latency p50/p99 at half the
// measured round-trip rate (paced sends, per-message timestamps).
const path = require('node:path')
const { performance } = require('node:perf_hooks')
const { Worker } = require('node:worker_threads')
const { ShardedWorkers } = require('../lib/index.js')
const { SabRing } = require('./sab-ring.js')
const { checksum, SIZE } = require('./workers/checksum.js')

const WORKER = path.join(__dirname, 'workers', 'bench-worker.js')
const N = Number(process.env.SEQLOOP_BENCH_WORKERS_N || 200000)
const BATCH = 256
const SHARDS = 2

/** N messages: a fixed template with the message index in the first word. */
function messages(n) {
  const buf = new Uint8Array(n * SIZE)
  const w = new Int32Array(buf.buffer)
  for (let b = 0; b < SIZE; b++) buf[b] = (b * 131 + 7) & 0xff
  for (let i = 1; i < n; i++) buf.copyWithin(i * SIZE, 0, SIZE)
  let sum = 0
  for (let i = 0; i < n; i++) {
    w[i * (SIZE >> 2)] = i
    sum = (sum + checksum(w, i * (SIZE >> 2))) >>> 0
  }
  return { buf, sum }
}

const tick = () => new Promise((resolve) => setImmediate(resolve))

/** What a seqloop or postMessage run collects: worker reports, echoes back, latencies. */
function runState(latency) {
  const st = { reports: [], back: 0, backSum: 0, lat: [], sendTimes: latency ? new Float64Array(N) : null }
  st.finished = new Promise((resolve) => {
    st.resolveDone = resolve
  })
  return st
}

/** Runs `body` (async, resolves when done) and returns { rate, cpu }. */
async function timed(n, body) {
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  await body()
  const ms = performance.now() - t0
  const cpu = process.cpuUsage(cpu0)
  return { rate: (n * 1000) / ms, cpu: (cpu.user + cpu.system) / 1000 / ms }
}

function check(label, got, want) {
  if (got.count !== want.count || got.sum !== want.sum) {
    throw new Error(`${label}: verification failed: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`)
  }
}

// Two keys, one per shard, so the load is split evenly as the other contenders split it.
function keysPerShard(workers) {
  const keys = []
  for (let i = 0; keys.length < SHARDS; i++) {
    const k = `key-${i}`
    if (!keys.some((o) => workers.shardFor(o) === workers.shardFor(k))) keys.push(k)
  }
  return keys
}

async function seqloopRun(kind, echo, msgs, latency) {
  const expect = N / SHARDS
  const workers = await ShardedWorkers.start(WORKER, {
    shards: SHARDS,
    enforcement: 'strict',
    laneCapacity: 4096,
    slabCapacity: 8192,
    workerData: { bench: { kind, echo, expect } },
  })
  const keys = keysPerShard(workers)
  const st = runState(latency)
  const { reports, lat, sendTimes } = st
  const maybeDone = () => {
    if (reports.length === SHARDS && (!echo || st.back === N)) st.resolveDone()
  }
  const onOne = (key, w, at) => {
    if (key === 'done') return
    st.backSum = (st.backSum + checksum(w, at)) >>> 0
    if (sendTimes) lat.push(performance.now() - sendTimes[w[at]])
    st.back++
  }
  workers.onBatch((b) => {
    const w = new Int32Array(b.bytes.buffer, b.bytes.byteOffset, b.bytes.byteLength >> 2)
    for (let i = 0; i < b.count; i++) {
      if (b.keys[i] === 'done') {
        const r = new Float64Array(b.bytes.buffer.slice(b.bytes.byteOffset + b.offsets[i], b.bytes.byteOffset + b.offsets[i] + 16))
        reports.push({ count: r[0], sum: r[1] })
      } else onOne(b.keys[i], w, b.offsets[i] >> 2)
    }
    maybeDone()
  })
  const batchKeys = Array.from({ length: BATCH }, (_, i) => keys[i % SHARDS])
  const lengths = new Uint32Array(BATCH).fill(SIZE)
  const result = await timed(N, async () => {
    if (kind === 'seqloop-batch') {
      const step = latency ? 64 : BATCH
      const interval = latency ? (step / latency) * 1000 : 0
      let next = performance.now()
      for (let i = 0; i < N;) {
        if (latency) {
          while (performance.now() < next) await tick()
          next += interval
        }
        const n = Math.min(step, N - i)
        let done = 0
        while (done < n) {
          if (sendTimes) for (let j = done; j < n; j++) sendTimes[i + j] = performance.now()
          const k = workers.sendBatch(done === 0 && n === BATCH ? batchKeys : batchKeys.slice(done, n), msgs.buf.subarray((i + done) * SIZE, (i + n) * SIZE), lengths.subarray(done, n))
          done += k
          if (done < n) await tick()
        }
        i += n
      }
    } else {
      for (let i = 0; i < N; i++) {
        let slot
        while ((slot = workers.allocate(keys[i % SHARDS])) === null) await tick()
        slot.buffer.set(msgs.buf.subarray(i * SIZE, (i + 1) * SIZE))
        while (!workers.trySend(keys[i % SHARDS], slot)) await tick()
        if ((i & 1023) === 1023) await tick()
      }
    }
    await st.finished
  })
  const total = reports.reduce((a, r) => ({ count: a.count + r.count, sum: (a.sum + r.sum) >>> 0 }), { count: 0, sum: 0 })
  check(`${kind}${echo ? ' echo' : ''}`, total, { count: N, sum: msgs.sum })
  if (echo) check(`${kind} back`, { count: st.back, sum: st.backSum }, { count: N, sum: msgs.sum })
  const pinned = workers.telemetry().shards.every((s) => s.pinned)
  await workers.close()
  return { ...result, pinned, lat }
}

async function postRun(echo, msgs, latency) {
  const expect = N / SHARDS
  const ws = Array.from({ length: SHARDS }, () => new Worker(WORKER, { workerData: { kind: 'post', echo, expect } }))
  const st = runState(latency)
  const { reports, lat, sendTimes } = st
  for (const w of ws) {
    w.on('message', (m) => {
      if (m && m.done) reports.push(m.done)
      else {
        const words = new Int32Array(m)
        st.backSum = (st.backSum + checksum(words, 0)) >>> 0
        if (sendTimes) lat.push(performance.now() - sendTimes[words[0]])
        st.back++
      }
      if (reports.length === SHARDS && (!echo || st.back === N)) st.resolveDone()
    })
  }
  await Promise.all(ws.map((w) => new Promise((resolve) => w.once('online', resolve))))
  const result = await timed(N, async () => {
    const interval = latency ? (64 / latency) * 1000 : 0
    let next = performance.now()
    for (let i = 0; i < N; i++) {
      if (latency && i % 64 === 0) {
        while (performance.now() < next) await tick()
        next += interval
      }
      const ab = new ArrayBuffer(SIZE)
      new Uint8Array(ab).set(msgs.buf.subarray(i * SIZE, (i + 1) * SIZE))
      if (sendTimes) sendTimes[i] = performance.now()
      ws[i % SHARDS].postMessage(ab, [ab])
      if (!latency && (i & 4095) === 4095) await tick()
    }
    await st.finished
  })
  const total = reports.reduce((a, r) => ({ count: a.count + r.count, sum: (a.sum + r.sum) >>> 0 }), { count: 0, sum: 0 })
  check('postMessage', total, { count: N, sum: msgs.sum })
  if (echo) check('postMessage back', { count: st.back, sum: st.backSum }, { count: N, sum: msgs.sum })
  await Promise.all(ws.map((w) => w.terminate()))
  return { ...result, lat }
}

async function sabRun(echo, msgs) {
  const expect = N / SHARDS
  const capacity = 1024
  const rings = Array.from({ length: SHARDS }, () => SabRing.create(capacity, SIZE))
  const backs = Array.from({ length: SHARDS }, () => SabRing.create(capacity, SIZE))
  const ws = rings.map((r, s) => new Worker(WORKER, { workerData: { kind: 'sab', echo, expect, ring: r.sab, back: backs[s].sab, capacity } }))
  const reports = []
  for (const w of ws) w.on('message', (m) => reports.push(m.done))
  await Promise.all(ws.map((w) => new Promise((resolve) => w.once('online', resolve))))
  let back = 0
  let backSum = 0
  const drainBack = () => {
    for (const b of backs) {
      back += b.drain((w, at) => {
        backSum = (backSum + checksum(w, at)) >>> 0
      })
    }
  }
  // Messages alternate between the rings in runs of BATCH/2, so each ring gets half.
  const result = await timed(N, async () => {
    for (let i = 0; i < N; i += BATCH) {
      const per = Math.min(BATCH, N - i) / SHARDS
      for (let s = 0; s < SHARDS; s++) {
        const start = i + s * per
        let done = 0
        while (done < per) {
          const k = rings[s].push(msgs.buf, (start + done) * SIZE, per - done)
          done += k
          if (echo) drainBack()
          if (done < per && k === 0) rings[s].waitForRoom(1)
        }
      }
    }
    while (echo && back < N) {
      drainBack()
      await tick()
    }
    while (reports.length < SHARDS) await tick()
  })
  const total = reports.reduce((a, r) => ({ count: a.count + r.count, sum: (a.sum + r.sum) >>> 0 }), { count: 0, sum: 0 })
  check('SAB ring', total, { count: N, sum: msgs.sum })
  if (echo) check('SAB ring back', { count: back, sum: backSum }, { count: N, sum: msgs.sum })
  await Promise.all(ws.map((w) => w.terminate()))
  return result
}

async function piscinaRun(batched, msgs) {
  let Piscina
  try {
    ;({ Piscina } = require('piscina'))
  } catch {
    return null
  }
  const pool = new Piscina({ filename: path.join(__dirname, 'workers', 'piscina-task.js'), minThreads: SHARDS, maxThreads: SHARDS })
  let sum = 0
  const per = batched ? BATCH : 1
  // run() per message is ~50x slower than the rest: an eighth of the messages keeps the suite short.
  const n = batched ? N : N / 8
  let want = 0
  for (let i = 0; i < n; i++) want = (want + checksum(new Int32Array(msgs.buf.buffer, i * SIZE, SIZE >> 2), 0)) >>> 0
  // Warm up: both threads started and the task loaded before timing (as the others' 'online').
  await Promise.all(Array.from({ length: 4 * SHARDS }, () => pool.run(new ArrayBuffer(SIZE))))
  const result = await timed(n, async () => {
    const inflight = []
    for (let i = 0; i < n; i += per) {
      const k = Math.min(per, n - i)
      const ab = new ArrayBuffer(k * SIZE)
      new Uint8Array(ab).set(msgs.buf.subarray(i * SIZE, (i + k) * SIZE))
      inflight.push(pool.run(ab, { transferList: [ab] }).then((s) => {
        sum = (sum + s) >>> 0
      }))
      if (inflight.length >= 1024 / per + 1) await Promise.all(inflight.splice(0))
    }
    await Promise.all(inflight)
  })
  check(`Piscina${batched ? ' batched' : ''}`, { count: n, sum }, { count: n, sum: want })
  await pool.destroy()
  return result
}

function pct(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]
}

async function run() {
  const msgs = messages(N)
  const fmt = (r) => (r ? `${(r.rate / 1e6).toFixed(2)} M` : 'n/a')
  const cpu = (r) => (r ? r.cpu.toFixed(2) : 'n/a')
  const rows = []
  const one = {
    'seqloop sendBatch/onBatch': await seqloopRun('seqloop-batch', false, msgs),
    'seqloop send/onMessage (per message)': await seqloopRun('seqloop-message', false, msgs),
    'postMessage, transferred ArrayBuffer': await postRun(false, msgs),
    'SAB + Atomics ring (plain JS)': await sabRun(false, msgs),
  }
  const two = {
    'seqloop sendBatch/onBatch': await seqloopRun('seqloop-batch', true, msgs),
    'seqloop send/onMessage (per message)': await seqloopRun('seqloop-message', true, msgs),
    'postMessage, transferred ArrayBuffer': await postRun(true, msgs),
    'SAB + Atomics ring (plain JS)': await sabRun(true, msgs),
    'Piscina run() per message': await piscinaRun(false, msgs),
    [`Piscina run() batched (${BATCH}/task)`]: await piscinaRun(true, msgs),
  }
  const post = one['postMessage, transferred ArrayBuffer'].rate
  console.log(`\n## ${N} messages of ${SIZE} B, main → ${SHARDS} workers, checksum of every byte (pinned: ${one['seqloop sendBatch/onBatch'].pinned})`)
  console.log('| contender | one way msg/s | vs postMessage | CPU cores | round trip msg/s | CPU cores |')
  console.log('|---|---:|---:|---:|---:|---:|')
  for (const name of Object.keys(two)) {
    const a = one[name]
    const b = two[name]
    rows.push(name)
    console.log(`| ${name} | ${a ? fmt(a) : '—'} | ${a ? `${(a.rate / post).toFixed(1)}x` : '—'} | ${a ? cpu(a) : '—'} | ${fmt(b)} | ${cpu(b)} |`)
  }
  // Latency at half the measured round-trip rate.
  console.log('\n## Round-trip latency at half load (µs)')
  console.log('| contender | offered msg/s | p50 | p99 |')
  console.log('|---|---:|---:|---:|')
  const latencyOf = async (name, rate, fn) => {
    const r = await fn(rate)
    const s = r.lat.sort((x, y) => x - y)
    console.log(`| ${name} | ${(rate / 1e3).toFixed(0)} k | ${(pct(s, 50) * 1000).toFixed(0)} | ${(pct(s, 99) * 1000).toFixed(0)} |`)
  }
  await latencyOf('seqloop sendBatch/onBatch (64/batch)', two['seqloop sendBatch/onBatch'].rate / 2, (rate) => seqloopRun('seqloop-batch', true, msgs, rate))
  await latencyOf('postMessage, transferred ArrayBuffer', two['postMessage, transferred ArrayBuffer'].rate / 2, (rate) => postRun(true, msgs, rate))
  console.log(`(every run verified: ${N} messages, checksum ${msgs.sum.toString(16)})`)
}

module.exports = { run, seqloopRun, postRun, sabRun, piscinaRun, messages }

if (require.main === module) {
  run().catch((err) => {
    console.error(err)
    process.exitCode = 1
  })
}
