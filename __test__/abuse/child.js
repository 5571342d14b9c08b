'use strict'
// Runs cases [from, to) of the matrix in this process, appending to `log` one line before each
// case (`S <id>`) and one after (`R <id> <json>`), so that when this process dies the driver
// knows which case killed it. Usage: node child.js <from> <to> <log> [full]
const fs = require('node:fs')

// Real timers, captured before any case can install fake ones.
const realSetTimeout = setTimeout
const realClearTimeout = clearTimeout
const realSetImmediate = setImmediate
const GLOBALS = ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'setImmediate',
  'clearImmediate', 'queueMicrotask', 'Date', 'performance', 'requestAnimationFrame',
  'cancelAnimationFrame', 'requestIdleCallback', 'cancelIdleCallback', 'Intl']
const saved = GLOBALS.map((k) => [k, Object.getOwnPropertyDescriptor(globalThis, k)])
const savedProcess = ['nextTick', 'hrtime'].map((k) => [k, Object.getOwnPropertyDescriptor(process, k)])

const { buildCases, RECEIVERS, cls, filler, fixture, DERIVED } = require('./cases.js')
const { VALUES } = require('./values.js')
const { members } = require('./entries.js')
const { classify } = require('./classify.js')

const [from, to, logPath, mode] = process.argv.slice(2)
const full = mode === 'full'
const { cases, mods } = buildCases(full)
const fd = fs.openSync(logPath, 'a')
const SENTINEL = new Error('abuse: a hostile getter threw')
let current = -1
let extra = []

function log (s) {
  fs.writeSync(fd, s + '\n')
}

process.on('unhandledRejection', (reason) => { extra.push(classify(reason, SENTINEL, 'unhandled rejection')) })
process.on('uncaughtException', (err) => { extra.push(classify(err, SENTINEL, 'uncaught exception')) })

function restoreGlobals () {
  for (const [k, d] of saved) {
    if (d) Object.defineProperty(globalThis, k, d)
    else delete globalThis[k]
  }
  for (const [k, d] of savedProcess) if (d) Object.defineProperty(process, k, d)
}

function settle (p) {
  return new Promise((resolve) => {
    const t = realSetTimeout(() => resolve({ o: 'ok', note: 'still pending' }), 1000)
    Promise.resolve(p).then(
      () => { realClearTimeout(t); resolve({ o: 'ok' }) },
      (err) => { realClearTimeout(t); resolve(classify(err, SENTINEL)) })
  })
}

async function runCase (c) {
  const m = mods[0][1]
  const fx = (name) => fixture(name, m)
  const ctx = { sentinel: SENTINEL, target: undefined, reentering: false }
  ctx.reenter = () => {
    // Calls back into the object under test (every method, plausible arguments), once.
    if (ctx.reentering || ctx.target == null) return
    ctx.reentering = true
    try {
      for (const [key, kind] of members(Object.getPrototypeOf(ctx.target))) {
        if (kind !== 'method' || /^(run|fastPaths|uninstall)$/.test(key)) continue
        for (const args of [[], ['k', 1], ['k', { type: 'success', value: 1 }]]) {
          try { const r = ctx.target[key](...args); if (r && typeof r.then === 'function') r.then(() => {}, () => {}) } catch {}
        }
      }
    } finally { ctx.reentering = false }
  }
  const e = c.e
  let fn
  let self
  if (e.kind === 'dmethod' || e.kind === 'dgetter') {
    const owner = e.derived ? DERIVED[e.derived](m, mods[1][1]) : (await fx(e.target))[e.key]()
    ctx.target = e.derived ? owner : undefined
    if (e.kind === 'dgetter') { void owner[e.dkey]; return { o: 'ok' } }
    fn = owner[e.dkey]
    self = owner
  } else if (e.kind === 'method' || e.kind === 'getter') {
    const C = cls(e, mods)
    let proto = C.prototype
    let d
    while (proto && !(d = Object.getOwnPropertyDescriptor(proto, e.key))) proto = Object.getPrototypeOf(proto)
    fn = e.kind === 'getter' ? d.get : d.value
    self = c.r !== undefined ? RECEIVERS[c.r][1](e, mods) : await fx(e.target)
    ctx.target = self
  } else if (e.kind === 'static') {
    fn = cls(e, mods)[e.key]
    self = cls(e, mods)
  } else if (e.kind === 'ctor') {
    fn = cls(e, mods)
  } else if (e.kind === 'fn') {
    fn = mods.find(([n]) => n === e.mod)[1][e.exp]
  } else if (e.kind === 'nsfn') {
    self = mods.find(([n]) => n === e.mod)[1][e.exp]
    fn = self[e.key]
  }
  const types = c.types.length ? c.types : ['unknown']
  const args = types.map((t) => filler(t, fx))
  if (c.r === undefined && e.kind !== 'getter') {
    if (c.p === -1) for (let i = 0; i < args.length; i++) args[i] = VALUES[c.v][1](ctx)
    else args[c.p] = VALUES[c.v][1](ctx)
  }
  let result
  try {
    result = e.kind === 'ctor' ? Reflect.construct(fn, args) : Reflect.apply(fn, self, args)
  } catch (err) {
    return classify(err, SENTINEL)
  }
  try {
    if (result && typeof result.uninstall === 'function') result.uninstall()
  } catch {}
  if (result && typeof result.then === 'function') return settle(result)
  return { o: 'ok' }
}

async function main () {
  for (let id = Number(from); id < Math.min(Number(to), cases.length); id++) {
    current = id
    log(`S ${id}`)
    extra = []
    let r
    try {
      r = await runCase(cases[id])
    } catch (err) {
      r = { o: 'harness', msg: String(err && err.stack) }
    }
    restoreGlobals()
    await new Promise((resolve) => realSetImmediate(resolve))
    // A rejection or exception seen after the case ran counts against it (the worse outcome).
    for (const x of extra) if (x.o !== 'ok' && x.o !== 'coded' && x.o !== 'propagated') r = x
    log(`R ${id} ${JSON.stringify(r)}`)
  }
  void current
  fs.closeSync(fd)
  process.exit(0)
}

main()
