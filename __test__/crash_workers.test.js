'use strict'
// Worker threads (issue 18): a worker terminated, or exiting on its own, while its EventLoop's
// run sleeps, waits for a hostcall or runs callbacks must not abort the process. Each scenario
// runs in a child process (crash/child.js) so an abort is caught and named.
const test = require('node:test')
const assert = require('node:assert/strict')
const { runChild, summary } = require('./crash/child.js')

const MODES = ['sleep', 'hostcall', 'stream', 'interval', 'busy-virtual', 'idle', 'many']

function scenario (end) {
  return `
    const { Worker } = require('node:worker_threads')
    const modes = ${JSON.stringify(MODES)}
    const end = ${JSON.stringify(end)}
    const body = (mode) => \`
      const { EventLoop } = require(\${JSON.stringify(ROOT)})
      const { parentPort } = require('node:worker_threads')
      const mode = \${JSON.stringify(mode)}
      const loops = mode === 'many' ? 4 : 1
      for (let i = 0; i < loops; i++) {
        const kind = mode === 'many' ? ['sleep', 'hostcall', 'stream', 'busy-virtual'][i] : mode
        const loop = new EventLoop({ clock: kind === 'busy-virtual' ? 'virtual' : 'wall' })
        if (kind === 'sleep') loop.setTimeout(() => {}, 1e6)
        if (kind === 'hostcall') loop.hostcall('h').catch(() => {})
        if (kind === 'stream') loop.onStream('s', () => {})
        if (kind === 'interval') loop.setInterval(() => {}, 1)
        if (kind === 'busy-virtual') loop.setInterval(() => { for (let k = 0; k < 1e4; k++); }, 1)
        if (kind === 'busy-virtual') loop.runAll({ maxTicks: 2 ** 31 - 1 }).catch(() => {})
        else if (kind !== 'idle') loop.run().catch(() => {})
      }
      parentPort.postMessage('running')
      if (\${JSON.stringify(end)} === 'exit') setTimeout(() => process.exit(0), 2)
    \`
    let done = 0
    const rounds = 3
    function start (mode, round) {
      const w = new Worker(body(mode), { eval: true })
      w.on('message', () => { if (end === 'terminate') setTimeout(() => w.terminate(), 2) })
      w.on('error', (e) => { console.error(mode, e); process.exitCode = 5 })
      w.on('exit', () => {
        if (round + 1 < rounds) start(mode, round + 1)
        else if (++done === modes.length) console.log(JSON.stringify({ finished: done * rounds }))
      })
    }
    for (const m of modes) start(m, 0)
  `
}

for (const end of ['terminate', 'exit']) {
  test(`workers that ${end} while their EventLoop runs, sleeps or waits: the process runs to completion`, () => {
    const r = runChild(scenario(end))
    assert.equal(r.outcome, 'ok', summary(r))
    assert.deepEqual(JSON.parse(r.stdout.trim().split('\n').pop()), { finished: MODES.length * 3 })
  })
}
