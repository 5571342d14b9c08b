'use strict'
// seqloop/explore (API.md §9): seeded schedule exploration, shrinking and replay, on planted races.
const { test } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { execFile, execFileSync, spawnSync } = require('node:child_process')
const execFileP = require('node:util').promisify(execFile)
const { explore } = require('seqloop/explore')
const { replay } = require('..')
const { replayFile } = require('../lib/replay.js')
const races = require('./fixtures/explore_races.js')
const { typeAndCheck, main: walkthrough } = require('../examples/explore-search.js')

const ROOT = path.join(__dirname, '..')
const CLI = path.join(ROOT, 'bin', 'seqloop.js')
const RACES = path.join(__dirname, 'fixtures', 'explore_races.js')

/** The `[key, choice]` pairs of a list of decisions. */
const pairs = (decisions) => decisions.map((d) => [d.key, d.choice])

/**
 * Checks that `decisions` is 1-minimal: the run fails with all of them, and passes with any one
 * of them put back to its default.
 */
async function assertMinimal (result, fn) {
  const decisions = result.shrunk.decisions
  const all = await explore.replay({ seed: result.seed, schedule: decisions }, fn)
  assert.equal(all.ok, false, 'the shrunk decisions fail')
  for (const d of decisions) {
    const rest = decisions.filter((x) => x !== d)
    const r = await explore.replay({ seed: result.seed, schedule: rest }, fn)
    assert.equal(r.ok, true, `without ${d.key} the run passes`)
  }
}

/**
 * Explores a planted race: it must fail with `message`, shrunk to exactly `decisions`, and the
 * shrunk decisions must be 1-minimal. Returns the result.
 */
async function plantedRace (fn, runs, message, decisions) {
  const r = await explore(fn, { runs, seed: 1 })
  assert.equal(r.ok, false)
  assert.equal(r.error.message, message)
  assert.deepEqual(r.shrunk.decisions, decisions)
  await assertMinimal(r, fn)
  return r
}

/** Writes `text` to a fresh temp file and returns its path. */
function tempFile (name, text) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seqloop-explore-'))
  const file = path.join(dir, name)
  fs.writeFileSync(file, text)
  return file
}

test('latest search wins: found within 200 runs, shrunk to the two responses that matter', async () => {
  const r = await explore(typeAndCheck, { runs: 200, seed: 1 })
  assert.equal(r.ok, false)
  assert.ok(r.runs <= 200)
  assert.equal(r.seed, 1 + r.runs - 1, 'run i has seed seed + i')
  assert.match(r.error.message, /^the box shows "results for a(b)?" after typing "abc"$/)
  // the failing run's schedule lists every decision: one latency per search
  assert.deepEqual(r.schedule.map((d) => d.key), ['io:0', 'io:1', 'io:2'])
  assert.ok(r.schedule.every((d) => d.kind === 'io_latency' && d.label === 'search' && d.default === 25))
  // "ab" (sent at 30 ms) answered after "abc" (sent at 60 ms): the only way to fail
  assert.deepEqual(r.shrunk.decisions.map((d) => d.key), ['io:1', 'io:2'])
  const [ab, abc] = r.shrunk.decisions.map((d) => d.choice)
  assert.ok(30 + ab > 60 + abc, `ab at ${30 + ab} ms arrives after abc at ${60 + abc} ms`)
  // shrinking also moves each latency as close to its default as still fails
  assert.equal(30 + ab, 60 + abc + 1, 'the slow answer is 1 ms late: the boundary of the race')
  // the shrunk schedule is the full schedule of the shrunk run: io:0 back at its default
  assert.deepEqual(pairs(r.shrunk.schedule), [['io:0', 25], ['io:1', ab], ['io:2', abc]])
  await assertMinimal(r, typeAndCheck)
})

test('replay of a failure fails the same way every time, with the same digest', async () => {
  const r = await explore(typeAndCheck, { runs: 200, seed: 1 })
  const first = await explore.replay(r, typeAndCheck)
  assert.equal(first.ok, false)
  assert.equal(first.error.message, r.error.message)
  assert.match(first.digest, /^[0-9a-f]{16}$/)
  assert.equal(first.trace, r.trace, 'the replay records the same trace as the failure')
  for (let i = 0; i < 5; i++) {
    const again = await explore.replay(r, typeAndCheck)
    assert.equal(again.ok, false)
    assert.equal(again.error.message, r.error.message)
    assert.equal(again.digest, first.digest)
  }
  // the shrunk schedule replays to a failure too
  const shrunk = await explore.replay({ seed: r.seed, schedule: r.shrunk.schedule }, typeAndCheck)
  assert.equal(shrunk.ok, false)
  assert.equal(shrunk.error.message, r.error.message)
  // the seed alone reproduces the failing run's schedule
  const bySeed = await explore.replay({ seed: r.seed }, typeAndCheck)
  assert.deepEqual(bySeed.schedule, r.schedule)
  assert.equal(bySeed.digest, first.digest)
})

test('the trace is a real recording: replay() and `seqloop replay` accept it', async () => {
  const r = await explore(typeAndCheck, { runs: 200, seed: 1 })
  const lines = r.trace.trim().split('\n').map((l) => JSON.parse(l))
  assert.equal(lines[0].seqloop_trace, 1)
  assert.deepEqual(lines[lines.length - 1], { type: 'end' })
  const dispatches = lines.filter((l) => l.type === 'dispatch')
  // three search answers (hostcall completions, in the order they arrived) and the two sleeps
  const answers = dispatches.filter((d) => d.kind === 'hostcall_complete')
  assert.equal(answers.length, 3)
  assert.equal(answers[answers.length - 1].outcome.value, r.error.message.match(/"(results for a+b*c?)"/)[1])
  assert.equal(dispatches.filter((d) => d.kind === 'inbound_event' && d.event_id === 'timeout').length, 2)
  for (let i = 1; i < dispatches.length; i++) assert.ok(dispatches[i].at >= dispatches[i - 1].at, 'virtual times only grow')
  const rep = replay(r.trace)
  assert.equal(rep.ok, true)
  assert.equal(rep.digest, (await explore.replay(r, typeAndCheck)).digest)
  const file = tempFile('search.jsonl', r.trace)
  assert.equal(replayFile(file).ok, true)
  const out = execFileSync(process.execPath, [CLI, 'replay', file], { encoding: 'utf8' })
  assert.match(out, new RegExp(`^ok: ${dispatches.length} dispatches replayed exactly, digest ${rep.digest}`))
  // a trace whose recorded dispatch was edited diverges: the CLI exits 1
  const lines2 = r.trace.split('\n')
  const k = lines2.findIndex((l) => l.includes('"type":"dispatch"') && l.includes('results for abc'))
  lines2[k] = lines2[k].replace('results for abc', 'results for abd')
  const diverged = tempFile('diverged.jsonl', lines2.join('\n'))
  const res = spawnSync(process.execPath, [CLI, 'replay', diverged], { encoding: 'utf8' })
  assert.equal(res.status, 1)
  assert.match(res.stdout, /first divergence/)
})

test('the README walkthrough is examples/explore-search.js, and prints what the README shows', async () => {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8')
  const section = readme.slice(readme.indexOf('### Exploring schedules'))
  const code = section.slice(section.indexOf('```js\n') + 6, section.indexOf('```\n', section.indexOf('```js\n') + 6))
  const shown = section.slice(section.indexOf('```sh\n') + 6, section.indexOf('```\n', section.indexOf('```sh\n') + 6))
  const example = fs.readFileSync(path.join(ROOT, 'examples', 'explore-search.js'), 'utf8')
  const exampleLines = new Set(example.split('\n').map((l) => l.trim()))
  for (const line of code.split('\n').map((l) => l.trim()).filter(Boolean)) {
    assert.ok(exampleLines.has(line), `README line is in the example: ${line}`)
  }
  // run the two commands the README shows and compare their output
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seqloop-walkthrough-'))
  const commands = shown.split('\n$ ').map((c) => c.replace(/^\$ /, ''))
  const outputs = []
  for (const block of commands) {
    const [command, ...expected] = block.trimEnd().split('\n')
    const argv = command.split(' ')
    const args = argv[0] === 'node' ? [path.join(ROOT, argv[1]), ...argv.slice(2)] : [CLI, ...argv.slice(2)]
    assert.ok(argv[0] === 'node' || (argv[0] === 'npx' && argv[1] === 'seqloop'), command)
    const out = execFileSync(process.execPath, args, { encoding: 'utf8', cwd: dir })
    assert.equal(out.trimEnd(), expected.join('\n'), `output of ${command}`)
    outputs.push(out)
  }
  assert.equal(outputs.length, 2)
  // and in this process: main() returns the failing result it printed
  const logged = []
  const log = console.log
  console.log = (...args) => logged.push(args.join(' '))
  let r
  try {
    r = await walkthrough(path.join(dir, 'again.jsonl'))
  } finally {
    console.log = log
  }
  assert.equal(logged.join('\n'), outputs[0].trimEnd())
  assert.equal(fs.readFileSync(path.join(dir, 'again.jsonl'), 'utf8'), fs.readFileSync(path.join(dir, 'search.jsonl'), 'utf8'))
  assert.equal(r.ok, false)
  assert.equal(r.seed, 9)
})

test('cache stampede: shrunk to the first fetch being slower than the gap between lookups', async () => {
  const r = await plantedRace(races.cacheStampede, 200, 'fetched user 7 2 times', [
    { key: 'io:0', kind: 'io_latency', choice: 31, default: 25, label: 'db', range: [0, 50] }
  ])
  // 30 ms is a tie with the second lookup (set in the same turn, after the fetch): no stampede
  const at30 = await explore.replay({ seed: r.seed, schedule: [{ key: 'io:0', choice: 30 }] }, races.cacheStampede)
  assert.equal(at30.ok, true)
})

test('retry with a timeout: shrunk to the first ack arriving after the 40 ms resend', async () => {
  const r = await plantedRace(races.retryDoubleFire, 200, 'the ack handler ran 2 times', [
    { key: 'io:0', kind: 'io_latency', choice: 41, default: 25, label: 'send', range: [0, 50] }
  ])
  // the resend's own latency does not matter: it is at its default in the shrunk run
  assert.deepEqual(pairs(r.shrunk.schedule), [['io:0', 41], ['io:1', 25]])
})

test('top-level setTimeout(0) vs setImmediate is a decision', async () => {
  const r = await plantedRace(races.topLevelOrder, 50, 'ran timeout then immediate', [
    { key: 'top:0', kind: 'timeout_vs_immediate', choice: 'timeout', default: 'immediate', at: 1, timeouts: 1 }
  ])
  const names = r.trace.split('\n').filter((l) => l.includes('"type":"dispatch"')).map((l) => JSON.parse(l).payload.name)
  assert.deepEqual(names.slice(0, 2), ['timeout', 'immediate'])
})

test('timers due in the same ms, set in different turns, are a decision', async () => {
  await plantedRace(races.sameMsOrder, 50, 'ran b then a', [
    { key: 'tie:0', kind: 'same_ms', choice: [1, 0], default: [0, 1], at: 10, turns: [0, 1], timers: 2 }
  ])
})

test('timers set in the same turn keep their order (no decision)', async () => {
  const r = await explore(async () => {
    const order = []
    for (const name of ['a', 'b', 'c']) setTimeout(() => order.push(name), 10)
    setImmediate(() => order.push('i1'))
    setImmediate(() => order.push('i2'))
    await new Promise((resolve) => setTimeout(resolve, 20))
    if (order.join() !== 'i1,i2,a,b,c') throw new Error(order.join())
  }, { runs: 100 })
  assert.deepEqual(r, { ok: true, runs: 100 })
})

test('a race-free body passes every run', async () => {
  const r = await explore(races.latestSearchFixed, { runs: 200, seed: 1 })
  assert.deepEqual(r, { ok: true, runs: 200 })
})

test('same seed, same schedule, digest and outcome in two child processes', async () => {
  const run = () => JSON.parse(execFileSync(process.execPath, [RACES], { encoding: 'utf8', cwd: ROOT }))
  const a = run()
  const b = run()
  assert.deepEqual(a, b)
  assert.equal(a.typeAndCheck.ok, false)
  assert.equal(a.busy.ok, true)
  assert.match(a.busy.seed5.digest, /^[0-9a-f]{16}$/)
  // and the same here, in this process
  const here = await explore.replay({ seed: 5 }, races.busy)
  assert.equal(here.digest, a.busy.seed5.digest)
  assert.deepEqual(here.schedule, a.busy.seed5.schedule)
  // other seeds give other schedules
  const other = await explore.replay({ seed: 6 }, races.busy)
  assert.notDeepEqual(other.schedule, here.schedule)
})

test('the clock is a fresh node-semantics fake for each run, and is uninstalled after', async () => {
  const realSetTimeout = globalThis.setTimeout
  const realDate = globalThis.Date
  const seen = []
  const r = await explore(async (ctx) => {
    assert.equal(ctx.clock.semantics, 'node')
    assert.equal(globalThis.setTimeout.clock, ctx.clock)
    assert.equal(Date.now(), 0, 'each run starts at 0')
    seen.push(ctx.seed)
    await new Promise((resolve) => setTimeout(resolve, 1000))
    assert.equal(Date.now(), 1000)
    if (ctx.seed === 12) throw new Error('planted')
  }, { runs: 5, seed: 10 })
  assert.equal(globalThis.setTimeout, realSetTimeout)
  assert.equal(globalThis.Date, realDate)
  assert.equal(r.ok, false)
  assert.equal(r.runs, 3)
  assert.equal(r.error.message, 'planted')
  assert.deepEqual(seen.slice(0, 3), [10, 11, 12])
})

test('toFake is passed to install', async () => {
  const realDate = globalThis.Date
  const r = await explore(async () => {
    assert.equal(globalThis.Date, realDate)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }, { runs: 2, toFake: ['setTimeout', 'clearTimeout', 'setImmediate'] })
  assert.equal(r.ok, true)
})

test('ctx.io: values, rejections, per-call latency ranges, real async functions', async () => {
  const r = await explore(async (ctx) => {
    const ok = ctx.io((x) => x + 1, { latencyMs: [5, 5] })
    const t0 = Date.now()
    assert.equal(await ok(1), 2, 'a plain value is delivered too')
    assert.equal(Date.now() - t0, 5)
    const bad = ctx.io(async () => { throw Object.assign(new Error('down'), { code: 'E_DOWN' }) })
    await assert.rejects(bad(), { code: 'E_DOWN' })
    const sync = ctx.io(() => { throw new Error('sync') })
    await assert.rejects(sync(), { message: 'sync' })
    // a function doing real I/O: the run waits for it at the delivery time
    const read = ctx.io(() => fs.promises.readFile(__filename, 'utf8'), { name: 'read' })
    assert.match(await read(), /seqloop\/explore/)
  }, { runs: 3 })
  assert.deepEqual(r, { ok: true, runs: 3 })
})

test('a failing io value is recorded as an error outcome', async () => {
  const r = await explore(async (ctx) => {
    const bad = ctx.io(async () => { throw Object.assign(new Error('down'), { code: 'E_DOWN' }) }, { name: 'svc' })
    await bad()
  }, { runs: 1 })
  assert.equal(r.ok, false)
  assert.equal(r.error.code, 'E_DOWN')
  const d = r.trace.split('\n').map((l) => l && JSON.parse(l)).find((l) => l && l.type === 'dispatch')
  assert.deepEqual(d.outcome, { type: 'error', code: 'E_DOWN', message: 'down' })
  assert.equal(replay(r.trace).ok, true)
})

test('a timer that throws fails the run with its error', async () => {
  const r = await explore(async () => {
    setTimeout(() => { throw new Error('from a timer') }, 3)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }, { runs: 1 })
  assert.equal(r.ok, false)
  assert.equal(r.error.message, 'from a timer')
})

test('a body waiting on nothing fails with ERR_EXPLORE_STALLED instead of hanging', async () => {
  const r = await explore(() => new Promise(() => {}), { runs: 3 })
  assert.equal(r.ok, false)
  assert.equal(r.error.code, 'ERR_EXPLORE_STALLED')
  assert.ok(r.error instanceof Error)
})

test('a body that never stops scheduling fails with ERR_LOOP_LIMIT', async () => {
  let ticks = 0
  const r = await explore(() => {
    setInterval(() => { ticks++ }, 1)
    return new Promise(() => {})
  }, { runs: 1, loopLimit: 500 })
  assert.equal(r.ok, false)
  assert.equal(r.error.code, 'ERR_LOOP_LIMIT')
  assert.match(r.error.message, /after running 500 timers/)
  assert.equal(ticks, 500 * 3, 'the failing run, its shrunk rerun and its recording ran 500 timers each')
})

test('ctx.io after its run ended throws ERR_INVALID_STATE', async () => {
  let late
  await explore(async (ctx) => { late = ctx.io(async () => 1) }, { runs: 1 })
  assert.throws(() => late(), { code: 'ERR_INVALID_STATE', name: 'TypeError' })
})

test('bad arguments are coded TypeErrors and RangeErrors', async () => {
  const body = async () => {}
  const cases = [
    [() => explore(42), TypeError, 'ERR_INVALID_ARG_TYPE'],
    [() => explore(body, 'fast'), TypeError, 'ERR_INVALID_ARG_TYPE'],
    [() => explore(body, { runs: '10' }), TypeError, 'ERR_INVALID_ARG_TYPE'],
    [() => explore(body, { runs: 0 }), RangeError, 'ERR_OUT_OF_RANGE'],
    [() => explore(body, { runs: 1.5 }), RangeError, 'ERR_OUT_OF_RANGE'],
    [() => explore(body, { runs: Infinity }), RangeError, 'ERR_OUT_OF_RANGE'],
    [() => explore(body, { seed: -1 }), RangeError, 'ERR_OUT_OF_RANGE'],
    [() => explore(body, { seed: 2 ** 32 }), RangeError, 'ERR_OUT_OF_RANGE'],
    [() => explore(body, { seed: NaN }), RangeError, 'ERR_OUT_OF_RANGE'],
    [() => explore(body, { latencyMs: 5 }), TypeError, 'ERR_INVALID_ARG_TYPE'],
    [() => explore(body, { latencyMs: [1, 2, 3] }), TypeError, 'ERR_INVALID_ARG_TYPE'],
    [() => explore(body, { latencyMs: [10, 5] }), RangeError, 'ERR_OUT_OF_RANGE'],
    [() => explore(body, { latencyMs: [-1, 5] }), RangeError, 'ERR_OUT_OF_RANGE'],
    [() => explore(body, { latencyMs: [0, 2 ** 31] }), RangeError, 'ERR_OUT_OF_RANGE'],
    [() => explore(body, { toFake: 'setTimeout' }), TypeError, 'ERR_INVALID_ARG_TYPE'],
    [() => explore(body, { loopLimit: 0 }), RangeError, 'ERR_OUT_OF_RANGE'],
    [() => explore(body, { loopLimit: '9' }), TypeError, 'ERR_INVALID_ARG_TYPE'],
    [() => explore.replay(null, body), TypeError, 'ERR_INVALID_ARG_TYPE'],
    [() => explore.replay({ seed: 1 }, 'body'), TypeError, 'ERR_INVALID_ARG_TYPE'],
    [() => explore.replay({ seed: 'one' }, body), TypeError, 'ERR_INVALID_ARG_TYPE'],
    [() => explore.replay({ schedule: 'io:0=5' }, body), TypeError, 'ERR_INVALID_ARG_TYPE'],
    [() => explore.replay({ schedule: [null] }, body), TypeError, 'ERR_INVALID_ARG_TYPE'],
    [() => explore.replay({ schedule: [{ key: 'zz:0', choice: 1 }] }, body), TypeError, 'ERR_INVALID_ARG_VALUE'],
    [() => explore.replay({ schedule: [{ key: 'io:0', kind: 'same_ms', choice: 1 }] }, body), TypeError, 'ERR_INVALID_ARG_VALUE'],
    [() => explore.replay({ schedule: [{ key: 'io:0', choice: -1 }] }, body), TypeError, 'ERR_INVALID_ARG_VALUE'],
    [() => explore.replay({ schedule: [{ key: 'top:0', choice: 'sometimes' }] }, body), TypeError, 'ERR_INVALID_ARG_VALUE'],
    [() => explore.replay({ schedule: [{ key: 'tie:0', choice: [0, 0] }] }, body), TypeError, 'ERR_INVALID_ARG_VALUE']
  ]
  for (const [call, Class, code] of cases) {
    await assert.rejects(call, (err) => {
      assert.equal(err.code, code, `${call}: ${err.message}`)
      assert.equal(err.constructor, Class, `${call}: ${err.constructor.name}`)
      return true
    })
  }
  assert.equal(typeof globalThis.setTimeout.clock, 'undefined', 'nothing stays installed')
  // ctx.io checks its arguments when called (inside the body: the run fails with the error)
  for (const [bad, code] of [[[42], 'ERR_INVALID_ARG_TYPE'], [[() => 1, { latencyMs: [3, 1] }], 'ERR_OUT_OF_RANGE'], [[() => 1, { name: 7 }], 'ERR_INVALID_ARG_TYPE']]) {
    const r = await explore(async (ctx) => { ctx.io(...bad) }, { runs: 1 })
    assert.equal(r.ok, false)
    assert.equal(r.error.code, code)
  }
})

test('explore refuses to run while fake timers are installed (and leaves them)', async () => {
  // (only timers: a faked nextTick would swallow the test runner's own)
  const clock = require('seqloop/fake-timers').install({ toFake: ['setTimeout', 'clearTimeout', 'Date'] })
  try {
    await assert.rejects(explore(async () => {}), { code: 'ERR_INVALID_STATE' })
    assert.equal(globalThis.setTimeout.clock, clock)
  } finally {
    clock.uninstall()
  }
})

test('the ESM entry exports explore and replay', async () => {
  const m = await import('seqloop/explore')
  assert.equal(m.explore, explore)
  assert.equal(m.replay, explore.replay)
  assert.equal(m.default, explore)
})

test('shrinking keeps the same failure: it does not slip to another bug', async () => {
  // both answers slow: a RangeError; only the second slow: a different bug (a TypeError)
  const body = async (ctx) => {
    const f = ctx.io(async () => {})
    const t0 = Date.now()
    let a, b
    await Promise.all([f().then(() => { a = Date.now() - t0 }), f().then(() => { b = Date.now() - t0 })])
    if (a >= 40 && b >= 40) throw new RangeError('both slow')
    if (b >= 40) throw new TypeError('second slow')
  }
  let r
  for (let seed = 1; ; seed++) {
    r = await explore(body, { runs: 1, seed })
    if (!r.ok && r.error instanceof RangeError) break
  }
  assert.deepEqual(pairs(r.shrunk.decisions), [['io:0', 40], ['io:1', 40]])
  const slipped = await explore.replay({ seed: r.seed, schedule: [r.shrunk.decisions[1]] }, body)
  assert.ok(slipped.error instanceof TypeError, 'the second decision alone is the other bug')
})

test('loaded while fake timers were installed, explore still drives its runs with the real loop', () => {
  const script = `
    const ft = require('seqloop/fake-timers')
    const clock = ft.install({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate', 'Date'] })
    delete require.cache[require.resolve('seqloop/explore')]
    const { explore } = require('seqloop/explore')
    clock.uninstall()
    explore(async () => { await new Promise((r) => setTimeout(r, 5)) }, { runs: 3 })
      .then((r) => process.stdout.write(JSON.stringify(r)))`
  const out = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8', cwd: ROOT })
  assert.deepEqual(JSON.parse(out), { ok: true, runs: 3 })
})

test('real I/O inside ctx.io: the run waits for it at its delivery time, and the trace is the same every time', async () => {
  const body = async (ctx) => {
    // a child process: tens of real ms, so its answer is still pending at its virtual delivery time
    const name = ctx.io(async () => (await execFileP(process.execPath, ['-e', 'process.stdout.write("seqloop")'])).stdout, { name: 'read' })
    const fast = ctx.io(async () => 'fast', { latencyMs: [0, 0] })
    const got = []
    await Promise.all([name().then((v) => got.push(v)), fast().then((v) => got.push(v))])
    return got
  }
  const runs = []
  for (let i = 0; i < 3; i++) runs.push(await explore.replay({ seed: 4 }, body))
  for (const r of runs) {
    assert.equal(r.ok, true)
    assert.equal(r.digest, runs[0].digest)
    assert.equal(r.trace, runs[0].trace)
  }
  const outcomes = runs[0].trace.split('\n').filter((l) => l.includes('"type":"dispatch"')).map((l) => JSON.parse(l).outcome.value)
  assert.deepEqual(outcomes, ['fast', 'seqloop'], 'the read (latency 0..50, never 0 with seed 4) arrives second, with its value')
  assert.equal(replay(runs[0].trace).ok, true)
})

test('a clearTimeout race: the timer cleared by a same-ms neighbour runs when set in a later turn first', async () => {
  // `poll` is set at 5 ms for 5 ms; `stop` (set at 0 for 10 ms) clears it: both due at 10 ms
  const body = async () => {
    let poll = null
    let polled = false
    setTimeout(function arm () { poll = setTimeout(function check () { polled = true }, 5) }, 5)
    setTimeout(function stop () { clearTimeout(poll) }, 10)
    await new Promise((resolve) => setTimeout(resolve, 20))
    if (polled) throw new Error('polled after stop')
  }
  const r = await plantedRace(body, 100, 'polled after stop', [
    { key: 'tie:0', kind: 'same_ms', choice: [1, 0], default: [0, 1], at: 10, turns: [0, 1], timers: 2 }
  ])
  const names = r.trace.split('\n').filter((l) => l.includes('"type":"dispatch"')).map((l) => JSON.parse(l).payload.name)
  assert.deepEqual(names.slice(0, 3), ['arm', 'check', 'stop'])
})

test('shrinking from many perturbed decisions down to the two that matter', async () => {
  // eight analytics pings (their latencies do not matter) around the search race
  const body = async (ctx) => {
    const ping = ctx.io(async () => 'ok', { name: 'ping' })
    const search = ctx.io(async (q) => q, { name: 'search' })
    let shown = null
    const type = async (q) => { shown = await search(q) }
    const all = [ping(), ping(), type('a'), ping(), ping()]
    await new Promise((resolve) => setTimeout(resolve, 30))
    all.push(ping(), ping(), type('ab'), ping(), ping())
    await Promise.all(all)
    if (shown !== 'ab') throw new Error(`shows ${shown}`)
  }
  const r = await explore(body, { runs: 200, seed: 1 })
  assert.equal(r.ok, false)
  const keyOf = (label, nth) => r.schedule.filter((d) => d.label === label)[nth].key
  assert.ok(r.schedule.filter((d) => d.choice !== d.default).length >= 6, 'the failing run perturbed many decisions')
  assert.deepEqual(r.shrunk.decisions.map((d) => d.key), [keyOf('search', 0), keyOf('search', 1)])
  const [a, ab] = r.shrunk.decisions.map((d) => d.choice)
  assert.equal(a, 30 + ab + 1)
  await assertMinimal(r, body)
})

test('a clock installed outside explore has no hook', async () => {
  await explore(async () => {}, { runs: 1 })
  const clock = require('seqloop/fake-timers').install({ semantics: 'node', toFake: ['setTimeout'] })
  try {
    for (const m of ['_take', '_queue', '_fire']) assert.equal(Object.hasOwn(clock, m), false, m)
  } finally {
    clock.uninstall()
  }
})

test('a body that moves the clock itself (tickAsync) still explores, shrinks and replays', async () => {
  const body = async (ctx) => {
    const search = ctx.io(async (q) => q, { name: 'search' })
    let shown = null
    const type = async (q) => { shown = await search(q) }
    const typing = [type('a')]
    await ctx.clock.tickAsync(30)
    typing.push(type('ab'))
    await ctx.clock.tickAsync(100)
    await Promise.all(typing)
    if (shown !== 'ab') throw new Error(`shows ${shown}`)
  }
  const r = await explore(body, { runs: 200, seed: 1 })
  assert.equal(r.ok, false)
  assert.deepEqual(r.shrunk.decisions.map((d) => d.key), ['io:0', 'io:1'])
  await assertMinimal(r, body)
  const a = await explore.replay(r, body)
  const b = await explore.replay(r, body)
  assert.equal(a.ok, false)
  assert.equal(a.digest, b.digest)
  assert.equal(a.trace, r.trace)
})
