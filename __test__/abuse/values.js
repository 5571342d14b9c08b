'use strict'
// The hostile values of the abuse matrix. Each is a factory (some values are stateful: revoked
// proxies, getters that re-enter the object under test), called fresh for every case. `ctx` is
// the case's context: `ctx.reenter()` calls back into the object under test (every method, with
// plausible arguments, errors swallowed), `ctx.sentinel` is the error hostile getters throw.
// `ci: false` marks values only the full form (`npm run abuse`) tries.

const kHuge = 2 ** 32 - 1

function deep (n) {
  let v = 1
  for (let i = 0; i < n; i++) v = [v]
  return v
}

function everyKey (get) {
  // An object whose every property read (and conversion) goes through `get`.
  return new Proxy({}, {
    get: (_t, key) => get(key),
    has: () => true,
    ownKeys: () => ['type', 'value', 'nodeId', 'slotIndex', 'generation'],
    getOwnPropertyDescriptor: (_t, key) => ({ value: get(key), enumerable: true, configurable: true, writable: true }),
  })
}

const VALUES = [
  ['undefined', () => undefined],
  ['null', () => null],
  ['NaN', () => NaN],
  ['Infinity', () => Infinity],
  ['-Infinity', () => -Infinity],
  ['-1', () => -1],
  ['-0', () => -0],
  ['0.5', () => 0.5],
  ['2**31-1', () => 2 ** 31 - 1],
  ['2**32', () => 2 ** 32],
  ['2**53', () => 2 ** 53],
  ['-(2**53)', () => -(2 ** 53)],
  ['MAX_VALUE', () => Number.MAX_VALUE],
  ['true', () => true],
  ['empty string', () => ''],
  ['NUL string', () => 'a\0b'],
  ['lone surrogate', () => '\ud800'],
  ['huge string', () => 'x'.repeat(2 ** 24), { ci: false }],
  ['topology bomb string', () => 'pack:1000 core:1000 pu:1000'],
  ['wide topology string', () => 'core:65536 pu:1'],
  ['Symbol', () => Symbol('abuse')],
  ['BigInt', () => 10n],
  ['huge BigInt', () => 2n ** 70n],
  ['{}', () => ({})],
  ['[]', () => []],
  ['null-prototype object', () => Object.create(null)],
  ['sparse Array(2**32-1)', () => new Array(kHuge)],
  ['holey array', () => [, , 1]], // eslint-disable-line no-sparse-arrays
  ['array of 1e6', () => new Array(1e6).fill(0), { ci: false }],
  ['nested 1e4 deep', () => deep(1e4)],
  ['nested 1e6 deep', () => deep(1e6), { ci: false }],
  ['cyclic object', () => { const o = { a: 1 }; o.self = o; return o }],
  ['function', () => function abuse () {}],
  ['class', () => class Abuse {}],
  ['revoked proxy', () => { const p = Proxy.revocable({}, {}); p.revoke(); return p.proxy }],
  ['revoked proxy of function', () => { const p = Proxy.revocable(function () {}, {}); p.revoke(); return p.proxy }],
  ['proxy that throws on every trap', (ctx) => new Proxy({}, new Proxy({}, { get: () => () => { throw ctx.sentinel } }))],
  ['getters that throw', (ctx) => everyKey(() => { throw ctx.sentinel })],
  ['getters that re-enter', (ctx) => everyKey(() => { ctx.reenter(); return 1 })],
  ['getters -> sparse array', () => everyKey(() => new Array(kHuge))],
  ['getters -> -1', () => everyKey(() => -1)],
  ['getters -> 2**53', () => everyKey(() => 2 ** 53)],
  ['getters -> Symbol', () => everyKey(() => Symbol('abuse'))],
  ['valueOf/toString throw', (ctx) => ({ valueOf () { throw ctx.sentinel }, toString () { throw ctx.sentinel } })],
  ['toJSON throws', (ctx) => ({ toJSON () { throw ctx.sentinel } })],
  ['toJSON re-enters', (ctx) => ({ toJSON () { ctx.reenter(); return 1 } })],
  ['Date', () => new Date(0)],
  ['invalid Date', () => new Date(NaN)],
  ['Float64Array(0)', () => new Float64Array(0)],
  ['Float64Array(9) of NaN', () => new Float64Array(9).fill(NaN)],
  ['Uint8Array(16)', () => new Uint8Array(16)],
  ['detached Uint8Array', () => { const b = new ArrayBuffer(8); const u = new Uint8Array(b); structuredClone(b, { transfer: [b] }); return u }],
  ['SharedArrayBuffer view', () => new Float64Array(new SharedArrayBuffer(72))],
  ['Map', () => new Map([[1, 2]])],
  ['Promise', () => Promise.resolve(1)],
  // Option objects with a misbehaving custom clock (Scheduler, EventLoop options).
  ['clock: nowMs returns a Symbol', () => ({ clock: { nowMs: () => Symbol('abuse') } })],
  ['clock: nowMs throws a Symbol', () => ({ clock: { nowMs () { throw Symbol('abuse') } } })],
  ['clock: nowMs throws a null-prototype object', () => ({ clock: { nowMs () { throw Object.create(null) } } })],
  ['clock: nowMs re-enters', (ctx) => ({ clock: { nowMs () { ctx.reenter(); return 0 } } })],
  ['clock: nowMs goes backwards', () => { let t = 1e6; return { clock: { nowMs: () => (t -= 1000) } } }],
  ['maxTicks 2**31-1', () => ({ maxTicks: 2 ** 31 - 1 })],
  // Outcome-shaped values whose inner fields are hostile (hostcall completions).
  ['outcome with sparse value', () => ({ type: 'success', value: new Array(kHuge) })],
  ['outcome with re-entrant value', (ctx) => ({ type: 'success', get value () { ctx.reenter(); return 1 } })],
  ['outcome with null-prototype value', () => ({ type: 'success', value: Object.create(null) })],
  ['stream chunk with sparse chunk', () => ({ type: 'stream_chunk', sequence: 0, chunk: new Array(kHuge), isFinal: false })],
  ['stream chunk with re-entrant chunk', (ctx) => ({ type: 'stream_chunk', sequence: 0, get chunk () { ctx.reenter(); return 1 }, isFinal: false })],
  ['payload with re-entrant toJSON deep inside', (ctx) => ({ a: [{ toJSON () { ctx.reenter(); return 1 } }] })],
]

module.exports = { VALUES }
