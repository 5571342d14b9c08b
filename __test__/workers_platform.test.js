'use strict'
// ShardedWorkers where the addon has no worker support (the WebAssembly build compiles
// src/workers and its binding out): start() rejects with a coded error instead of failing on a
// missing native function, and the rest of the package still loads.
const test = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const { ShardedWorkers } = require('..')
const native = require('../lib/native.js')

const ECHO = path.join(__dirname, 'fixtures', 'workers', 'echo.js')

test('without the native workers functions, start() rejects with ERR_NATIVE_PLATFORM_UNSUPPORTED', async () => {
  const create = native.__seqloopWorkersCreate
  assert.equal(typeof create, 'function', 'this build has worker support')
  delete native.__seqloopWorkersCreate
  try {
    assert.equal(native.__seqloopWorkersCreate, undefined)
    await assert.rejects(ShardedWorkers.start(ECHO, { shards: 1 }), (err) => {
      assert.equal(err.code, 'ERR_NATIVE_PLATFORM_UNSUPPORTED')
      assert.ok(err instanceof Error)
      assert.match(err.message, /ShardedWorkers is not available in this build/)
      return true
    })
  } finally {
    native.__seqloopWorkersCreate = create
  }
  // Restored: the same call starts workers again.
  const workers = await ShardedWorkers.start(ECHO, { shards: 1 })
  assert.equal(workers.shardCount, 1)
  await workers.close()
})
