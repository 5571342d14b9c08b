'use strict'
// Record and replay (API.md §4): Scheduler#trace/traceJsonl/digest, replay(), diffTraces(),
// digests across processes, wall-clock replay, hand-edited traces and the `seqloop` CLI.
const test = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const fs = require('node:fs')
const os = require('node:os')
const { execFileSync, spawnSync } = require('node:child_process')

const seqloop = require('..')
const { Scheduler, DeterministicClock, replay, diffTraces } = seqloop

const INDEX = path.join(__dirname, '..', 'lib', 'index.js')
const CLI = path.join(__dirname, '..', 'bin', 'seqloop.js')
const HEX16 = /^[0-9a-f]{16}$/

// A fixed run: three timers (one cleared), a hostcall, a stream chunk and two events.
// Dispatch order: h1, e1, st, e2, timer 3, timer 1.
const SCENARIO = `
  const clock = new DeterministicClock(100)
  const s = new Scheduler({ clock, record: true })
  s.setTimeout(5)
  const t2 = s.setTimeout(5)
  s.setTimeout(1)
  s.enqueueHostcallComplete('h1', { type: 'success', value: { ok: true, n: 1.5 } })
  s.enqueueEvent('e1', { who: 'a' })
  s.enqueueStreamChunk('st', 0, 'c0', false)
  s.clearTimeout(t2)
  while (s.tick()) {}
  clock.advance(5)
  s.enqueueEvent('e2', [1, 2])
  while (s.tick()) {}
`

function scenario () {
  // eslint-disable-next-line no-new-func
  return new Function('Scheduler', 'DeterministicClock', SCENARIO + 'return s')(Scheduler, DeterministicClock)
}

function lines (jsonl) {
  return jsonl.trimEnd().split('\n')
}

function dispatchLines (ls) {
  return ls.map((l, i) => [l, i]).filter(([l]) => JSON.parse(l).type === 'dispatch').map(([, i]) => i)
}

test('a recording Scheduler exposes trace(), traceJsonl() and digest()', () => {
  const s = scenario()
  const t = s.trace()
  assert.equal(t.version, 1)
  assert.match(t.created_by, /^seqloop /)
  assert.equal(t.max_timer_id, Number.MAX_SAFE_INTEGER)
  assert.ok(t.records.every((r) => typeof r.type === 'string'))
  const dispatches = t.records.filter((r) => r.type === 'dispatch')
  assert.deepEqual(dispatches.map((d) => d.kind), [
    'hostcall_complete', 'inbound_event', 'hostcall_complete', 'inbound_event', 'timer_fired', 'timer_fired'
  ])
  assert.deepEqual(dispatches[0], {
    type: 'dispatch', seq: 3, at: 100, kind: 'hostcall_complete', call_id: 'h1',
    outcome: { type: 'success', value: { ok: true, n: 1.5 } }
  })
  assert.deepEqual(dispatches[4], { type: 'dispatch', seq: 7, at: 105, kind: 'timer_fired', timer_id: 3, deadline: 101 })
  assert.deepEqual(t.records[0], { type: 'clock', ms: 100 })
  assert.deepEqual(t.records[1], { type: 'set_timeout', delay: 5, id: 1, seq: 0 })

  const ls = lines(s.traceJsonl())
  assert.deepEqual(JSON.parse(ls[0]), {
    seqloop_trace: 1, clock: t.clock, created_by: t.created_by, max_timer_id: Number.MAX_SAFE_INTEGER
  })
  assert.ok(ls[0].startsWith('{"seqloop_trace":1,'))
  assert.equal(ls.at(-1), '{"type":"end"}')
  assert.deepEqual(ls.slice(1, -1).map((l) => JSON.parse(l)), t.records)

  assert.match(s.digest(), HEX16)
  // The digest is a fixed function of the dispatched sequence (same constant as tests/replay.rs
  // would give for this run; recomputed here from a second identical run).
  assert.equal(scenario().digest(), s.digest())
})

test('digest(), trace() and traceJsonl() throw ERR_NOT_RECORDING without record: true', () => {
  for (const s of [new Scheduler(), new Scheduler({ record: false })]) {
    s.enqueueEvent('e', 1)
    s.tick()
    for (const m of ['digest', 'trace', 'traceJsonl']) {
      assert.throws(() => s[m](), { name: 'Error', code: 'ERR_NOT_RECORDING' })
    }
  }
  assert.throws(() => new Scheduler({ record: 'yes' }), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' })
})

test('replay() of a recording is ok with the same digest, from the object and the JSONL', () => {
  const s = scenario()
  for (const input of [s.trace(), s.traceJsonl()]) {
    const r = replay(input)
    assert.deepEqual(r, { ok: true, digest: s.digest(), dispatches: 6, divergence: null })
  }
  assert.deepEqual(diffTraces(s.trace(), scenario().traceJsonl()), {
    equal: true, digestA: s.digest(), digestB: s.digest(), divergence: null
  })
})

test('the same run has the same digest in two other processes', () => {
  const script = `
    const { Scheduler, DeterministicClock } = require(${JSON.stringify(INDEX)})
    ${SCENARIO}
    process.stdout.write(s.digest())
  `
  const a = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' })
  const b = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' })
  assert.match(a, HEX16)
  assert.equal(a, b)
  assert.equal(a, scenario().digest())
})

test('a wall-clock run replays exactly, with the same digest', () => {
  const s = new Scheduler({ record: true })
  s.setTimeout(2)
  s.setTimeout(0)
  s.setTimeout(1)
  s.enqueueEvent('go', { at: 'wall' })
  let fired = 0
  while (fired < 4) {
    if (s.tick() !== null) fired++
  }
  assert.equal(s.timeUntilNextTimer(), null)
  const t = s.trace()
  assert.ok(t.records.find((r) => r.type === 'clock').ms > 1.6e12)
  for (const input of [t, s.traceJsonl()]) {
    const r = replay(input)
    assert.equal(r.ok, true, JSON.stringify(r.divergence))
    assert.equal(r.digest, s.digest())
  }
})

test('a custom { nowMs } clock is recorded and replayed', () => {
  let now = 7
  const s = new Scheduler({ clock: { nowMs: () => now }, record: true })
  s.setTimeout(3)
  now = 10
  assert.equal(s.tick().timerId, 1)
  assert.equal(s.trace().clock, 'custom')
  assert.equal(replay(s.traceJsonl()).ok, true)
})

test('hand-edited JSONL traces report the first divergence index', () => {
  const original = scenario()
  const ls = lines(original.traceJsonl())
  const d = dispatchLines(ls)
  assert.equal(d.length, 6)

  // Reorder: swap dispatches 1 and 2.
  const reordered = ls.slice()
  ;[reordered[d[1]], reordered[d[2]]] = [reordered[d[2]], reordered[d[1]]]
  let r = replay(reordered.join('\n'))
  assert.equal(r.ok, false)
  assert.equal(r.divergence.index, 1)
  assert.equal(r.divergence.record, d[1] - 1)
  assert.deepEqual(r.divergence.expected, JSON.parse(ls[d[2]]))
  assert.deepEqual(r.divergence.actual, JSON.parse(ls[d[1]]))

  // Drop dispatch 3: the replay runs it where the trace expects dispatch 4.
  const dropped = ls.filter((_, i) => i !== d[3])
  r = replay(dropped.join('\n'))
  assert.equal(r.divergence.index, 3)
  assert.deepEqual(r.divergence.actual, JSON.parse(ls[d[3]]))
  assert.deepEqual(r.divergence.expected, JSON.parse(ls[d[4]]))

  // Change the payload of dispatch 3 (event e2).
  const changed = ls.slice()
  const rec = JSON.parse(changed[d[3]])
  assert.equal(rec.event_id, 'e2')
  rec.payload = [1, 3]
  changed[d[3]] = JSON.stringify(rec)
  r = replay(changed.join('\n'))
  assert.equal(r.divergence.index, 3)
  assert.deepEqual(r.divergence.expected.payload, [1, 3])
  assert.deepEqual(r.divergence.actual.payload, [1, 2])

  // The same edits, compared as whole runs.
  assert.equal(diffTraces(ls.join('\n'), reordered.join('\n')).divergence.index, 1)
  assert.equal(diffTraces(ls.join('\n'), dropped.join('\n')).divergence.index, 3)
  const dc = diffTraces(ls.join('\n'), changed.join('\n'))
  assert.equal(dc.equal, false)
  assert.equal(dc.divergence.index, 3)
  assert.notEqual(dc.digestA, dc.digestB)
})

test('malformed traces throw ERR_TRACE_INVALID / ERR_TRACE_VERSION with what and where', () => {
  const ls = lines(scenario().traceJsonl())
  const bad = (input, code, re, name = code === 'ERR_TRACE_VERSION' ? 'Error' : 'TypeError') => {
    assert.throws(() => replay(input), (err) => {
      assert.equal(err.code, code)
      assert.equal(err.name, name)
      assert.match(err.message, re)
      assert.ok(!err.message.includes('\n'))
      return true
    })
  }
  bad('', 'ERR_TRACE_INVALID', /empty trace/)
  bad('not json\n', 'ERR_TRACE_INVALID', /^line 1: not JSON/)
  bad('{"hello":1}\n', 'ERR_TRACE_INVALID', /^line 1: not a seqloop trace header/)
  bad(ls.slice(0, 5).join('\n'), 'ERR_TRACE_INVALID', /truncated trace: .* after line 5/)
  bad(ls.join('\n').slice(0, 200), 'ERR_TRACE_INVALID', /^line \d+: not JSON/)
  const broken = ls.slice()
  broken[3] = '{"type":"set_timeout","delay":"soon"}'
  bad(broken.join('\n'), 'ERR_TRACE_INVALID', /^line 4: bad "set_timeout" record/)
  bad(ls.join('\n').replace('"seqloop_trace":1', '"seqloop_trace":2'), 'ERR_TRACE_VERSION', /version 2/)
  bad({ version: 2, records: [] }, 'ERR_TRACE_VERSION', /version 2/)
  bad({ version: 1, records: [{ type: 'warp' }] }, 'ERR_TRACE_INVALID', /^records\[0\]: bad "warp" record/)
  bad({ version: 1 }, 'ERR_TRACE_INVALID', /"records" must be an array/)
  bad({ version: 1, records: [() => 1] }, 'ERR_TRACE_INVALID', /not JSON-compatible/)
  assert.throws(() => replay(42), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' })
  assert.throws(() => diffTraces(ls.join('\n')), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' })
})

test('the ESM entry exports replay and diffTraces', async () => {
  const esm = await import('../lib/index.mjs')
  assert.equal(esm.replay, replay)
  assert.equal(esm.diffTraces, diffTraces)
})

test('seqloop CLI: exit codes, printed divergence and one-line errors', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seqloop-replay-'))
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  const write = (name, text) => {
    const file = path.join(dir, name)
    fs.writeFileSync(file, text)
    return file
  }
  const cli = (...args) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' })
  const s = scenario()
  const ls = lines(s.traceJsonl())
  const d = dispatchLines(ls)
  const good = write('good.jsonl', s.traceJsonl())
  const swapped = ls.slice()
  ;[swapped[d[0]], swapped[d[1]]] = [swapped[d[1]], swapped[d[0]]]
  const edited = write('edited.jsonl', swapped.join('\n') + '\n')

  let r = cli('replay', good)
  assert.equal(r.status, 0, r.stderr)
  assert.match(r.stdout, new RegExp(`digest ${s.digest()}`))
  assert.equal(r.stderr, '')

  r = cli('replay', edited)
  assert.equal(r.status, 1)
  assert.match(r.stdout, /first divergence at dispatch index 0 \(record \d+, line (\d+)\)/)
  assert.equal(Number(/line (\d+)/.exec(r.stdout)[1]), d[0] + 1)
  assert.match(r.stdout, /recorded: \{"type":"dispatch"/)

  r = cli('diff', good, good)
  assert.equal(r.status, 0)
  assert.match(r.stdout, new RegExp(`equal: digest ${s.digest()}`))
  r = cli('diff', good, edited)
  assert.equal(r.status, 1)
  assert.match(r.stdout, /first divergence at dispatch index 0/)
  assert.match(r.stdout, /expected \(.*good\.jsonl\): \{"type":"dispatch","seq":3/)
  assert.match(r.stdout, /actual \(.*edited\.jsonl\)\s*: \{"type":"dispatch","seq":4/)

  const unusable = {
    missing: [path.join(dir, 'nope.jsonl'), /cannot read .*nope\.jsonl: ENOENT/],
    directory: [dir, /cannot read .*: EISDIR/],
    empty: [write('empty.jsonl', ''), /empty\.jsonl: empty trace/],
    notJson: [write('text.jsonl', 'hello world\n'), /text\.jsonl: line 1: not JSON/],
    truncated: [write('cut.jsonl', ls.slice(0, 9).join('\n') + '\n'), /cut\.jsonl: truncated trace/],
    cutMidLine: [write('mid.jsonl', s.traceJsonl().slice(0, 300)), /mid\.jsonl: line \d+: not JSON/],
    version: [write('v9.jsonl', s.traceJsonl().replace('"seqloop_trace":1', '"seqloop_trace":9')),
      /v9\.jsonl: unsupported trace version 9/]
  }
  for (const [kind, [file, re]] of Object.entries(unusable)) {
    for (const args of [['replay', file], ['diff', good, file], ['diff', file, good]]) {
      r = cli(...args)
      assert.equal(r.status, 2, `${kind} ${args}: ${r.stdout}`)
      assert.equal(r.stdout, '')
      assert.match(r.stderr, /^seqloop: /)
      assert.match(r.stderr, re)
      assert.equal(r.stderr.trimEnd().split('\n').length, 1, `${kind}: ${r.stderr}`)
      assert.doesNotMatch(r.stderr, /\n\s+at /)
    }
  }

  r = cli('--help')
  assert.equal(r.status, 0)
  assert.match(r.stdout, /seqloop replay <trace\.jsonl>/)
  assert.match(r.stdout, /seqloop diff <a\.jsonl> <b\.jsonl>/)
  for (const args of [[], ['replay'], ['diff', good], ['frobnicate', good]]) {
    r = cli(...args)
    assert.equal(r.status, 2)
    assert.equal(r.stderr.trimEnd().split('\n').length, 1)
    assert.match(r.stderr, /see seqloop --help/)
  }
})
