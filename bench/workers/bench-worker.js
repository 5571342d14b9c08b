'use strict'
// The consumer side of every bench/workers.js contender, chosen by workerData.kind. Each
// checksums every byte of every message (checksum.js), counts, and reports { count, sum } when
// it has handled workerData.expect messages; with workerData.echo it also sends each one back.
const { parentPort, workerData } = require('node:worker_threads')
const { checksum, SIZE } = require('./checksum.js')

const { kind, echo, expect } = workerData.__seqloopShard ? require('seqloop/worker').shard.workerData.bench : workerData
let count = 0
let sum = 0

function done(send) {
  if (count === expect) send({ count, sum })
}

if (kind === 'seqloop-batch' || kind === 'seqloop-message') {
  const { shard } = require('seqloop/worker')
  const report = (r) => shard.sendBytes('done', new Float64Array([r.count, r.sum]))
  if (kind === 'seqloop-batch') {
    shard.onBatch((b) => {
      const w = new Int32Array(b.bytes.buffer, b.bytes.byteOffset, b.bytes.byteLength >> 2)
      for (let i = 0; i < b.count; i++) sum = (sum + checksum(w, b.offsets[i] >> 2)) >>> 0
      count += b.count
      if (echo) {
        let sent = 0
        while (sent < b.count) {
          sent += shard.sendBatch(sent === 0 ? b.keys : b.keys.slice(sent), b.bytes.subarray(sent * SIZE), b.lengths.subarray(sent))
        }
      }
      done(report)
    })
  } else {
    shard.onMessage((key, view) => {
      sum = (sum + checksum(new Int32Array(view.buffer, view.byteOffset, SIZE >> 2), 0)) >>> 0
      count++
      if (echo) shard.sendBytes(key, view)
      done(report)
    })
  }
} else if (kind === 'post') {
  parentPort.on('message', (ab) => {
    sum = (sum + checksum(new Int32Array(ab), 0)) >>> 0
    count++
    if (echo) parentPort.postMessage(ab, [ab])
    done((r) => parentPort.postMessage({ done: r }))
  })
} else if (kind === 'sab') {
  const { SabRing } = require('../sab-ring.js')
  const ring = new SabRing(workerData.ring, workerData.capacity, SIZE)
  const back = echo ? new SabRing(workerData.back, workerData.capacity, SIZE) : null
  const bytes = new Uint8Array(ring.sab)
  const one = (w, at) => {
    sum = (sum + checksum(w, at)) >>> 0
    if (back) {
      const off = 256 + at * 4
      while (back.push(bytes, off, 1) === 0) back.waitForRoom(1)
    }
  }
  while (count < expect) {
    const n = ring.drain(one)
    count += n
    if (n === 0) ring.waitForData(50)
  }
  parentPort.postMessage({ done: { count, sum } })
}
