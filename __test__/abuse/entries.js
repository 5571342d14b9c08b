'use strict'
// The entry points of the abuse matrix, generated from the package's exports: every class
// (constructor, static methods, prototype methods and getters up the prototype chain), every
// function, every function of an exported namespace object, and the functions of the objects
// `fastPaths()` / `rawFunctions()` return. Argument counts and plausible argument values come
// from the published type declarations (index.d.ts, lib/*.d.ts), so a new method is covered
// without touching this file. A new class needs an instance recipe in FIXTURES (the test fails
// naming it otherwise).
const fs = require('node:fs')
const path = require('node:path')

const root = path.join(__dirname, '..', '..')

function load () {
  // The package's own name resolves through its `exports` map (self-reference).
  return [
    ['seqloop', require('seqloop')],
    ['seqloop/fake-timers', require('seqloop/fake-timers')],
  ]
}

/** `{ 'Class.method': [paramType, …], 'method': [...] }` from the declaration files. */
function signatures () {
  const out = new Map()
  for (const f of ['index.d.ts', 'lib/index.d.ts', 'lib/fake-timers.d.ts']) {
    let owner = ''
    for (const line of fs.readFileSync(path.join(root, f), 'utf8').split('\n')) {
      const cls = /^export (?:declare )?(?:class|interface) (\w+)/.exec(line)
      if (cls) { owner = cls[1]; continue }
      if (line.startsWith('}')) { owner = ''; continue }
      const m = /^\s*(?:export declare function |static |)(\w+)(?:<[^(]*>)? ?\(/.exec(line)
      if (!m) continue
      const params = split(balanced(line.slice(m[0].length))).filter((p) => p !== '' && !p.startsWith('...'))
        .map((p) => p.replace(/^\w+\??:\s*/, ''))
      const key = owner ? `${owner}.${m[1]}` : m[1]
      // Functions of a returned object (`fastPaths(): { insert(deadlineMs: number): number, … }`).
      const rest = line.slice(m[0].length)
      for (const f of rest.slice(rest.indexOf('{') + 1).matchAll(/(\w+)\(([^()]*)\)/g)) {
        const fkey = `${key}().${f[1]}`
        if (!out.has(fkey)) out.set(fkey, split(f[2]).filter((p) => p !== '' && !p.startsWith('...')).map((p) => p.replace(/^\w+\??:\s*/, '')))
      }
      if (!out.has(key)) out.set(key, params)
      if (!out.has(m[1])) out.set(m[1], params)
    }
  }
  return out
}

/** The text up to the parenthesis that closes an already opened one. */
function balanced (s) {
  let depth = 1
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '(') depth++
    if (s[i] === ')' && --depth === 0) return s.slice(0, i)
  }
  return s
}

function split (s) {
  const parts = []
  let depth = 0
  let cur = ''
  for (const ch of s) {
    if ('([{<'.includes(ch)) depth++
    if (')]}>'.includes(ch) && !(ch === '>' && cur.endsWith('='))) depth--
    if (ch === ',' && depth === 0) { parts.push(cur.trim()); cur = ''; continue }
    cur += ch
  }
  parts.push(cur.trim())
  return parts
}

/** A plausible value for a declared parameter type (`fx` gives fixture instances). */
function filler (type, fx) {
  const t = type.trim()
  if (/^'/.test(t)) return /^'([^']*)'/.exec(t)[1]
  if (/^number/.test(t)) return 1
  if (/^string/.test(t)) return 'k'
  if (/^boolean/.test(t)) return false
  if (/^Float64Array/.test(t)) return new Float64Array(12)
  if (/^Uint8Array/.test(t)) return new Uint8Array(16)
  if (/^SlabHandle|^WorkerSlot/.test(t)) return { nodeId: 0, slotIndex: 0, generation: 1 }
  if (/^ArrayBufferView/.test(t)) return new Uint8Array(16)
  if (/^ArrayLike/.test(t)) return [1]
  if (/^ReactorTopologySnapshot/.test(t)) return fx('ReactorTopologySnapshot')
  if (/^ReactorPlacementManifest/.test(t)) return fx('ReactorPlacementManifest')
  if (/^ThreadAffinityAdvice/.test(t)) return fx('ThreadAffinityAdvice')
  if (/^HostcallOutcome/.test(t)) return { type: 'success', value: 1 }
  if (/^HugepageStatus/.test(t)) return fx('HugepageStatus')
  if (/^Trace\b/.test(t)) return '{"type":"header","version":1}'
  if (/^\(|=>|Function|^callback/.test(t)) return () => {}
  if (/\[\]$|^Array/.test(t)) return []
  if (/^\{/.test(t)) return {}
  return undefined
}

/** Fresh valid instances, by class name. */
const FIXTURES = {
  DeterministicClock: (m) => new m.DeterministicClock(),
  WallClock: (m) => new m.WallClock(),
  Scheduler: (m) => new m.Scheduler(),
  EventLoop: (m) => new m.EventLoop(),
  TimerQueue: (m) => new m.TimerQueue(),
  HugepageStatus: (m) => m.HugepageStatus.evaluate({ enabled: true }, 4, 4),
  NumaSlab: (m) => new m.NumaSlab(0, 4),
  NumaSlabPool: (m) => {
    const p = m.NumaSlabPool.fromNodes([0], { slabCapacity: 4, entrySizeBytes: 16, regionViews: true })
    p.allocate(0)
    return p
  },
  NumaSlabTelemetry: (m) => m.NumaSlabPool.fromNodes([0], { slabCapacity: 1, entrySizeBytes: 8 }).telemetry(),
  ReactorTopologySnapshot: (m) => m.ReactorTopologySnapshot.fromCoreNodePairs([[0, 0], [1, 1]]),
  ReactorPlacementManifest: (m) => m.ReactorPlacementManifest.plan(2, m.ReactorTopologySnapshot.fromCoreNodePairs([[0, 0], [1, 1]])),
  ThreadAffinityAdvice: (m) => m.ReactorPlacementManifest.plan(1, null).affinityAdvice('advisory')[0],
  ReactorMesh: (m) => {
    const mesh = new m.ReactorMesh({ shardCount: 2, laneCapacity: 4 })
    mesh.enqueueEvent('e', { n: 1 })
    return mesh
  },
  ReactorMeshTelemetry: (m) => new m.ReactorMesh({ shardCount: 2, laneCapacity: 4 }).telemetry(),
  // One running instance per child process (starting workers per case would take minutes),
  // replaced when a case closed it. A promise: the child awaits fixtures.
  ShardedWorkers: (m) => sharedWorkers(m),
}

let workers = null
async function sharedWorkers (m) {
  if (workers) {
    const w = await workers
    if (w.telemetry().shards.every((s) => s.alive)) return w
  }
  workers = m.ShardedWorkers.start(path.join(__dirname, '..', 'fixtures', 'workers', 'echo.js'), { shards: 2, slabCapacity: 64, laneCapacity: 16, enforcement: 'advisory' })
    .then((w) => w.on('error', () => {}))
  return workers
}

/**
 * More instances of some classes, in states where more of each method runs: a recording loop
 * with a pending hostcall `'k'` and listeners (so `completeHostcall('k', …)` and
 * `dispatchEvent('k', …)` convert their payloads), a recording scheduler on a virtual clock, and
 * schedulers and loops whose clock misbehaves on demand.
 */
const VARIANTS = {
  EventLoop: {
    'pending hostcall, record': (m) => {
      const loop = new m.EventLoop({ record: true })
      loop.hostcall('k').catch(() => {})
      loop.onStream('k', () => {})
      loop.onEvent(() => {})
      loop.setTimeout(() => {}, 5)
      return loop
    },
    'pending interval': (m) => {
      const loop = new m.EventLoop()
      loop.setInterval(() => {}, 1)
      return loop
    },
  },
  Scheduler: {
    'record, virtual clock': (m) => {
      const s = new m.Scheduler({ record: true, clock: new m.DeterministicClock() })
      s.setTimeout(5)
      s.enqueueEvent('k', { n: 1 })
      return s
    },
  },
}

/** A fresh instance for a fixture name (`Class` or `Class[variant]`). */
function fixture (target, m) {
  const v = /^(\w+)\[(.+)\]$/.exec(target)
  return v ? VARIANTS[v[1]][v[2]](m) : FIXTURES[target](m)
}

/** Objects that are not classes but are handed out by the API, walked like instances. */
const DERIVED = {
  // A fake clock on a private global (never the real one).
  'seqloop/fake-timers:createClock()': (_m, ft) => ft.createClock(0),
  // The EventLoop's internal raw timer functions (not exported; the facade calls them with the
  // caller's arguments), each taking a loop handle first.
  'EventLoop internals: rawFunctions()': () => require('../../lib/event-loop.js').internals.rawFunctions(),
}

function isClass (name, v) {
  return typeof v === 'function' && /^[A-Z]/.test(name)
}

/** Own and inherited members of `proto` (first definition wins), up to Object.prototype. */
function members (proto) {
  const seen = new Map()
  for (let p = proto; p && p !== Object.prototype && p !== Function.prototype; p = Object.getPrototypeOf(p)) {
    for (const key of Object.getOwnPropertyNames(p)) {
      if (key === 'constructor' || key.startsWith('_') || seen.has(key)) continue
      const d = Object.getOwnPropertyDescriptor(p, key)
      if (d.get) seen.set(key, 'getter')
      else if (typeof d.value === 'function') seen.set(key, 'method')
    }
  }
  return seen
}

/**
 * Every entry point: `{ name, kind, arity, types, call }`, where kind is 'ctor' | 'static' |
 * 'fn' | 'method' | 'getter' and `target` (for methods and getters) names the fixture.
 */
function enumerate () {
  const sigs = signatures()
  const mods = load()
  const entries = []
  const missing = []
  const sig = (cls, name, fallback = 1) => {
    const t = sigs.get(`${cls}.${name}`) ?? sigs.get(name)
    return t ?? new Array(fallback).fill('unknown')
  }
  const classOf = (C) => (C.name === 'EventLoop' ? ['EventLoop', 'NativeEventLoop'] : [C.name])
  for (const [modName, mod] of mods) {
    for (const [name, v] of Object.entries(mod)) {
      if (modName === 'seqloop' && (name === 'install' || name === 'withGlobal')) continue // same functions as seqloop/fake-timers
      if (isClass(name, v)) {
        const owners = classOf(v)
        const types = sigs.get(`${owners[owners.length - 1]}.constructor`) ?? sigs.get(`${name}.constructor`) ?? ['unknown']
        entries.push({ name: `${name}()`, kind: 'ctor', mod: modName, exp: name, types })
        for (const key of Object.getOwnPropertyNames(v)) {
          if (['length', 'name', 'prototype', 'arguments', 'caller'].includes(key)) continue
          if (typeof v[key] !== 'function') continue
          entries.push({ name: `${name}.${key}`, kind: 'static', mod: modName, exp: name, key, types: sig(owners.at(-1), key) })
        }
        if (!FIXTURES[name]) { missing.push(name); continue }
        const targets = [name, ...Object.keys(VARIANTS[name] ?? {}).map((label) => `${name}[${label}]`)]
        for (const target of targets) {
          for (const [key, kind] of members(v.prototype)) {
            // Variants add states for methods; getters and receivers are covered by the plain one.
            if (target !== name && kind !== 'method') continue
            const types = owners.map((o) => sigs.get(`${o}.${key}`)).find(Boolean) ?? sig(name, key)
            entries.push({ name: `${target}#${key}`, kind, mod: modName, exp: name, key, target, types, variant: target !== name })
            if (target === name && kind === 'method' && /^(fastPaths|rawFunctions)$/.test(key)) {
              entries.push({ name: `${name}#${key}()`, kind: 'derived', mod: modName, exp: name, key, target: name })
            }
          }
        }
      } else if (typeof v === 'function') {
        entries.push({ name: `${modName}:${name}`, kind: 'fn', mod: modName, exp: name, types: sig('', name) })
      } else if (v && typeof v === 'object') {
        for (const [key, f] of Object.entries(v)) {
          // Node's own functions re-exported (fake-timers' `timers`) are not ours to test.
          if (f === globalThis[key] || f === process[key]) continue
          if (typeof f === 'function') entries.push({ name: `${modName}:${name}.${key}`, kind: 'nsfn', mod: modName, exp: name, key, types: sig('', key) })
        }
      }
    }
  }
  for (const dname of Object.keys(DERIVED)) {
    entries.push({ name: dname, kind: 'derived-root', derived: dname })
  }
  return { entries, missing, mods }
}

module.exports = { enumerate, signatures, filler, fixture, FIXTURES, VARIANTS, DERIVED, members, load }
