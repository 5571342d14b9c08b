'use strict'
// `npm run demo`: one small deterministic scenario, run twice — once through the data-level
// Scheduler (you dispatch), once through the EventLoop (the addon runs your callbacks) — and the
// dispatch order each produces. Run it again: the output is identical every time.
const { Scheduler, DeterministicClock, EventLoop } = require('../lib/index.js')

function schedulerDemo () {
  console.log('== Scheduler (data level): timers, hostcall completions, a stream, events')
  const clock = new DeterministicClock(0)
  const s = new Scheduler({ clock })
  const names = new Map()
  names.set(s.setTimeout(300), 'timeout 300ms')
  names.set(s.setTimeout(100), 'timeout 100ms (a)')
  names.set(s.setTimeout(100), 'timeout 100ms (b)')
  const cancelled = s.setTimeout(50)
  s.clearTimeout(cancelled)
  s.enqueueEvent('user.click', { x: 10, y: 20 })
  s.enqueueHostcallComplete('fetch-1', { type: 'success', value: { status: 200 } })
  s.enqueueStreamChunk('read-1', 0, 'hello ', false)
  s.enqueueStreamChunk('read-1', 1, 'world', true)
  s.enqueueHostcallComplete('fetch-2', { type: 'error', code: 'E_TIMEOUT', message: 'took too long' })
  const describe = (t) => {
    switch (t.kind) {
      case 'timer_fired': return `timer ${t.timerId} (${names.get(t.timerId)})`
      case 'inbound_event': return `event ${t.eventId} ${JSON.stringify(t.payload)}`
      default: return `hostcall ${t.callId} ${JSON.stringify(t.outcome)}`
    }
  }
  for (;;) {
    for (const t of s.drain(64)) console.log(`  t=${String(clock.nowMs()).padStart(3)}ms seq=${t.seq} ${describe(t)}`)
    const next = s.nextTimerDeadline()
    if (next === null) break
    clock.set(next)
  }
}

async function eventLoopDemo () {
  console.log('\n== EventLoop: the addon runs the callbacks; microtasks drain after each one (I2)')
  const loop = new EventLoop()
  const log = (msg) => console.log(`  t=${String(loop.now()).padStart(3)}ms ${msg}`)
  loop.setTimeout(() => {
    log('timer A')
    process.nextTick(() => log('  nextTick queued by A'))
    Promise.resolve().then(() => log('  promise reaction queued by A'))
  }, 10)
  loop.setTimeout(() => log('timer B (same deadline as A, set later: runs after A and its microtasks)'), 10)
  let beats = 0
  const iv = loop.setInterval(() => { log(`interval beat ${++beats}`); if (beats === 3) loop.clearInterval(iv) }, 15)
  loop.onEvent((id, payload) => log(`event ${id} ${JSON.stringify(payload)}`))
  loop.onStream('download', (chunk, info) => log(`stream chunk #${info.sequence} ${JSON.stringify(chunk)}${info.isFinal ? ' (final)' : ''}`))
  ;(async () => {
    const value = await loop.hostcall('db.query')
    log(`hostcall resolved with ${JSON.stringify(value)}; the await continuation runs in the same macrotask`)
  })()
  loop.setTimeout(() => {
    log('timer C completes the hostcall and sends stream chunks (they run later, in seq order)')
    loop.completeHostcall('db.query', { type: 'success', value: { rows: 3 } })
    loop.completeHostcall('download', { type: 'stream_chunk', sequence: 0, chunk: 'part-1', isFinal: false })
    loop.completeHostcall('download', { type: 'stream_chunk', sequence: 1, chunk: 'part-2', isFinal: true })
    loop.dispatchEvent('job.done', { ok: true })
  }, 20)
  const ran = await loop.runAll()
  console.log(`  ran ${ran} macrotasks; virtual time is now ${loop.now()}ms`)
}

schedulerDemo()
eventLoopDemo().catch((e) => { console.error(e); process.exitCode = 1 })
