'use strict'
// Worker-thread teardown with live slab views and meshes (issue 18): run as a child process by
// __test__/abuse_teardown.test.js, which checks that this process runs to completion. Usage:
//   node teardown-child.js <scenario>
// Scenarios: terminate (worker terminated while it allocates, views and enqueues in a loop),
// exit (worker calls process.exit with views live), drop (worker ends normally, views live),
// main-exit (the main thread exits while a worker is busy and the main thread holds views).
const { Worker } = require('node:worker_threads')
const path = require('node:path')

const pkg = path.join(__dirname, '..', '..', 'index.js')
const body = `
const { parentPort, workerData } = require('node:worker_threads')
const { NumaSlabPool, ReactorMesh } = require(${JSON.stringify(pkg)})
const mesh = new ReactorMesh({ shardCount: 4, laneCapacity: 1 << 16 })
const pool = NumaSlabPool.fromManifest(mesh.placementManifest(), { slabCapacity: 4096, entrySizeBytes: 64, regionViews: true })
const region = pool.regionView(0)
const keep = []
const h = new Float64Array(3)
parentPort.postMessage('ready')
for (let i = 0; ; i++) {
  const a = pool.allocate(0)
  if (a) { a.buffer.fill(i & 255); keep.push(a); mesh.enqueueSlot(null, a.handle) }
  if (keep.length > 2000) pool.deallocate(keep.shift().handle)
  if (pool.allocateInto(0, h) >= 0) { region[pool.offsetOf(h[0], h[1], h[2])] = 1; mesh.tryEnqueueSlot('k', h[0], h[1], h[2]); pool.deallocate(h[0], h[1], h[2]) }
  mesh.drainGlobalOrder(8)
  if (workerData.stopAfter && i === workerData.stopAfter) {
    if (workerData.how === 'exit') process.exit(0)
    break
  }
}
`

function start (workerData) {
  const w = new Worker(body, { eval: true, workerData })
  return new Promise((resolve, reject) => {
    w.once('error', reject)
    w.once('message', () => resolve(w))
  })
}

async function main (scenario) {
  const { NumaSlabPool } = require(pkg)
  const mine = NumaSlabPool.fromNodes([0], { slabCapacity: 16, entrySizeBytes: 32 })
  const held = [mine.allocate(0), mine.allocate(0)]
  for (let round = 0; round < 4; round++) {
    if (scenario === 'terminate') {
      const w = await start({})
      await new Promise((resolve) => setTimeout(resolve, 5 + 20 * round))
      await w.terminate()
    } else if (scenario === 'exit' || scenario === 'drop') {
      const w = await start({ stopAfter: 5000, how: scenario })
      await new Promise((resolve) => w.once('exit', resolve))
    } else if (scenario === 'main-exit') {
      await start({})
      held[0].buffer.fill(3)
      process.stdout.write('done\n')
      process.exit(0)
    }
  }
  if (typeof global.gc !== 'function') throw new Error('teardown-child.js needs --expose-gc (abuse_teardown.test.js passes it)')
  global.gc()
  held[0].buffer.fill(1)
  if (!mine.deallocate(held[0].handle) || held[0].buffer.byteLength !== 0) throw new Error('main pool broken')
  process.stdout.write('done\n')
}

main(process.argv[2]).catch((e) => { console.error(e); process.exit(2) })
