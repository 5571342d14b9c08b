'use strict'
// The matrix: entry points × hostile values × argument positions, plus wrong receivers. The
// list is deterministic, so a case is named by its index in it (the child and the driver
// enumerate the same list).
const { enumerate, filler, fixture, FIXTURES, DERIVED, members } = require('./entries.js')
const { VALUES } = require('./values.js')

const RECEIVERS = [
  ['{}', () => ({})],
  ['null-prototype object', () => Object.create(null)],
  ['undefined', () => undefined],
  ['the prototype', (e, mods) => cls(e, mods).prototype],
  ['another class instance', (_e, mods) => FIXTURES.TimerQueue(mods[0][1])],
  ['proxy of an instance', (e, mods) => new Proxy(FIXTURES[e.target](mods[0][1]), {})],
]

function cls (e, mods) {
  return mods.find(([n]) => n === e.mod)[1][e.exp]
}

/** Functions of an object a method returns (fastPaths, rawFunctions, a fake clock). */
function derivedNames (obj) {
  const out = []
  for (const key of Object.keys(obj)) {
    const d = Object.getOwnPropertyDescriptor(obj, key)
    if (key.startsWith('_')) continue
    if (typeof d.value === 'function') out.push([key, 'dmethod'])
    else if (d.get) out.push([key, 'dgetter'])
  }
  for (const [key, kind] of members(Object.getPrototypeOf(obj))) {
    if (!out.some(([k]) => k === key)) out.push([key, kind === 'getter' ? 'dgetter' : 'dmethod'])
  }
  return out
}

/** Builds the full case list. `full` adds the values and variants the CI form skips. */
function buildCases (full) {
  const { entries, missing, mods } = enumerate()
  const sigs = require('./entries.js').signatures()
  const values = VALUES.filter(([, , o]) => full || !(o && o.ci === false))
  const all = []
  const callCases = (e, types) => {
    const positions = Math.min(Math.max(types.length, 1), full ? 4 : 3)
    for (let v = 0; v < values.length; v++) {
      for (let p = 0; p < positions; p++) all.push({ e, types, v: VALUES.indexOf(values[v]), p })
      if (full && positions > 1) all.push({ e, types, v: VALUES.indexOf(values[v]), p: -1 })
    }
  }
  for (const e of entries) {
    if (e.kind === 'derived' || e.kind === 'derived-root') {
      const m = mods[0][1]
      const obj = e.kind === 'derived'
        ? FIXTURES[e.target](m)[e.key]()
        : DERIVED[e.derived](m, mods[1][1])
      for (const [key, kind] of derivedNames(obj)) {
        const de = { ...e, name: `${e.name}.${key}`, kind, dkey: key }
        if (kind === 'dgetter') { all.push({ e: de, types: [], v: 0, p: 0 }); continue }
        const types = sigs.get(`${e.target}.${e.key}().${key}`) ?? sigs.get(`Clock.${key}`) ?? sigs.get(key) ?? ['unknown', 'unknown']
        callCases(de, types)
      }
      continue
    }
    if (e.kind === 'getter') {
      all.push({ e, types: [], v: 0, p: 0 })
    } else {
      callCases(e, e.types)
    }
    if ((e.kind === 'getter' || e.kind === 'method') && !e.variant) {
      for (let r = 0; r < RECEIVERS.length; r++) all.push({ e, types: e.types, r })
    }
  }
  return { cases: all, missing, mods }
}

function describe (c) {
  if (c.r !== undefined) return `${c.e.name} with receiver ${RECEIVERS[c.r][0]}`
  if (c.e.kind === 'getter' || c.e.kind === 'dgetter') return `${c.e.name} (get)`
  const pos = c.p === -1 ? 'every argument' : `argument ${c.p}`
  return `${c.e.name} ${pos} = ${VALUES[c.v][0]}`
}

module.exports = { buildCases, describe, RECEIVERS, cls, filler, fixture, FIXTURES, DERIVED }
