'use strict'
// seqloop/fake-timers' bookkeeping over the native TimerQueue (id windows, the insertion buffer,
// per-deadline batches), checked against @sinonjs/fake-timers on seeded random workloads.
const { test } = require('node:test')
const assert = require('node:assert/strict')

const sinon = require('@sinonjs/fake-timers')
const seqloop = require('seqloop/fake-timers')

const { seeded: rng } = require('./helpers.js')

/** Random timeouts, intervals, clears (by handle and by number), refreshes and ticks. */
function workload (FT, seed, steps) {
  const rnd = rng(seed)
  const c = FT.createClock(0, 1e6)
  const log = []
  const live = []
  const pick = () => live.splice(rnd(live.length), 1)[0]
  const add = (label) => {
    const kind = rnd(10)
    if (kind === 0) {
      let runs = 0
      const h = c.setInterval(() => {
        log.push(`${label}i@${c.now}`)
        if (++runs === 3) c.clearInterval(h)
      }, 1 + rnd(40))
      live.push(h)
    } else {
      const h = c.setTimeout(() => {
        log.push(`${label}@${c.now}`)
        if (rnd(4) === 0) live.push(c.setTimeout(() => log.push(`${label}+@${c.now}`), 1 + rnd(5)))
        if (rnd(6) === 0 && live.length !== 0) c.clearTimeout(pick())
      }, rnd(8) === 0 ? 1 + rnd(5) * 10 : 1 + rnd(300))
      live.push(h)
    }
  }
  for (let s = 0; s < steps; s++) {
    const op = rnd(10)
    if (op < 5) add(`t${s}`)
    else if (op < 7 && live.length !== 0) {
      const h = pick()
      if (rnd(2) === 0) c.clearTimeout(h)
      else c.clearTimeout(+h)
    } else if (op < 9) {
      log.push(`tick ${c.tick(rnd(30))} count=${c.countTimers()}`)
    } else {
      log.push(`next ${c.next()}`)
    }
  }
  log.push(`runAll ${c.runAll()} count=${c.countTimers()}`)
  return log
}

/** Runs `run(FT, seed, steps)` with sinon and with seqloop for each seed: the logs must match. */
function assertSameLogs (run, seeds, steps) {
  for (const seed of seeds) {
    const want = run(sinon, seed, steps)
    const got = run(seqloop, seed, steps)
    assert.equal(got.length, want.length, `seed ${seed}: log length`)
    assert.deepEqual(got, want, `seed ${seed}`)
  }
}

test('random timeouts, intervals, clears and ticks fire as with sinon (same log)', () => {
  assertSameLogs(workload, [1, 7, 42, 1234, 99991], 3000)
})

test('more timers due at one instant than one native batch holds, cleared from inside the batch', () => {
  const run = (FT) => {
    const c = FT.createClock()
    const log = []
    const hs = []
    for (let i = 0; i < 1000; i++) {
      hs.push(c.setTimeout(() => {
        log.push(i)
        if (i % 100 === 0) c.clearTimeout(hs[i + 300]) // a later entry, maybe in a later batch
      }, 10))
    }
    c.setImmediate(() => log.push('imm'))
    c.setTimeout(() => log.push('after'), 11)
    log.push(`tick ${c.tick(11)} count=${c.countTimers()}`)
    return log
  }
  const log = run(seqloop)
  // 0, 100 and 200 clear 300, 400 and 500; those then never run, so 600..800 do (600 clears 900).
  const cleared = [300, 400, 500, 900]
  const want = ['imm']
  for (let i = 0; i < 1000; i++) if (!cleared.includes(i)) want.push(i)
  want.push('after', 'tick 11 count=0')
  assert.deepEqual(log, want)
  assert.deepEqual(run(sinon), want)
})

test('a long-lived timer stays reachable by handle and by number while many others come and go', () => {
  const c = seqloop.createClock()
  const log = []
  const long = c.setTimeout(() => log.push('long'), 1e6)
  const longer = c.setTimeout(() => log.push('longer'), 2e6)
  let fired = 0
  for (let round = 0; round < 5; round++) {
    for (let i = 0; i < 10000; i++) c.setTimeout(() => { fired++ }, 1 + (i % 500))
    c.tick(500)
    // set+clear pairs that never reach the native queue
    for (let i = 0; i < 5000; i++) c.clearTimeout(c.setTimeout(() => log.push('cleared'), 5))
  }
  assert.equal(fired, 50000)
  assert.equal(c.countTimers(), 2)
  c.clearTimeout(+long)
  assert.equal(c.countTimers(), 1)
  assert.deepEqual(c.uninstall().map((t) => t.id), [longer.id])
  c.runAll()
  assert.deepEqual(log, ['longer'])
})

test('uninstall lists pending timers in creation order, a refreshed one last', () => {
  const c = seqloop.install({ toFake: ['setTimeout', 'clearTimeout'] })
  const a = setTimeout(() => {}, 30)
  const b = setTimeout(() => {}, 10)
  const d = setTimeout(() => {}, 20)
  a.refresh()
  const pending = c.uninstall()
  assert.deepEqual(pending.map((t) => t.id), [b.id, d.id, a.id])
})

test('a lone timer taken without the native queue keeps its place among later ones', () => {
  for (const FT of [sinon, seqloop]) {
    const c = FT.createClock()
    const log = []
    c.setTimeout(() => log.push(`A@${c.now}`), 10)
    c.tick(5) // A is alone and not due: it stays pending
    c.setTimeout(() => log.push(`B@${c.now}`), 2)
    c.setImmediate(() => log.push(`I@${c.now}`))
    c.setTimeout(() => log.push(`C@${c.now}`), 5)
    c.tick(10)
    const h = c.setInterval(() => {
      log.push(`R@${c.now}`)
      if (c.now >= 40) c.clearInterval(h)
    }, 10)
    c.tick(30)
    log.push(`count=${c.countTimers()}`)
    assert.deepEqual(log, ['I@5', 'B@7', 'A@10', 'C@10', 'R@25', 'R@35', 'R@45', 'count=0'])
  }
})

test('a batch given back after a timer joined its last deadline keeps (deadline, seq) order', () => {
  const run = (FT) => {
    const c = FT.createClock()
    const log = []
    const at = (label) => () => log.push(`${label}@${c.now}`)
    // Batches grow 1, 2, 4 deadlines: the third holds 20, 25, 30 and 40.
    for (const d of [1, 2, 3]) c.setTimeout(at(`P${d}`), d)
    c.setTimeout(() => { log.push('P20'); c.setTimeout(at('A'), 20) }, 20) // A due at 40
    c.setTimeout(() => { log.push('P25'); c.setTimeout(at('B'), 3) }, 25) // B due at 28
    c.setTimeout(at('P30'), 30)
    c.setTimeout(at('P40'), 40)
    c.runAll()
    return log
  }
  const want = run(sinon)
  assert.deepEqual(want.slice(-4), ['B@28', 'P30@30', 'P40@40', 'A@40'])
  assert.deepEqual(run(seqloop), want)
})

test('timers set inside a multi-deadline batch run in place, as with sinon', () => {
  const run = (FT) => {
    const c = FT.createClock()
    const log = []
    const at = (label) => () => log.push(`${label}@${c.now}`)
    // Pre-set timers at many deadlines: the native queue hands them back several at a time.
    for (let d = 10; d <= 200; d += 10) c.setTimeout(at(`P${d}`), d)
    c.setTimeout(() => {
      log.push(`X@${c.now}`)
      c.setTimeout(at('within'), 5) // 15: inside the batch, before P20
      c.setTimeout(at('last'), 30) // 40: at a deadline the batch may end on, after P40
      c.setTimeout(at('far'), 300)
    }, 10)
    c.next()
    c.next()
    c.setTimeout(at('fromOutside'), 1) // 11 (after P10 and X ran)
    c.runAll()
    return log
  }
  const want = run(sinon)
  assert.deepEqual(run(seqloop), want)
  assert.ok(want.indexOf('within@15') < want.indexOf('P20@20'))
  assert.ok(want.indexOf('P40@40') < want.indexOf('last@40'))
})

test('a timer cleared after its batch was popped, then refreshed, fires once at its new time', () => {
  // The first batch spans one deadline (5), the second two (10 and 11): the victim is popped
  // with the timer that clears and re-arms it, and keeps its id.
  const run = (FT) => {
    const c = FT.createClock()
    const log = []
    c.setTimeout(() => log.push(`a@${c.now}`), 5)
    let victim = null
    c.setTimeout(() => {
      log.push(`clear@${c.now}`)
      c.clearTimeout(victim)
      victim.refresh()
    }, 10)
    victim = c.setTimeout(() => log.push(`victim@${c.now}`), 11)
    c.setTimeout(() => log.push(`b@${c.now}`), 11)
    log.push(`tick ${c.tick(30)} count=${c.countTimers()}`)
    return log
  }
  const want = ['a@5', 'clear@10', 'b@11', 'victim@21', 'tick 30 count=0']
  assert.deepEqual(run(sinon), want)
  assert.deepEqual(run(seqloop), want)
})

test('a chain of timers passes far-off pending timers, ties and immediates in sinon\'s order', () => {
  // Each hop is the only new timer and usually due before everything queued, so it is taken
  // without the native queue; where it ties with or passes a queued timer it must not be.
  const run = (FT) => {
    const c = FT.createClock()
    const log = []
    const far = []
    for (let i = 0; i < 6; i++) far.push(c.setTimeout(() => log.push(`far${i}@${c.now}`), 20 + 2 * i))
    c.setTimeout(() => log.push(`early@${c.now}`), 5)
    let hops = 0
    const hop = () => {
      log.push(`hop${hops}@${c.now}`)
      hops++
      if (hops === 3) c.clearTimeout(far[0]) // the earliest far timer goes: 22 is next
      if (hops === 7) c.setImmediate(() => log.push(`imm@${c.now}`))
      if (hops === 9) c.setTimeout(() => log.push(`side@${c.now}`), 3)
      if (hops < 30) c.setTimeout(hop, 1)
    }
    c.setTimeout(hop, 1)
    log.push(`tick ${c.tick(40)} count=${c.countTimers()}`)
    return log
  }
  const want = run(sinon)
  assert.deepEqual(run(seqloop), want)
  assert.ok(want.indexOf('far1@22') < want.indexOf('hop21@22'), 'a far timer set before a hop due at its instant runs first')
  assert.ok(!want.includes('far0@20'))
})

/**
 * Like `workload`, plus refreshes (of pending, fired and cleared timers, also from inside
 * callbacks), immediates, chains of +1 ms timers and far-off timers: the paths of the batch
 * forget, the lanes' deadline floors and the shared insert staging.
 */
function busyWorkload (FT, seed, steps) {
  const rnd = rng(seed)
  const c = FT.createClock(0, 1e6)
  const log = []
  const all = []
  const pick = () => all[rnd(all.length)]
  for (let i = 0; i < 20; i++) all.push(c.setTimeout(() => log.push(`far${i}@${c.now}`), 5000 + rnd(50)))
  for (let s = 0; s < steps; s++) {
    const op = rnd(12)
    if (op < 4) {
      const label = `t${s}`
      all.push(c.setTimeout(() => {
        log.push(`${label}@${c.now}`)
        if (rnd(3) === 0) {
          let hops = 0
          const hop = () => { log.push(`${label}h${hops}@${c.now}`); if (++hops < 4) c.setTimeout(hop, 1) }
          c.setTimeout(hop, 1)
        }
        if (rnd(5) === 0 && all.length !== 0) { const h = pick(); c.clearTimeout(h); if (rnd(2) === 0) h.refresh() }
      }, rnd(6) === 0 ? 10 * rnd(4) : 1 + rnd(60)))
    } else if (op < 5) {
      const label = `i${s}`
      c.setImmediate(() => log.push(`${label}@${c.now}`))
    } else if (op < 7 && all.length !== 0) {
      c.clearTimeout(pick())
    } else if (op < 8 && all.length !== 0) {
      pick().refresh()
    } else if (op < 11) {
      log.push(`tick ${c.tick(rnd(25))} count=${c.countTimers()}`)
    } else {
      log.push(`next ${c.next()}`)
    }
  }
  log.push(`runAll ${c.runAll()} count=${c.countTimers()}`)
  return log
}

test('random refreshes, immediates, chains and far timers fire as with sinon (same log)', () => {
  assertSameLogs(busyWorkload, [3, 17, 4242, 31337], 1500)
})

/**
 * Small ticks between far-off timers (a lane answers "nothing due" from its lower bound of the
 * native deadlines, without asking the queue): the bound after a pop, after cancels of the
 * earliest timers, and after inserts below it, each checked by a timer that must fire.
 */
function smallTicks (FT, seed, steps) {
  const rnd = rng(seed)
  const c = FT.createClock(0, 1e6)
  const log = []
  const far = []
  for (let i = 0; i < 600; i++) far.push(c.setTimeout(() => log.push(`far${i}@${c.now}`), 50 + 10 * (i % 40)))
  for (let s = 0; s < steps; s++) {
    const op = rnd(8)
    if (op === 0 && far.length !== 0) c.clearTimeout(far.splice(rnd(Math.min(far.length, 5)), 1)[0])
    else if (op === 1) c.setTimeout(() => log.push(`near${s}@${c.now}`), 1 + rnd(3))
    else if (op === 2) far.push(c.setTimeout(() => log.push(`late${s}@${c.now}`), 20 + rnd(400)))
    else log.push(`tick ${c.tick(1)} count=${c.countTimers()}`)
  }
  log.push(`runAll ${c.runAll()} count=${c.countTimers()}`)
  return log
}

test('1 ms ticks between far-off timers fire what is due, after pops, cancels and inserts (same log as sinon)', () => {
  assertSameLogs(smallTicks, [5, 11, 2024], 1200)
})
