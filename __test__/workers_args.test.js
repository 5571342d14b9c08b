'use strict'
// The byte and length arguments of ShardedWorkers' sends, in every shape the binding reads
// (src/binding/ffi/value.rs: buffer_bytes, typed_numbers): each body arrives as sent, other
// shapes are coded errors, and a key getter that detaches the bytes mid-call sends nothing.
const test = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const { ShardedWorkers } = require('..')

const ECHO = path.join(__dirname, 'fixtures', 'workers', 'echo.js')

test('sendBytes and sendBatch read every buffer and lengths shape; bad shapes and a detaching getter send nothing', async () => {
  const workers = await ShardedWorkers.start(ECHO, { shards: 1, entrySizeBytes: 16 })
  try {
    const got = []
    let notify = null
    workers.onMessage((key, view) => {
      got.push([key, Buffer.from(view).toString('latin1')])
      if (notify) notify()
    })
    const until = (n) => new Promise((resolve) => {
      notify = () => { if (got.length >= n) resolve() }
      notify()
    })
    const ab = new TextEncoder().encode('arraybuf').buffer
    workers.sendBytes('ab', ab)
    workers.sendBytes('dv', new DataView(new TextEncoder().encode('xxdataview').buffer, 2))
    workers.sendBytes('u16', new Uint16Array(new TextEncoder().encode('u16!').buffer))
    workers.sendBytes('sub', Buffer.from('..sub..').subarray(2, 5))
    const gone = new ArrayBuffer(4)
    structuredClone(gone, { transfer: [gone] })
    workers.sendBytes('detached', gone)
    const body = Buffer.from('aabbbc')
    const shapes = [
      ['u32', new Uint32Array([2, 3, 1])],
      ['i32', new Int32Array([2, 3, 1])],
      ['u16b', new Uint16Array([2, 3, 1])],
      ['f64', new Float64Array([2, 3, 1])],
      ['arr', [2, 3, 1]],
    ]
    for (const [name, lengths] of shapes) {
      assert.equal(workers.sendBatch([`${name}.0`, `${name}.1`, `${name}.2`], body, lengths), 3, name)
    }
    const keys = ['x', 'y']
    assert.throws(() => workers.sendBatch(keys, Buffer.from('ab'), new Float32Array([1, 1])), { code: 'ERR_INVALID_ARG_TYPE', name: 'TypeError' })
    assert.throws(() => workers.sendBatch(keys, Buffer.from('ab'), new Uint32Array([1])), { code: 'ERR_OUT_OF_RANGE', name: 'RangeError' })
    assert.throws(() => workers.sendBatch(keys, Buffer.from('ab'), new Uint32Array([1, 17])), { code: 'ERR_OUT_OF_RANGE' })
    assert.throws(() => workers.sendBatch(keys, Buffer.from('ab'), new Uint32Array([2, 1])), { code: 'ERR_OUT_OF_RANGE' })
    assert.throws(() => workers.sendBytes('k', 42), { code: 'ERR_INVALID_ARG_TYPE' })
    // A key getter that detaches the bytes after they were checked: refused, nothing sent.
    const victim = new ArrayBuffer(2)
    const tricky = ['p', 'q']
    Object.defineProperty(tricky, 1, { get () { structuredClone(victim, { transfer: [victim] }); return 'q' } })
    assert.throws(() => workers.sendBatch(tricky, new Uint8Array(victim), [1, 1]), { code: 'ERR_INVALID_ARG_VALUE', message: /bytes changed while the keys were read/ })
    assert.equal(victim.byteLength, 0)
    workers.sendBytes('end', Buffer.from('end'))
    await until(5 + 15 + 1)
    const byKey = new Map(got)
    assert.equal(got.length, 21, JSON.stringify(got))
    assert.equal(byKey.get('ab'), 'arraybuf')
    assert.equal(byKey.get('dv'), 'dataview')
    assert.equal(byKey.get('u16'), 'u16!')
    assert.equal(byKey.get('sub'), 'sub')
    assert.equal(byKey.get('detached'), '')
    for (const [name] of shapes) {
      assert.deepEqual([0, 1, 2].map((i) => byKey.get(`${name}.${i}`)), ['aa', 'bbb', 'c'], name)
    }
    assert.equal(got[got.length - 1][0], 'end', 'nothing from the refused calls arrived')
  } finally {
    await workers.close()
  }
})

test('sendBatch keys: repeats, alternations and many distinct keys route like send; a bad key is named by its first index', async () => {
  const workers = await ShardedWorkers.start(ECHO, { shards: 2, entrySizeBytes: 16 })
  try {
    const got = []
    let notify = null
    workers.onMessage((key, view, meta) => {
      got.push([key, Buffer.from(view).toString('latin1'), meta.shardId])
      if (notify) notify()
    })
    const keys = ['a', 'b', 'a', 'b', 'c', 'c', 'a', 'd', 'e', 'f', 'a', 'e']
    const body = Buffer.from(keys.map((_, i) => String.fromCharCode(65 + i)).join(''))
    assert.equal(workers.sendBatch(keys, body, new Uint32Array(keys.length).fill(1)), keys.length)
    await new Promise((resolve) => {
      notify = () => { if (got.length >= keys.length) resolve() }
      notify()
    })
    const bodyOf = new Map()
    for (const [key, b, shardId] of got) {
      assert.equal(shardId, workers.shardFor(key), key)
      bodyOf.set(key, (bodyOf.get(key) || '') + b)
    }
    for (const k of new Set(keys)) {
      const want = keys.map((x, i) => (x === k ? String.fromCharCode(65 + i) : '')).join('')
      assert.equal(bodyOf.get(k), want, k)
    }
    for (const [bad, at] of [[['a', 'b', 'a', 7, 'a', 7], 3], [['a', 'a', 'b', 'b', 'c', null], 5], [[undefined, 'a'], 0]]) {
      assert.throws(() => workers.sendBatch(bad, Buffer.alloc(bad.length), new Uint32Array(bad.length).fill(1)), {
        code: 'ERR_INVALID_ARG_TYPE',
        message: new RegExp(`"keys\\[${at}\\]"`),
      })
    }
  } finally {
    await workers.close()
  }
})
