'use strict'
// Smoke test of an installed seqloop, run from a consumer project (scripts/ci-release.sh copies it
// there): both entries load (CommonJS and ESM), a fake clock and a Scheduler work, the real topology
// comes from the hwloc linked into the addon, and the addon came from the platform package, with no
// libhwloc mapped into the process. Prints one JSON line; exits 1 on any mismatch.
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')

const seqloop = require('seqloop')
const FakeTimers = require('seqloop/fake-timers')

function fakeClock() {
  const fired = []
  const clock = FakeTimers.createClock(0)
  clock.setTimeout(() => fired.push('b'), 20)
  clock.setTimeout(() => fired.push('a'), 10)
  clock.tick(25)
  assert.deepEqual(fired, ['a', 'b'])
  assert.equal(clock.now, 25)

  const installed = FakeTimers.install({ now: 1000 })
  let ran = false
  try {
    setTimeout(() => { ran = true }, 5)
    installed.tick(5)
  } finally {
    installed.uninstall()
  }
  assert.equal(ran, true)
  return fired.join('')
}

function scheduler() {
  const clock = new seqloop.DeterministicClock(0)
  const s = new seqloop.Scheduler({ clock })
  const timer = s.setTimeout(100)
  s.enqueueEvent('evt-1', { n: 1 })
  clock.advance(100)
  const ticks = [s.tick(), s.tick(), s.tick()]
  const kinds = ticks.map((t) => t && t.kind)
  assert.deepEqual(kinds, ['inbound_event', 'timer_fired', null])
  assert.equal(ticks[1].timerId, timer)
  return kinds.join(',')
}

function addonFile() {
  const platformPackage = `seqloop-${process.platform}-${process.arch}-gnu`
  const dir = path.dirname(require.resolve(`${platformPackage}/package.json`))
  const maps = fs.readFileSync('/proc/self/maps', 'utf8')
  assert.ok(maps.includes(dir), `the addon is loaded from ${dir}`)
  assert.ok(!/libhwloc|libudev/.test(maps), 'no libhwloc or libudev in the process')
  return path.relative(process.cwd(), path.join(dir, fs.readdirSync(dir).find((f) => f.endsWith('.node'))))
}

async function main() {
  const fakeTimers = fakeClock()
  const ticks = scheduler()
  const topology = seqloop.ReactorTopologySnapshot.detect()
  assert.equal(topology.source, 'hwloc')
  assert.ok(topology.cores.length >= 1)
  const esm = await import('seqloop')
  const esmFake = await import('seqloop/fake-timers')
  assert.equal(esm.Scheduler, seqloop.Scheduler, 'the ESM entry re-exports the same classes')
  assert.equal(typeof esmFake.install, 'function')
  console.log(JSON.stringify({
    node: process.version,
    addon: addonFile(),
    fakeTimers,
    scheduler: ticks,
    topology: { source: topology.source, cores: topology.cores.length },
    esm: 'ok',
  }))
}

main().catch((err) => {
  console.error(err)
  process.exitCode = 1
})
