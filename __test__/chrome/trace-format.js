'use strict'
// What the export tests share: a checker of the Chrome Trace Event format (the JSON object form:
// "Trace Event Format", the document Chrome's tracing team keeps) and recorded traces to export,
// made by real recording schedulers.
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { Scheduler, DeterministicClock, EventLoop, ReactorMesh } = require('../..')

// The phases the format defines (duration B/E, complete X, instant i/I, counter C, async b/n/e and
// S/T/p/F, flow s/t/f, sample P, object N/O/D, metadata M, memory dump V/v, mark R, clock sync c,
// context ( and )).
const PHASES = new Set(['B', 'E', 'X', 'i', 'I', 'C', 'b', 'n', 'e', 'S', 'T', 'p', 'F', 's', 't', 'f', 'P',
  'N', 'O', 'D', 'M', 'V', 'v', 'R', 'c', '(', ')'])
const METADATA = new Set(['process_name', 'process_labels', 'process_sort_index', 'thread_name', 'thread_sort_index'])

const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v)

/**
 * Checks `trace` (parsed JSON) against the Trace Event format's object form and returns a summary:
 * `{ processes: Map(pid → name), tracks: Map('pid:tid' → name), slices: Map('pid:tid' → [X events]) }`.
 * Every event has `ph`, `name`, `pid`, `tid` and `ts` of the right types; an `X` event has a
 * non-negative `dur`; `args` is an object; metadata events carry `args.name` or `args.sort_index`;
 * on each track the slices come in time order without overlapping; every track and process that
 * has slices is named by a metadata event.
 */
function checkChromeTrace (trace) {
  assert.ok(isObject(trace), 'the object form: a JSON object')
  assert.ok(Array.isArray(trace.traceEvents), 'traceEvents is an array')
  if ('displayTimeUnit' in trace) assert.ok(['ms', 'ns'].includes(trace.displayTimeUnit), 'displayTimeUnit is ms or ns')
  if ('otherData' in trace) assert.ok(isObject(trace.otherData), 'otherData is an object')
  const processes = new Map()
  const tracks = new Map()
  const slices = new Map()
  trace.traceEvents.forEach((e, i) => {
    const at = `traceEvents[${i}]`
    assert.ok(isObject(e), `${at} is an object`)
    assert.equal(typeof e.ph, 'string', `${at}.ph is a string`)
    assert.ok(PHASES.has(e.ph), `${at}.ph '${e.ph}' is a phase of the format`)
    assert.equal(typeof e.name, 'string', `${at}.name is a string`)
    assert.ok(e.name.length > 0, `${at}.name is not empty`)
    for (const id of ['pid', 'tid']) assert.ok(Number.isSafeInteger(e[id]) && e[id] >= 0, `${at}.${id} is a non-negative integer`)
    assert.ok(typeof e.ts === 'number' && Number.isFinite(e.ts) && e.ts >= 0, `${at}.ts is a finite number of µs`)
    if ('cat' in e) assert.equal(typeof e.cat, 'string', `${at}.cat is a string`)
    if ('args' in e) assert.ok(isObject(e.args), `${at}.args is an object`)
    const key = `${e.pid}:${e.tid}`
    if (e.ph === 'M') {
      assert.ok(METADATA.has(e.name), `${at}: '${e.name}' is a metadata event name`)
      assert.ok(isObject(e.args), `${at}: metadata has args`)
      if (e.name.endsWith('_name')) {
        assert.equal(typeof e.args.name, 'string', `${at}.args.name is a string`)
        const names = e.name === 'process_name' ? processes : tracks
        const k = e.name === 'process_name' ? e.pid : key
        assert.ok(!names.has(k), `${at}: ${k} is named once`)
        names.set(k, e.args.name)
      }
      if (e.name.endsWith('_sort_index')) assert.ok(Number.isSafeInteger(e.args.sort_index), `${at}.args.sort_index is an integer`)
      return
    }
    if (e.ph === 'X') {
      assert.ok(typeof e.dur === 'number' && Number.isFinite(e.dur) && e.dur >= 0, `${at}.dur is a non-negative number`)
      if (!slices.has(key)) slices.set(key, [])
      const list = slices.get(key)
      const prev = list[list.length - 1]
      if (prev !== undefined) {
        assert.ok(e.ts >= prev.ts, `${at}: ts never decreases on track ${key} (${prev.ts} then ${e.ts})`)
        assert.ok(e.ts >= prev.ts + prev.dur, `${at}: does not overlap the slice before it on track ${key}`)
      }
      list.push(e)
    }
  })
  for (const key of slices.keys()) {
    assert.ok(tracks.has(key), `track ${key} is named (thread_name)`)
    assert.ok(processes.has(Number(key.split(':')[0])), `process of ${key} is named (process_name)`)
  }
  return { processes, tracks, slices }
}

/**
 * A recorded run with every scheduler kind: timers (two due in the same millisecond), events and
 * hostcall completions, over 30 virtual ms. Returns its JSONL.
 */
function schedulerTrace () {
  const clock = new DeterministicClock(1000)
  const s = new Scheduler({ clock, record: true })
  s.setTimeout(10)
  s.setTimeout(10)
  s.setTimeout(25)
  s.enqueueEvent('boot', { n: 0 })
  s.enqueueHostcallComplete('call-1', { type: 'success', value: { rows: 3 } })
  for (let ms = 0; ms <= 30; ms++) {
    if (ms === 12) s.enqueueEvent('click', { x: 1, y: 2 })
    while (s.tick() !== null);
    clock.advance(1)
  }
  return s.traceJsonl()
}

/** A recorded EventLoop run with immediates and timers. Returns its JSONL. */
async function eventLoopTrace () {
  const loop = new EventLoop({ record: true })
  loop.setImmediate(() => {})
  loop.setTimeout(() => loop.setImmediate(() => {}), 3)
  await loop.runAll()
  return loop.traceJsonl()
}

/**
 * The per-shard traces of a 3-shard mesh run: events routed by a ReactorMesh, each shard's
 * consumer a recording scheduler that handles its lane in order (what `record: true` gives a
 * mesh: one trace per shard, each replayable on its own). Returns the JSONL of each shard.
 */
function meshTraces (shardCount = 3) {
  const mesh = new ReactorMesh({ shardCount, laneCapacity: 64 })
  const clock = new DeterministicClock(0)
  const shards = Array.from({ length: shardCount }, () => new Scheduler({ clock, record: true }))
  for (let round = 0; round < 4; round++) {
    for (let k = 0; k < 6; k++) mesh.enqueueEvent(`msg-${round}-${k}`, { round, k })
    mesh.enqueueHostcallComplete(`call-${round}`, { type: 'success', value: round })
    for (let id = 0; id < shardCount; id++) {
      for (const env of mesh.drainShard(id, 64)) {
        const t = env.task
        if (t.kind === 'inbound_event') shards[id].enqueueEvent(t.eventId, { ...t.payload, globalSeq: env.globalSeq })
        else shards[id].enqueueHostcallComplete(t.callId, t.outcome)
        while (shards[id].tick() !== null);
      }
    }
    clock.advance(5)
  }
  return shards.map((s) => s.traceJsonl())
}

/** Writes `text` to `dir/name` and returns the path. */
function put (dir, name, text) {
  const file = path.join(dir, name)
  fs.writeFileSync(file, text)
  return file
}

/** The dispatch records of a JSONL trace, in order. */
function dispatches (jsonl) {
  return jsonl.split('\n').filter((l) => l.includes('"type":"dispatch"')).map((l) => JSON.parse(l))
}

module.exports = { checkChromeTrace, schedulerTrace, eventLoopTrace, meshTraces, put, dispatches }
