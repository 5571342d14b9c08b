'use strict'
// The README's error table is the list of every stable error code the package throws, with the
// class each code is thrown with. This suite checks it against the source (every `ERR_*` string
// in src/binding and lib/, in string literals and in the `as_str` arms of the binding's error
// enum) and, for the codes that are cheap to trigger, against what a real call throws.
const { test } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { failureOf } = require('./helpers.js')

const ROOT = path.join(__dirname, '..')

// Codes that never reach JS: `ERR_PENDING` marks "an exception is already pending" inside the
// binding (throwing it re-throws the pending JS exception unchanged).
const INTERNAL = new Set(['ERR_PENDING'])

/** The `### Errors` table of README.md: code → class name. */
function readmeTable () {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8')
  const start = readme.indexOf('\n### Errors\n')
  assert.ok(start >= 0, 'README.md has a "### Errors" section')
  const rest = readme.slice(start + 1)
  const end = rest.search(/\n#{2,3} /)
  const section = end === -1 ? rest : rest.slice(0, end)
  const table = new Map()
  for (const line of section.split('\n')) {
    const m = /^\| `(ERR_[A-Z0-9_]+)` \| (\w+) \|/.exec(line)
    if (!m) continue
    assert.ok(!table.has(m[1]), `${m[1]} is listed once`)
    table.set(m[1], m[2])
  }
  assert.ok(table.size > 20, `the table has rows (found ${table.size})`)
  return table
}

function filesUnder (dir, exts) {
  const out = []
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name)
    if (entry.isDirectory()) out.push(...filesUnder(p, exts))
    else if (exts.some((e) => entry.name.endsWith(e)) && !entry.name.endsWith('.d.ts')) out.push(p)
  }
  return out
}

/** Every `ERR_*` code in a string literal of the binding's Rust and the package's JS. */
function sourceCodes () {
  const found = new Map() // code → first file
  const scan = (files, re) => {
    for (const f of files) {
      for (const m of fs.readFileSync(f, 'utf8').matchAll(re)) {
        if (!found.has(m[1])) found.set(m[1], path.relative(ROOT, f))
      }
    }
  }
  // Rust: "ERR_…" literals, whether in a call or in an `as_str()` match arm.
  scan(filesUnder(path.join(ROOT, 'src', 'binding'), ['.rs']), /"(ERR_[A-Z0-9_]+)"/g)
  // JS: '…' or "…" literals (comments and JSDoc name codes in backticks, which do not count).
  scan([...filesUnder(path.join(ROOT, 'lib'), ['.js', '.mjs']), ...filesUnder(path.join(ROOT, 'bin'), ['.js'])],
    /['"](ERR_[A-Z0-9_]+)['"]/g)
  for (const code of INTERNAL) found.delete(code)
  return found
}

test('the README error table lists exactly the codes the source throws', () => {
  const table = readmeTable()
  const source = sourceCodes()
  const missing = [...source.keys()].filter((c) => !table.has(c)).map((c) => `${c} (${source.get(c)})`)
  const stale = [...table.keys()].filter((c) => !source.has(c))
  assert.deepEqual(missing, [], 'codes thrown by the source but missing from README.md "### Errors"')
  assert.deepEqual(stale, [], 'codes in README.md "### Errors" that nothing throws')
  for (const code of INTERNAL) assert.ok(!table.has(code), `${code} is internal and not documented`)
})

test('every class in the table is a JS error class', () => {
  for (const [code, cls] of readmeTable()) {
    assert.ok(['Error', 'TypeError', 'RangeError', 'ReferenceError'].includes(cls), `${code}: ${cls}`)
  }
})

// ---- the class of each code, on real calls ---------------------------------------------------

const seqloop = require('..')
const {
  Scheduler, DeterministicClock, EventLoop, ReactorMesh, ReactorTopologySnapshot, NumaSlabPool, replay,
} = seqloop

/** Each entry: a code and a call (sync or async) that fails with it. */
const samples = {
  ERR_INVALID_ARG_TYPE: () => new Scheduler().setTimeout('10'),
  ERR_OUT_OF_RANGE: () => new Scheduler().setTimeout(-1),
  ERR_INVALID_ARG_VALUE: () => ReactorTopologySnapshot.synthetic('not a topology'),
  ERR_INVALID_THIS: () => Scheduler.prototype.tick.call({}),
  ERR_CONSTRUCT_CALL_REQUIRED: () => Scheduler(),
  ERR_ILLEGAL_CONSTRUCTOR: () => new NumaSlabPool(),
  ERR_CLOCK_FAILED: () => new Scheduler({ clock: { nowMs () { throw new Error('boom') } } }).setTimeout(1),
  ERR_INVALID_RETURN_VALUE: () => new Scheduler({ clock: { nowMs: () => 'soon' } }).setTimeout(1),
  ERR_REENTRANT_CALL: () => {
    const s = new Scheduler({ clock: new DeterministicClock(0) })
    let inner
    s.enqueueEvent('e', { get x () { try { s.tick() } catch (err) { inner = err } return 1 } })
    throw inner
  },
  ERR_NOT_RECORDING: () => new Scheduler().digest(),
  ERR_TRACE_INVALID: () => replay(''),
  ERR_TRACE_VERSION: () => replay('{"seqloop_trace":99,"created_by":"x","clock":"deterministic","max_timer_id":9007199254740991}\n{"type":"end"}\n'),
  // (lib/replay.js is the module behind `seqloop replay`; it is not a public export)
  ERR_TRACE_UNREADABLE: () => require('../lib/replay.js').readTrace(path.join(ROOT, 'no such trace.jsonl')),
  ERR_REACTOR_BACKPRESSURE: () => {
    const mesh = new ReactorMesh({ shardCount: 1, laneCapacity: 1 })
    mesh.enqueueEvent('a', 1)
    mesh.enqueueEvent('b', 2)
  },
  ERR_SLAB_STALE_HANDLE: () => {
    const pool = NumaSlabPool.fromNodes([0], { slabCapacity: 2, entrySizeBytes: 64 })
    const { handle } = pool.allocate(0)
    pool.deallocate(handle)
    pool.view(handle)
  },
  ERR_SLAB_REGION_VIEWS_DISABLED: () => NumaSlabPool.fromNodes([0], { slabCapacity: 2, entrySizeBytes: 64 }).regionView(0),
  ERR_LOOP_CLOCK: () => new EventLoop().run(),
  ERR_LOOP_LIMIT: () => {
    const loop = new EventLoop()
    loop.setInterval(() => {}, 1)
    return loop.runAll({ maxTicks: 3 })
  },
  ERR_LOOP_REENTRANT: async () => {
    const loop = new EventLoop()
    loop.setTimeout(() => {}, 1)
    const first = loop.runAll()
    try {
      await loop.runAll()
    } finally {
      await first
    }
  },
  ERR_HOSTCALL_PENDING: async () => {
    const loop = new EventLoop()
    const pending = loop.hostcall('a')
    try {
      loop.hostcall('a')
    } finally {
      loop.completeHostcall('a', { type: 'success', value: 1 })
      await loop.runAll()
      await pending
    }
  },
  ERR_UNKNOWN_HOSTCALL: () => new EventLoop().completeHostcall('nobody', { type: 'success', value: 1 }),
  ERR_INVALID_STATE: () => {
    const { withGlobal } = require('seqloop/fake-timers')
    const g = { Date, setTimeout, clearTimeout }
    const api = withGlobal(g)
    const clock = api.install({ toFake: ['setTimeout', 'clearTimeout'] })
    try {
      api.install({ toFake: ['setTimeout', 'clearTimeout'] })
    } finally {
      clock.uninstall()
    }
  },
  ERR_PENDING_TIMERS: () => {
    const g = { Date, setTimeout, clearTimeout }
    const clock = require('seqloop/fake-timers').withGlobal(g).install({ toFake: ['setTimeout'], failOnPending: true })
    g.setTimeout(() => {}, 10)
    clock.uninstall()
  },
  ERR_MISSING_TIMER: () => require('seqloop/fake-timers').withGlobal({ Date, setTimeout, clearTimeout }).install({ toFake: ['setImmediate'] }),
  ERR_EXPLORE_STALLED: async () => {
    const r = await require('seqloop/explore').explore(() => new Promise(() => {}), { runs: 1 })
    throw r.error
  },
  ERR_UNSUPPORTED_RUNNER: () => require('seqloop/vitest').checkVersion('1.0.0'),
}

/** The standard class an error is an instance of (a subclass of Error counts as Error). */
function kindOf (err) {
  for (const C of [TypeError, RangeError, ReferenceError, SyntaxError]) if (err instanceof C) return C.name
  return err instanceof Error ? 'Error' : typeof err
}

for (const [code, call] of Object.entries(samples)) {
  test(`${code} is thrown as the class the README gives it`, async () => {
    const cls = readmeTable().get(code)
    assert.ok(cls, `${code} is in the README table`)
    const err = await failureOf(call)
    assert.ok(err, `the sample call for ${code} failed`)
    assert.equal(err.code, code, `code of ${err.name}: ${err.message}`)
    assert.equal(kindOf(err), cls, `${code} is a ${cls} (got ${err.constructor.name}: ${err.message})`)
  })
}
