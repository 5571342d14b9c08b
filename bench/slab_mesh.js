'use strict'
// Zero-copy messages through the ReactorMesh (API.md §7, last item), beside the ways one thread
// usually hands a 512-byte message to another part of the program: postMessage over a
// MessageChannel (both ports here, delivery measured end to end) and structuredClone.
//
// Every contender does the same work per message: the producer writes a 512-byte body (a fixed
// template with the message index in its first word) and sends it; the consumer checksums every
// payload byte (FNV-1a over the 128 32-bit words). The consumers' combined checksum and message
// count are compared with values computed independently before timing, so a contender that
// dropped, duplicated or corrupted a message fails the run instead of reporting a number.
//
// seqloop contenders (producer and consumer in one thread, in batches of BATCH messages), all
// through the public methods of NumaSlabPool and ReactorMesh:
// - 'per message': pool.allocateInto → write through the node's regionView →
//   mesh.enqueueSlot(key, nodeId, slotIndex, generation), two native calls per message; the
//   consumer drainSlots into a Float64Array, reads the words through a long-lived Int32Array over
//   the same region, and frees with deallocateMany (both once per batch).
// - 'batched': allocateMany and enqueueSlots once per batch of BATCH messages, the rest as
//   above: the native calls are amortised. 'keyed' routes each batch by a string key (kept as the
//   envelopes' eventId: one small allocation per message); 'round-robin' passes null (no
//   allocation per message).
// - 'per-message views': pool.allocate() (a fresh per-allocation view each time) → buffer.set →
//   mesh.enqueueSlot(key, handle); the consumer drains with drainSlots, reads through the region
//   view, frees with deallocateMany. Shows what the per-message external buffer costs.
const { MessageChannel } = require('node:worker_threads')
const { NumaSlabPool, ReactorMesh } = require('../lib/index.js')

const SIZE = 512
const WORDS = SIZE / 4
const SHARDS = 4
const BATCH = 256
const KEYS = Array.from({ length: SHARDS }, (_, i) => `stream-${i}`)

const TEMPLATE = new Uint8Array(SIZE)
for (let b = 0; b < SIZE; b++) TEMPLATE[b] = (b * 131 + 7) & 0xff

// FNV-1a over a message's 128 words as four interleaved lanes (every byte is read): the same
// function bench/workers.js uses.
const { checksum } = require('./workers/checksum.js')

/** The expected count and checksum of N messages, computed on a plain buffer. */
function expected (n) {
  const body = new Uint8Array(SIZE)
  body.set(TEMPLATE)
  const w = new Int32Array(body.buffer)
  let sum = 0
  for (let i = 0; i < n; i++) {
    w[0] = i
    sum = (sum + checksum(w, 0)) >>> 0
  }
  return { count: n, sum }
}

/** allocateMany and enqueueSlots once per batch; `keyed`: one string key per batch, else round-robin. */
function batched (n, keyed) {
  const mesh = new ReactorMesh({ shardCount: SHARDS, laneCapacity: BATCH })
  const pool = NumaSlabPool.fromManifest(mesh.placementManifest(), { slabCapacity: 4096, entrySizeBytes: SIZE, regionViews: true })
  const bytes = []
  const words = []
  for (const node of pool.nodeIds) {
    bytes[node] = pool.regionView(node)
    words[node] = new Int32Array(bytes[node].buffer, bytes[node].byteOffset, bytes[node].byteLength >> 2)
  }
  const batch = new Float64Array(3 * BATCH)
  const out = new Float64Array(3 * BATCH)
  let count = 0
  let sum = 0
  for (let i = 0; i < n;) {
    const want = Math.min(BATCH, n - i)
    const got = pool.allocateMany(0, batch, want)
    if (got !== want) throw new Error('pool exhausted')
    for (let k = 0; k < got; k++, i++) {
      const node = batch[3 * k] | 0
      const off = (batch[3 * k + 1] | 0) * SIZE
      bytes[node].set(TEMPLATE, off)
      words[node][off >> 2] = i
    }
    const key = keyed ? KEYS[((i - 1) / BATCH) & (SHARDS - 1)] : null
    if (mesh.enqueueSlots(key, batch, got) !== got) throw new Error('backpressure')
    for (let s = 0; s < SHARDS; s++) {
      const d = mesh.drainSlots(s, BATCH, out)
      for (let k = 0; k < d; k++) {
        sum = (sum + checksum(words[out[3 * k] | 0], (out[3 * k + 1] | 0) * WORDS)) >>> 0
      }
      count += d
      if (pool.deallocateMany(out, d) !== d) throw new Error('free failed')
    }
  }
  return { count, sum }
}

const contenders = {
  'seqloop slots, per message' (n) {
    const mesh = new ReactorMesh({ shardCount: SHARDS, laneCapacity: BATCH })
    const pool = NumaSlabPool.fromManifest(mesh.placementManifest(), { slabCapacity: 4096, entrySizeBytes: SIZE, regionViews: true })
    const bytes = []
    const words = []
    for (const node of pool.nodeIds) {
      bytes[node] = pool.regionView(node)
      words[node] = new Int32Array(bytes[node].buffer, bytes[node].byteOffset, bytes[node].byteLength >> 2)
    }
    const h = new Float64Array(3)
    const out = new Float64Array(3 * BATCH)
    let count = 0
    let sum = 0
    for (let i = 0; i < n;) {
      const end = Math.min(n, i + BATCH)
      for (; i < end; i++) {
        const off = pool.allocateInto(0, h, 0)
        if (off < 0) throw new Error('pool exhausted')
        const node = h[0] | 0
        bytes[node].set(TEMPLATE, off)
        words[node][off >> 2] = i
        if (mesh.enqueueSlot(KEYS[i & (SHARDS - 1)], node, h[1], h[2]) < 0) throw new Error('backpressure')
      }
      for (let s = 0; s < SHARDS; s++) {
        const got = mesh.drainSlots(s, BATCH, out)
        for (let k = 0; k < got; k++) {
          sum = (sum + checksum(words[out[3 * k] | 0], (out[3 * k + 1] | 0) * WORDS)) >>> 0
        }
        count += got
        if (pool.deallocateMany(out, got) !== got) throw new Error('free failed')
      }
    }
    return { count, sum }
  },

  'seqloop slots, batched, keyed' (n) { return batched(n, true) },
  'seqloop slots, batched, round-robin' (n) { return batched(n, false) },

  'seqloop slots, per-message views' (n) {
    const mesh = new ReactorMesh({ shardCount: SHARDS, laneCapacity: BATCH })
    const pool = NumaSlabPool.fromManifest(mesh.placementManifest(), { slabCapacity: 4096, entrySizeBytes: SIZE, regionViews: true })
    const words = []
    for (const node of pool.nodeIds) {
      const r = pool.regionView(node)
      words[node] = new Int32Array(r.buffer, r.byteOffset, r.byteLength >> 2)
    }
    const stamp = new Int32Array(1)
    const stampBytes = new Uint8Array(stamp.buffer)
    const out = new Float64Array(3 * BATCH)
    let count = 0
    let sum = 0
    for (let i = 0; i < n;) {
      const end = Math.min(n, i + BATCH)
      for (; i < end; i++) {
        const a = pool.allocate(0)
        a.buffer.set(TEMPLATE)
        stamp[0] = i
        a.buffer.set(stampBytes)
        mesh.enqueueSlot(KEYS[i & (SHARDS - 1)], a.handle)
      }
      for (let s = 0; s < SHARDS; s++) {
        const got = mesh.drainSlots(s, BATCH, out)
        for (let k = 0; k < got; k++) {
          sum = (sum + checksum(words[out[3 * k] | 0], (out[3 * k + 1] | 0) * WORDS)) >>> 0
        }
        count += got
        if (pool.deallocateMany(out, got) !== got) throw new Error('free failed')
      }
    }
    return { count, sum }
  },

  'postMessage (MessageChannel)' (n) {
    const { port1, port2 } = new MessageChannel()
    const staging = new Uint8Array(SIZE)
    const stagingWords = new Int32Array(staging.buffer)
    let count = 0
    let sum = 0
    return new Promise((resolve) => {
      port2.on('message', (m) => {
        sum = (sum + checksum(new Int32Array(m.buffer, m.byteOffset, WORDS), 0)) >>> 0
        if (++count === n) {
          port1.close()
          resolve({ count, sum })
        }
      })
      for (let i = 0; i < n; i++) {
        staging.set(TEMPLATE)
        stagingWords[0] = i
        port1.postMessage(staging) // structured clone: the receiver gets its own copy
      }
    })
  },

  structuredClone (n) {
    const staging = new Uint8Array(SIZE)
    const stagingWords = new Int32Array(staging.buffer)
    let count = 0
    let sum = 0
    for (let i = 0; i < n; i++) {
      staging.set(TEMPLATE)
      stagingWords[0] = i
      const m = structuredClone(staging)
      sum = (sum + checksum(new Int32Array(m.buffer, m.byteOffset, WORDS), 0)) >>> 0
      count++
    }
    return { count, sum }
  },
}

async function timed (fn) {
  const t0 = process.hrtime.bigint()
  const r = await fn()
  return { ms: Number(process.hrtime.bigint() - t0) / 1e6, r }
}

function verify (name, got, want) {
  if (got.count !== want.count || got.sum !== want.sum) {
    throw new Error(`${name}: got ${got.count} messages / checksum ${got.sum}, expected ${want.count} / ${want.sum}`)
  }
}

/** ns per call of `fn` run `n` times (median of 5). */
function perCall (n, fn) {
  const t = []
  for (let r = 0; r < 5; r++) {
    const t0 = process.hrtime.bigint()
    fn(n)
    t.push(Number(process.hrtime.bigint() - t0) / n)
  }
  t.sort((a, b) => a - b)
  return t[2]
}

function breakdown () {
  const mesh = new ReactorMesh({ shardCount: SHARDS, laneCapacity: BATCH })
  const pool = NumaSlabPool.fromManifest(mesh.placementManifest(), { slabCapacity: 4096, entrySizeBytes: SIZE, regionViews: true })
  const region = pool.regionView(0)
  const words = new Int32Array(region.buffer, region.byteOffset, region.byteLength >> 2)
  const h = new Float64Array(3)
  const out = new Float64Array(3 * BATCH)
  const n = 200_000
  const rows = {}
  const shard0 = mesh.enqueueSlot(KEYS[0], 0, 0, 0)
  mesh.drainSlots(shard0, 1, out)
  rows['allocateInto + deallocate(nodeId, slotIndex, generation) (pair)'] = perCall(n, (n) => {
    for (let i = 0; i < n; i++) { pool.allocateInto(0, h, 0); pool.deallocate(h[0], h[1], h[2]) }
  })
  rows['write 512 B into the region view (set + stamp)'] = perCall(n, (n) => {
    for (let i = 0; i < n; i++) { const off = (i & 4095) * SIZE; region.set(TEMPLATE, off); words[off >> 2] = i }
  })
  rows['enqueueSlot (string key) + drainSlots share'] = perCall(n, (n) => {
    for (let i = 0; i < n;) {
      const end = Math.min(n, i + BATCH)
      for (; i < end; i++) mesh.enqueueSlot(KEYS[0], 0, i & 4095, 1)
      mesh.drainSlots(shard0, BATCH, out)
    }
  })
  rows['enqueueSlot (null key, round-robin) + drainSlots share'] = perCall(n, (n) => {
    for (let i = 0; i < n;) {
      const end = Math.min(n, i + BATCH)
      for (; i < end; i++) mesh.enqueueSlot(null, 0, i & 4095, 1)
      for (let s = 0; s < SHARDS; s++) mesh.drainSlots(s, BATCH, out)
    }
  })
  rows['allocateMany + enqueueSlots + drainSlots + deallocateMany, per message of a batch'] = perCall(n, (n) => {
    for (let i = 0; i < n; i += BATCH) {
      const got = pool.allocateMany(0, out, BATCH)
      mesh.enqueueSlots(KEYS[0], out, got)
      pool.deallocateMany(out, mesh.drainSlots(shard0, BATCH, out))
    }
  })
  rows['checksum 512 B (128 words, consumer)'] = perCall(n, (n) => {
    let x = 0
    for (let i = 0; i < n; i++) x ^= checksum(words, (i & 4095) * WORDS)
    if (x === 0.5) throw new Error('unreachable')
  })
  rows['pool.allocate() + deallocate(handle) (external buffer each)'] = perCall(n / 4, (n) => {
    for (let i = 0; i < n; i++) { const a = pool.allocate(0); pool.deallocate(a.handle) }
  })
  return rows
}

async function run () {
  const N = 100_000
  const RUNS = 5
  const want = expected(N)
  console.log(`\n## Slab handles through the mesh: ${N} messages of ${SIZE} B, write → send → read (checksum) → free (median of ${RUNS})`)
  const names = Object.keys(contenders)
  const rate = {}
  for (const name of names) {
    verify(name, await contenders[name](10_000), expected(10_000)) // warm-up and correctness
    const times = []
    for (let r = 0; r < RUNS; r++) {
      const { ms, r: got } = await timed(() => contenders[name](N))
      verify(name, got, want)
      times.push(ms)
    }
    times.sort((a, b) => a - b)
    rate[name] = N / (times[RUNS >> 1] / 1e3)
  }
  const base = rate['postMessage (MessageChannel)']
  console.log('| contender | messages/s | ns/message | vs postMessage |')
  console.log('|---|---:|---:|---:|')
  for (const name of names) {
    console.log(`| ${name} | ${(rate[name] / 1e3).toFixed(0)} k | ${(1e9 / rate[name]).toFixed(0)} | ${(rate[name] / base).toFixed(1)}x |`)
  }
  console.log(`(every run verified: ${N} messages, checksum ${want.sum.toString(16)})`)

  console.log('\n## Where the time of the per-message path goes (ns per message, median of 5)')
  for (const [k, v] of Object.entries(breakdown())) console.log(`${k.padEnd(84)} ${v.toFixed(0)} ns`)
}

module.exports = { run }
if (require.main === module) run()
