'use strict'
// `node examples/counter.js`: a key-affine counter service on ShardedWorkers (README).
const path = require('node:path')
const { ShardedWorkers } = require('seqloop')

async function main() {
  const workers = await ShardedWorkers.start(path.join(__dirname, 'counter-worker.js'), { shards: 2 })
  workers.on('error', (err) => console.error(`shard ${err.shardId}:`, err))

  const totals = new Map()
  workers.onMessage((key, view, meta) => {
    totals.set(key, new DataView(view.buffer, view.byteOffset, 8).getFloat64(0, true))
  })

  const keys = ['alice', 'bob', 'alice', 'carol', 'alice', 'bob']
  const increments = new Uint8Array([1, 2, 1, 5, 1, 2])
  const sent = workers.sendBatch(keys, increments, [1, 1, 1, 1, 1, 1])
  console.log(`sent ${sent}; alice is on shard ${workers.shardFor('alice')}`)

  const { handled, undelivered } = await workers.close() // drains, then stops the workers
  console.log({ handled, undelivered: undelivered.length, totals: Object.fromEntries([...totals].sort()) })
}

main()
