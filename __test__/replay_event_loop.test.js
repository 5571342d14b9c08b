'use strict'
const { test } = require('node:test')
const assert = require('node:assert/strict')
const { execFileSync } = require('node:child_process')
const path = require('node:path')
const { EventLoop, replay, diffTraces } = require('..')

const ENTRY = JSON.stringify(path.join(__dirname, '..', 'lib', 'index.js'))

test('a recorded wall-clock EventLoop run with real timers and hostcalls replays exactly', async () => {
  const loop = new EventLoop({ clock: 'wall', record: true })
  const log = []
  loop.setTimeout(() => log.push('t15'), 15)
  loop.setTimeout(() => {
    log.push('t5')
    loop.setImmediate(() => log.push('immediate'))
  }, 5)
  const iv = loop.setInterval(() => { log.push('beat'); if (log.filter((l) => l === 'beat').length === 2) loop.clearInterval(iv) }, 4)
  loop.hostcall('db').then((v) => log.push(`db ${v.rows}`))
  loop.onEvent((id, p) => log.push(`event ${id} ${p.n}`))
  // Completed from real Node timers while the loop sleeps: wall-clock nondeterminism.
  setTimeout(() => {
    loop.completeHostcall('db', { type: 'success', value: { rows: 3 } })
    loop.dispatchEvent('ping', { n: 1 })
  }, 20)
  await loop.run()
  assert.ok(log.includes('db 3') && log.includes('event ping 1'), log.join())
  const jsonl = loop.traceJsonl()
  const trace = loop.trace()
  assert.equal(trace.version, 1)
  assert.ok(trace.records.filter((r) => r.type === 'dispatch').length >= 7)
  const fromJsonl = replay(jsonl)
  assert.deepEqual(fromJsonl, { ok: true, digest: loop.digest(), divergence: null, dispatches: fromJsonl.dispatches })
  assert.equal(replay(trace).digest, loop.digest())
})

test('EventLoop digests are equal across processes and change with the payload', () => {
  const script = (n) => `
    const { EventLoop } = require(${ENTRY})
    const loop = new EventLoop({ record: true })
    loop.setTimeout(() => {}, 10)
    loop.onEvent(() => {})
    loop.dispatchEvent('e', { n: ${n}, nested: [1, 'two', null] })
    loop.hostcall('c').catch(() => {})
    loop.completeHostcall('c', { type: 'error', code: 'E', message: 'm' })
    loop.runAll().then(() => process.stdout.write(loop.digest() + '\\n' + loop.traceJsonl()))
  `
  const run = (n) => execFileSync(process.execPath, ['-e', script(n)], { encoding: 'utf8' })
  const [a, b, c] = [run(1), run(1), run(2)]
  const digest = (out) => out.split('\n')[0]
  assert.match(digest(a), /^[0-9a-f]{16}$/)
  assert.equal(digest(a), digest(b), 'same run, same digest in another process')
  assert.notEqual(digest(a), digest(c), 'a changed payload changes the digest')
  const jsonl = (out) => out.slice(out.indexOf('\n') + 1)
  assert.equal(diffTraces(jsonl(a), jsonl(b)).equal, true)
  const d = diffTraces(jsonl(a), jsonl(c))
  assert.equal(d.equal, false)
  assert.equal(d.divergence.index, 0)
})

test('a recording EventLoop snapshots payloads at enqueue time and requires JSON', async () => {
  const loop = new EventLoop({ record: true })
  const payload = { n: 1 }
  const seen = []
  loop.onEvent((id, p) => seen.push(p))
  loop.dispatchEvent('e', payload)
  payload.n = 2 // mutated after the enqueue: the callback sees the object, the trace the snapshot
  await loop.runAll()
  assert.equal(seen[0], payload)
  const dispatch = loop.trace().records.find((r) => r.type === 'dispatch')
  assert.deepEqual(dispatch.payload, { n: 1 })
  assert.throws(() => loop.dispatchEvent('e', { f () {} }), { code: 'ERR_INVALID_ARG_TYPE' })
  const plain = new EventLoop()
  plain.dispatchEvent('e', new Map()) // not recording: any value, passed by reference
  assert.throws(() => plain.digest(), { code: 'ERR_NOT_RECORDING' })
  assert.throws(() => plain.trace(), { code: 'ERR_NOT_RECORDING' })
})
