'use strict'
// `npx seqloop export --format chrome`: the Chrome Trace Event file it writes is valid against the
// format (checked event by event), has one track per macrotask kind (one per shard for a mesh's
// per-shard traces), places each dispatch at its virtual time, and the command fails like the other
// subcommands. The rendering in a real Chromium is __test__/chrome/ (npm run test:chrome).
const { test } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { spawnSync } = require('node:child_process')
const { Scheduler, replay } = require('..')
const { checkChromeTrace, schedulerTrace, eventLoopTrace, meshTraces, put, dispatches } = require('./chrome/trace-format.js')

const CLI = path.join(__dirname, '..', 'bin', 'seqloop.js')
const cli = (...args) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' })
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seqloop-export-'))
process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }))

/** Runs `seqloop export --format chrome <files> -o out` and returns the parsed output. */
function exported (files, name = 'out.json') {
  const out = path.join(dir, name)
  const r = cli('export', '--format', 'chrome', ...files, '-o', out)
  assert.equal(r.status, 0, r.stderr)
  assert.equal(r.stderr, '')
  return JSON.parse(fs.readFileSync(out, 'utf8'))
}

test('a scheduler trace: one track per macrotask kind, every dispatch a slice at its virtual time', () => {
  const jsonl = schedulerTrace()
  const records = dispatches(jsonl)
  const trace = exported([put(dir, 'run.jsonl', jsonl)])
  const { tracks, slices, processes } = checkChromeTrace(trace)
  assert.deepEqual([...tracks.values()], ['timer_fired', 'hostcall_complete', 'inbound_event'])
  assert.deepEqual([...processes.values()], ['seqloop run.jsonl'])
  const all = [...slices.values()].flat().sort((a, b) => a.args.seq - b.args.seq)
  assert.deepEqual(all.map((e) => e.args.seq), records.map((r) => r.seq), 'every dispatch, once')
  const origin = Math.min(...records.map((r) => r.at))
  for (const e of all) {
    const r = records.find((x) => x.seq === e.args.seq)
    assert.equal(tracks.get(`${e.pid}:${e.tid}`), r.kind, 'on its kind\'s track')
    assert.equal(e.cat, r.kind)
    // inside its millisecond: [at, at + 1) from the first dispatch
    assert.ok(e.ts >= (r.at - origin) * 1000 && e.ts + e.dur <= (r.at - origin + 1) * 1000, `seq ${r.seq} at ${r.at} ms: ts ${e.ts}`)
    // the record itself (seq, ids, payload) is in args, and where it is in the file
    for (const [k, v] of Object.entries(r)) if (k !== 'type') assert.deepEqual(e.args[k], v, `args.${k}`)
    assert.deepEqual(Object.keys(e.args), [...Object.keys(r).filter((k) => k !== 'type'), 'record', 'line'], 'the record\'s fields in its order (seq first), then where it is')
    assert.equal(jsonl.split('\n')[e.args.line - 1], JSON.stringify(r), 'args.line is the record\'s line')
  }
  assert.deepEqual(all.map((e) => e.name), ['event boot', 'hostcall call-1', 'timer 1', 'timer 2', 'event click', 'timer 3'])
  // the two timers of the same millisecond share it, in dispatch order, without overlapping
  const [t1, t2] = slices.get(`${all[2].pid}:${all[2].tid}`)
  assert.equal(t1.ts, 10000)
  assert.equal(t2.ts, 10500)
  assert.equal(t1.dur, 500)
  assert.equal(trace.otherData.origin_ms, 1000)
  assert.equal(trace.displayTimeUnit, 'ms')
})

test('an EventLoop trace gets an immediate track', async () => {
  const trace = exported([put(dir, 'loop.jsonl', await eventLoopTrace())], 'loop.json')
  const { tracks, slices } = checkChromeTrace(trace)
  assert.deepEqual([...tracks.values()], ['timer_fired', 'immediate'])
  assert.deepEqual(slices.get('1:1').map((e) => e.name), ['timer 1'])
  assert.deepEqual(slices.get('1:2').map((e) => e.name), ['immediate 1', 'immediate 2'])
})

test('a mesh\'s per-shard traces: one track per shard, each holding exactly that shard\'s dispatches', () => {
  const shards = meshTraces(3)
  const files = shards.map((t, i) => put(dir, `shard-${i}.jsonl`, t))
  const trace = exported(files, 'mesh.json')
  const { tracks, slices } = checkChromeTrace(trace)
  assert.deepEqual([...tracks.values()], ['shard-0.jsonl', 'shard-1.jsonl', 'shard-2.jsonl'])
  shards.forEach((jsonl, i) => {
    const mine = slices.get(`1:${i + 1}`)
    assert.deepEqual(mine.map((e) => [e.args.seq, e.args.kind, e.args.event_id || e.args.call_id]),
      dispatches(jsonl).map((r) => [r.seq, r.kind, r.event_id || r.call_id]), `shard ${i}`)
  })
  assert.equal(trace.otherData.tracks, 3)
  assert.equal(trace.otherData.slices, shards.reduce((n, t) => n + dispatches(t).length, 0))
  // a header that names its shard (`shard_id`) names the track; such a file still replays
  const named = shards.map((t, i) => put(dir, `named-${i}.jsonl`, t.replace('{"seqloop_trace":1,', `{"seqloop_trace":1,"shard_id":${i},`)))
  assert.equal(replay(fs.readFileSync(named[1], 'utf8')).ok, true)
  const { tracks: namedTracks } = checkChromeTrace(exported(named, 'named.json'))
  assert.deepEqual([...namedTracks.values()], ['shard 0', 'shard 1', 'shard 2'])
})

test('many dispatches in one millisecond and a clock that goes back stay in order on their track', () => {
  const readings = [5, 5, 5, 3, 3, 3, 3, 9, 9]
  let i = 0
  const s = new Scheduler({ record: true, clock: { nowMs: () => readings[Math.min(i++, readings.length - 1)] } })
  for (let k = 0; k < 3; k++) s.enqueueEvent(`e${k}`, k)
  for (let k = 0; k < 5; k++) s.tick()
  const jsonl = s.traceJsonl()
  const ats = dispatches(jsonl).map((r) => r.at)
  assert.ok(ats.some((a, k) => k > 0 && a < ats[k - 1]), `the recorded clock went back (${ats})`)
  const { slices } = checkChromeTrace(exported([put(dir, 'back.jsonl', jsonl)], 'back.json'))
  const events = slices.get('1:1')
  assert.equal(events.length, 3)
  assert.ok(events.some((e) => e.args.clamped === true), 'the slice recorded earlier than the one before is marked')
  for (const e of events) assert.equal(typeof e.args.at, 'number', 'the recorded time stays in args')

  const busy = new Scheduler({ record: true, clock: { nowMs: () => 7 } })
  for (let k = 0; k < 1000; k++) busy.enqueueEvent('e', k)
  while (busy.tick() !== null);
  const { slices: many } = checkChromeTrace(exported([put(dir, 'busy.jsonl', busy.traceJsonl())], 'busy.json'))
  const list = many.get('1:1')
  assert.equal(list.length, 1000)
  assert.ok(list[999].ts + list[999].dur <= 1000, 'all within the one millisecond')
  assert.equal(list[1].ts - list[0].ts, 1000 / 1024)
})

test('a record written another way (spaces, key order, escapes) is read as the addon reads it', () => {
  const jsonl = schedulerTrace()
  const records = dispatches(jsonl)
  const odd = jsonl.split('\n').map((line) => {
    if (!line.includes('"type":"dispatch"')) return line
    const r = JSON.parse(line)
    const { type, ...rest } = r
    void type
    // the type last, spelled with an escape, and the whole line spaced out
    return JSON.stringify(rest, null, 1).replace(/\n/g, ' ').replace(/}$/, ', "type": "dispatc\\u0068"}')
  }).join('\n')
  assert.equal(replay(odd).ok, true, 'the addon accepts it')
  const { slices } = checkChromeTrace(exported([put(dir, 'odd.jsonl', odd)], 'odd.json'))
  assert.deepEqual([...slices.values()].flat().map((e) => e.args.seq).sort((a, b) => a - b), records.map((r) => r.seq))
})

test('a trace with no dispatch exports an empty timeline', () => {
  const s = new Scheduler({ record: true })
  s.setTimeout(1000)
  const trace = exported([put(dir, 'empty.jsonl', s.traceJsonl())], 'empty.json')
  const { slices, processes } = checkChromeTrace(trace)
  assert.equal(slices.size, 0)
  assert.equal(processes.size, 1)
})

test('without -o the JSON goes to stdout, the same as the file', () => {
  const file = put(dir, 'stdout.jsonl', schedulerTrace())
  const r = cli('export', '--format=chrome', file)
  assert.equal(r.status, 0, r.stderr)
  const out = path.join(dir, 'stdout.json')
  assert.equal(cli('export', '--format', 'chrome', '--output', out, file).status, 0)
  assert.equal(r.stdout, fs.readFileSync(out, 'utf8'))
  checkChromeTrace(JSON.parse(r.stdout))
})

test('bad input and bad usage exit 2 with one line on stderr and nothing written', () => {
  const good = put(dir, 'good.jsonl', schedulerTrace())
  const truncated = put(dir, 'truncated.jsonl', schedulerTrace().replace('{"type":"end"}\n', ''))
  const notJson = put(dir, 'not-json.jsonl', 'hello\n')
  const cases = [
    [['export', '--format', 'chrome', path.join(dir, 'missing.jsonl')], /cannot read .*missing\.jsonl/],
    [['export', '--format', 'chrome', truncated], /truncated\.jsonl: truncated trace/],
    [['export', '--format', 'chrome', notJson], /not-json\.jsonl: line 1: not JSON/],
    [['export', '--format', 'chrome', good, truncated], /truncated\.jsonl/],
    [['export', '--format', 'svg', good], /unknown export format 'svg'/],
    [['export', good], /export needs --format chrome/],
    [['export', '--format', 'chrome'], /at least one trace file/],
    [['export', '--format', 'chrome', good, '-o'], /-o needs a value/],
    [['export', '--format', 'chrome', '--bogus', good], /unknown option '--bogus'/],
    [['export', '--format', 'chrome', good, '-o', path.join(dir, 'no', 'such', 'dir.json')], /cannot write/]
  ]
  for (const [args, message] of cases) {
    const r = cli(...args)
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`)
    assert.match(r.stderr, message)
    assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`)
    assert.ok(!/\n\s+at /.test(r.stderr), 'no stack trace')
    assert.equal(r.stdout, '')
  }
  const out = path.join(dir, 'never.json')
  cli('export', '--format', 'chrome', truncated, '-o', out)
  assert.equal(fs.existsSync(out), false, 'invalid input writes no file')
})

test('seqloop --help lists export', () => {
  const r = cli('--help')
  assert.equal(r.status, 0)
  assert.match(r.stdout, /seqloop export --format chrome <trace\.jsonl>\.\.\. \[-o out\.json\]/)
})
