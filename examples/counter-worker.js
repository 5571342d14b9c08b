'use strict'
// A key-affine counter shard: every key lives on one shard, so its count needs no lock.
const { shard } = require('seqloop/worker')

const counts = new Map()
shard.onBatch((batch) => {
  for (let i = 0; i < batch.count; i++) {
    const key = batch.keys[i]
    const total = (counts.get(key) ?? 0) + batch.bytes[batch.offsets[i]] // 1 byte: the increment
    counts.set(key, total)
    shard.sendBytes(key, new Float64Array([total])) // reply with the new total
  }
})
