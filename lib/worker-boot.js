'use strict'
// The script every ShardedWorkers worker thread runs first: it attaches to the hub, pins the
// thread to its planned core (checked with sched_getcpu), makes the `shard` object of
// `require('seqloop/worker')`, loads the user's worker file and reports back on a private port.

const { workerData } = require('node:worker_threads')
const { pathToFileURL } = require('node:url')

const native = require('./native.js')
const { Receiver, codedError } = require('./receive.js')
const sendKeys = require('./send-keys.js')
const workerModule = require('./worker.js')

const boot = workerData.__seqloopShard
const port = boot.port
const core = native.__seqloopWorkersAttach(boot.hubId, boot.shardId)
const pin = JSON.parse(core.pin(boot.enforcement))

function serializeError(err) {
  if (err instanceof Error) return { name: err.name, message: err.message, stack: err.stack, code: err.code }
  return { name: 'Error', message: `a handler threw ${String(err)}` }
}

const receiver = new Receiver(core, boot.laneCapacity, 1, (err, info) => {
  port.postMessage({ type: 'handlerError', error: serializeError(err), globalSeq: info.globalSeq, shardSeq: info.shardSeq, key: info.key })
}, boot.shardId)

/** The shard this thread runs (API.md §8). */
class Shard {
  constructor() {
    Object.defineProperties(this, {
      shardId: { value: boot.shardId, enumerable: true },
      coreId: { value: boot.coreId, enumerable: true },
      numaNode: { value: boot.numaNode, enumerable: true },
      pinned: { value: pin.pinned, enumerable: true },
      cpu: { value: pin.cpu, enumerable: true },
      pinReason: { value: pin.reason, enumerable: true },
      workerData: { value: workerData.data, enumerable: true },
    })
  }

  /** Receives messages one at a time: `fn(key, view, meta)`; `meta.retain()` keeps the slot past `fn`. */
  onMessage(fn) {
    receiver.onMessage(fn)
    return this
  }

  /** Receives runs of messages: `fn({ count, keys, bytes, offsets, lengths, globalSeqs, shardSeqs, shardId })`. */
  onBatch(fn) {
    receiver.onBatch(fn)
    return this
  }

  /** Frees a slot kept with `meta.retain()` (or an allocated slot never sent); detaches its view. */
  free(meta) {
    if (meta === null || typeof meta !== 'object') {
      throw codedError(TypeError, 'ERR_INVALID_ARG_TYPE', 'The "meta" argument must be of type object')
    }
    return core.free(meta.handle !== undefined ? meta.handle : meta)
  }

  /** A fresh slot for a message to the main thread: `{ handle, buffer }`, or null when full. */
  allocate() {
    return core.allocate()
  }

  /** Sends an allocated slot to the main thread (ownership moves; this thread's view is detached). */
  send(key, slot, length) {
    core.send(key, slot, length)
  }

  /** `send` that returns false instead of throwing on a full lane. */
  trySend(key, slot, length) {
    return core.trySend(key, slot, length)
  }

  /** Copies `bytes` into a fresh slot and sends it to the main thread. */
  sendBytes(key, bytes) {
    core.sendBytes(key, bytes)
  }

  /** Sends message i = the next `lengths[i]` bytes of `bytes`; returns how many were sent. */
  sendBatch(keys, bytes, lengths) {
    return sendKeys.sendBatch(core, keys, bytes, lengths)
  }
}

workerModule.shard = new Shard()

port.on('message', (m) => {
  if (m.type !== 'close') return
  receiver.drain()
  core.unlisten()
  port.postMessage({ type: 'closed' })
  port.close()
})

import(pathToFileURL(boot.file).href).then(
  () => port.postMessage({ type: 'ready', pinned: pin.pinned, cpu: pin.cpu, reason: pin.reason }),
  (err) => {
    throw err
  },
)
