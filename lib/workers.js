'use strict'
// ShardedWorkers (API.md §8): the mesh across threads. The native hub (src/workers) owns the
// lanes, the slot memory and the ownership rules; this file starts and watches the worker
// threads, validates options, builds the plain result objects and runs the receive loop
// (lib/receive.js) for messages the shards send back. docs/workers.md has the details.

const { EventEmitter } = require('node:events')
const path = require('node:path')
const { fileURLToPath } = require('node:url')
const { Worker, MessageChannel } = require('node:worker_threads')

const native = require('./native.js')
const { Receiver, codedError } = require('./receive.js')
const sendKeys = require('./send-keys.js')

const BOOT = path.join(__dirname, 'worker-boot.js')
const ENFORCEMENTS = ['strict', 'advisory', 'disabled']
const LIMIT = 1 << 24

function typeError(name, expected, value) {
  const got = value === null ? 'null' : typeof value === 'object' ? 'an instance of Object' : `type ${typeof value} (${String(value)})`
  return codedError(TypeError, 'ERR_INVALID_ARG_TYPE', `The "${name}" argument must be ${expected}. Received ${got}`)
}

function intOption(options, name, def, min, max) {
  const v = options[name]
  if (v === undefined) return def
  if (typeof v !== 'number') throw typeError(`options.${name}`, 'of type number', v)
  if (!Number.isInteger(v) || v < min || v > max) {
    throw codedError(RangeError, 'ERR_OUT_OF_RANGE', `The value of "options.${name}" is out of range. It must be an integer >= ${min} and <= ${max}. Received ${v}`)
  }
  return v
}

function resolveFile(workerFile) {
  if (workerFile instanceof URL) return fileURLToPath(workerFile)
  if (typeof workerFile !== 'string') throw typeError('workerFile', 'of type string or an instance of URL', workerFile)
  if (workerFile.startsWith('file:')) return fileURLToPath(workerFile)
  return path.resolve(workerFile)
}

function parseOptions(options) {
  if (options === undefined) options = {}
  if (options === null || typeof options !== 'object') throw typeError('options', 'of type object', options)
  let topology = options.topology
  if (topology !== undefined && !(topology instanceof native.ReactorTopologySnapshot)) {
    throw typeError('options.topology', 'an instance of ReactorTopologySnapshot', topology)
  }
  if (topology === undefined) {
    try {
      topology = native.ReactorTopologySnapshot.detect()
    } catch {
      topology = undefined // planned without a topology (fallbackReason 'topology_unavailable')
    }
  }
  const cores = topology ? topology.cores.length : 0
  const shards = intOption(options, 'shards', Math.max(1, cores), 1, 256)
  const enforcement = options.enforcement === undefined ? 'strict' : options.enforcement
  if (typeof enforcement !== 'string') throw typeError('options.enforcement', 'of type string', enforcement)
  if (!ENFORCEMENTS.includes(enforcement)) {
    throw codedError(TypeError, 'ERR_INVALID_ARG_VALUE', `The property 'options.enforcement' must be one of: ${ENFORCEMENTS.join(', ')}. Received '${enforcement}'`)
  }
  const record = options.record === undefined ? false : options.record
  if (typeof record !== 'boolean') throw typeError('options.record', 'of type boolean', record)
  const laneCapacity = intOption(options, 'laneCapacity', 1024, 1, LIMIT)
  const entrySizeBytes = intOption(options, 'entrySizeBytes', 512, 1, LIMIT)
  const slabCapacity = intOption(options, 'slabCapacity', 4096, 1, LIMIT)
  if (shards * 2 * slabCapacity * entrySizeBytes > 2 ** 40) {
    throw codedError(RangeError, 'ERR_OUT_OF_RANGE', 'The value of "options.slabCapacity" is out of range. shards * 2 * slabCapacity * entrySizeBytes must be <= 2^40 bytes')
  }
  const manifest = native.ReactorPlacementManifest.plan(shards, topology)
  return { shards, topology, manifest, enforcement, record, laneCapacity, entrySizeBytes, slabCapacity, workerData: options.workerData }
}

class ShardedWorkers {
  #events = new EventEmitter()
  #core
  #options
  #file
  #shards = [] // per shard: { worker, port, pinned, cpu, reason, alive, exitError, ready }
  #receiver
  #closing = null

  /** Use `ShardedWorkers.start(workerFile, options)`. */
  constructor(key, core, file, options) {
    if (key !== kStart) throw codedError(TypeError, 'ERR_ILLEGAL_CONSTRUCTOR', 'ShardedWorkers cannot be constructed with new; use ShardedWorkers.start()')
    this.#core = core
    this.#file = file
    this.#options = options
    this.#receiver = new Receiver(core, options.laneCapacity, options.shards, (err, info) => this.#emit( decorate(err, info)))
    Object.defineProperty(this, 'shardCount', { value: options.shards, enumerable: true })
    Object.defineProperty(this, 'manifest', { value: options.manifest, enumerable: true })
  }

  /**
   * Starts one worker thread per shard running `workerFile`, pinned to the planner's core,
   * and resolves once every shard has loaded the file (rejects, with every worker stopped,
   * when one fails to start).
   */
  static async start(workerFile, options) {
    if (typeof native.__seqloopWorkersCreate !== 'function') {
      throw codedError(Error, 'ERR_NATIVE_PLATFORM_UNSUPPORTED', `ShardedWorkers is not available in this build of seqloop (${process.platform}-${process.arch}, ` +
        'e.g. the WebAssembly one: no pinned worker threads or shared slot mappings); use a native build (linux x64 or arm64, glibc)')
    }
    const file = resolveFile(workerFile)
    const opts = parseOptions(options)
    const core = native.__seqloopWorkersCreate(opts.manifest, opts.laneCapacity, opts.slabCapacity, opts.entrySizeBytes, opts.record, true)
    const workers = new ShardedWorkers(kStart, core, file, opts)
    try {
      await Promise.all(Array.from({ length: opts.shards }, (_, s) => workers.#spawn(s)))
    } catch (err) {
      await workers.#stopAll()
      core.close()
      throw err
    }
    return workers
  }

  /** The receiver brand lib/index.js and the receiver tests use: an instance made by `start`. */
  static [Symbol.for('seqloop.isInstance')](o) {
    return typeof o === 'object' && o !== null && #core in o
  }

  static core(self) {
    if (self === null || typeof self !== 'object' || !(#core in self)) {
      throw codedError(TypeError, 'ERR_INVALID_THIS', 'Value of "this" must be of type ShardedWorkers')
    }
    return self.#core
  }

  #spawn(shardId) {
    const binding = this.#options.manifest.bindings[shardId]
    const { port1, port2 } = new MessageChannel()
    const worker = new Worker(BOOT, {
      workerData: {
        __seqloopShard: {
          hubId: this.#core.id,
          shardId,
          coreId: binding.coreId,
          numaNode: binding.numaNode,
          enforcement: this.#options.enforcement,
          file: this.#file,
          port: port2,
          laneCapacity: this.#options.laneCapacity,
        },
        data: this.#options.workerData,
      },
      transferList: [port2],
    })
    const state = { worker, port: port1, pinned: false, cpu: null, reason: null, alive: true, error: null, closed: null, exited: null }
    this.#shards[shardId] = state
    state.exited = new Promise((resolve) => worker.once('exit', resolve))
    return new Promise((resolve, reject) => {
      let ready = false
      port1.on('message', (m) => {
        if (m.type === 'ready') {
          ready = true
          Object.assign(state, { pinned: m.pinned, cpu: m.cpu, reason: m.reason })
          resolve()
        } else if (m.type === 'handlerError') {
          this.#emit( Object.assign(rebuildError(m.error), { shardId, globalSeq: m.globalSeq, shardSeq: m.shardSeq, key: m.key }))
        } else if (m.type === 'closed') {
          if (state.closed) state.closed()
        }
      })
      port1.unref()
      worker.on('error', (err) => {
        state.error = err
        if (!ready) reject(err)
      })
      worker.once('exit', (code) => {
        state.alive = false
        port1.close()
        if (state.closed) state.closed()
        if (!ready) {
          reject(state.error || codedError(Error, 'ERR_WORKER_INIT_FAILED', `the worker of shard ${shardId} exited (code ${code}) before it was ready`))
          return
        }
        this.#core.reclaim(shardId)
        if (this.#closing) return
        const err = this.#core.exitedError(shardId, code, state.error ? `: ${state.error.message}` : '')
        if (state.error) err.cause = state.error
        this.#emit( err)
      })
    })
  }

  async #stopAll() {
    await Promise.all(this.#shards.map(async (s) => {
      if (s && s.alive) await s.worker.terminate()
      if (s) await s.exited
    }))
  }

  #emit(err) {
    // Like an EventEmitter: an 'error' without a listener is thrown.
    this.#events.emit('error', err)
  }

  /** Listens for `'error'` events (a handler's error, or `ERR_WORKER_EXITED`). */
  on(event, fn) {
    core(this)
    this.#events.on(checkEvent(event), checkListener(fn))
    return this
  }

  /** Like `on`, once. */
  once(event, fn) {
    core(this)
    this.#events.once(checkEvent(event), checkListener(fn))
    return this
  }

  /** Removes a listener. */
  off(event, fn) {
    core(this)
    this.#events.off(checkEvent(event), checkListener(fn))
    return this
  }

  /** The shard of `key`: FNV-1a 64 of its UTF-8 bytes modulo the shard count. */
  shardFor(key) {
    return core(this).shardFor(key)
  }

  /** A fresh slot on the NUMA node of `key`'s shard: `{ handle, buffer }`, or null when full. */
  allocate(key) {
    return core(this).allocate(key)
  }

  /** Sends an allocated slot to `key`'s shard (ownership moves; the producer's view is detached). */
  send(key, slot, length) {
    core(this).send(key, slot, length)
  }

  /** `send` that returns false instead of throwing on a full lane. */
  trySend(key, slot, length) {
    return core(this).trySend(key, slot, length)
  }

  /** Copies `bytes` into a fresh slot and sends it to `key`'s shard. */
  sendBytes(key, bytes) {
    core(this).sendBytes(key, bytes)
  }

  /** Sends message i = the next `lengths[i]` bytes of `bytes` to `keys[i]`'s shard; returns how many were sent. */
  sendBatch(keys, bytes, lengths) {
    return sendKeys.sendBatch(core(this), keys, bytes, lengths)
  }

  /** Receives what shards send back, one message at a time. */
  onMessage(fn) {
    core(this)
    this.#receiver.onMessage(fn)
    return this
  }

  /** Receives what shards send back, one batch (a run of consecutive slots) at a time. */
  onBatch(fn) {
    core(this)
    this.#receiver.onBatch(fn)
    return this
  }

  /** Takes the messages handed back after `shardId`'s worker exited. */
  undelivered(shardId) {
    return core(this).undelivered(shardId)
  }

  /**
   * Starts a new worker for a shard whose worker exited; its lane's waiting messages go to it.
   * A wrong `this` throws at once (ERR_INVALID_THIS); every other error rejects.
   */
  restart(shardId) {
    core(this)
    return this.#restart(shardId)
  }

  async #restart(shardId) {
    if (this.#closing) throw codedError(Error, 'ERR_WORKERS_CLOSED', 'the workers are closed')
    if (typeof shardId !== 'number') throw typeError('shardId', 'of type number', shardId)
    if (!Number.isInteger(shardId) || shardId < 0 || shardId >= this.shardCount) {
      throw codedError(RangeError, 'ERR_OUT_OF_RANGE', `The value of "shardId" is out of range. It must be an integer in 0..${this.shardCount - 1}. Received ${shardId}`)
    }
    const s = this.#shards[shardId]
    if (s && s.alive) throw codedError(TypeError, 'ERR_INVALID_ARG_VALUE', `shard ${shardId} is running; restart() takes a shard whose worker exited`)
    if (s) await s.exited
    await this.#spawn(shardId)
  }

  /** Mesh telemetry plus per-shard `{ shardId, handled, coreId, numaNode, pinned, alive }`. */
  telemetry() {
    const c = JSON.parse(core(this).counters())
    const bindings = this.manifest.bindings
    const t = {
      queueDepths: c.shards.map((s) => s.depth),
      maxQueueDepths: c.shards.map((s) => s.maxDepth),
      rejectedEnqueues: c.shards.map((s) => s.rejected),
      shardBindings: bindings.map((b) => ({ shardId: b.shardId, coreId: b.coreId, numaNode: b.numaNode })),
      fallbackReason: this.manifest.fallbackReason,
      shards: c.shards.map((s, i) => ({
        shardId: i,
        handled: s.handled,
        coreId: bindings[i].coreId,
        numaNode: bindings[i].numaNode,
        memoryNode: s.numaNode,
        pinned: Boolean(this.#shards[i] && this.#shards[i].pinned),
        alive: Boolean(this.#shards[i] && this.#shards[i].alive),
        sentBack: s.upHandled,
        slotsInUse: s.slotsInUse,
      })),
    }
    Object.defineProperty(t, 'asJson', {
      value: () => ({
        queue_depths: t.queueDepths,
        max_queue_depths: t.maxQueueDepths,
        rejected_enqueues: t.rejectedEnqueues,
        shard_bindings: t.shardBindings.map((b) => ({ shard_id: b.shardId, core_id: b.coreId, numa_node: b.numaNode })),
        fallback_reason: t.fallbackReason,
        shards: t.shards.map((s) => ({ shard_id: s.shardId, handled: s.handled, core_id: s.coreId, numa_node: s.numaNode, memory_node: s.memoryNode, pinned: s.pinned, alive: s.alive, slots_in_use: s.slotsInUse })),
      }),
    })
    return t
  }

  /** The recorded trace of `shardId`'s handled sequence, or of the producer's sends without an argument. */
  trace(shardId) {
    return JSON.parse(core(this).trace(shardId === undefined ? -1 : shardId))
  }

  /** Drains every lane, stops the workers and reports `{ handled, undelivered }`. */
  close() {
    core(this)
    if (this.#closing) return this.#closing
    this.#closing = this.#close()
    return this.#closing
  }

  async #close() {
    this.#core.close()
    await Promise.all(this.#shards.map((s) => {
      if (!s || !s.alive) return undefined
      return new Promise((resolve) => {
        s.closed = resolve
        s.port.postMessage({ type: 'close' })
      })
    }))
    await this.#stopAll()
    this.#receiver.drain()
    this.#core.unlisten()
    const c = JSON.parse(this.#core.counters())
    const undelivered = []
    for (let s = 0; s < this.shardCount; s++) {
      this.#core.reclaim(s)
      for (const u of this.#core.undelivered(s)) undelivered.push({ shardId: s, ...u })
    }
    return { handled: c.shards.reduce((a, s) => a + s.handled, 0), undelivered }
  }
}

const kStart = Symbol('ShardedWorkers.start')

function checkEvent(event) {
  if (event !== 'error') {
    const got = typeof event === 'string' ? `'${event}'` : typeof event
    throw codedError(TypeError, 'ERR_INVALID_ARG_VALUE', `The argument 'event' must be 'error' (the only event ShardedWorkers emits). Received ${got}`)
  }
  return event
}

function checkListener(fn) {
  if (typeof fn !== 'function') throw typeError('listener', 'of type function', fn)
  return fn
}
const core = ShardedWorkers.core
delete ShardedWorkers.core

/** A handler's error with the message's seqs (a thrown non-Error is wrapped). */
function decorate(err, info) {
  const e = err instanceof Error ? err : new Error(`a handler threw ${String(err)}`, { cause: err })
  return Object.assign(e, info)
}

function rebuildError(e) {
  const err = new Error(e && e.message)
  if (e) {
    if (e.name) Object.defineProperty(err, 'name', { value: e.name, configurable: true, writable: true })
    if (e.stack) err.stack = e.stack
    if (e.code !== undefined) err.code = e.code
  }
  return err
}

module.exports = { ShardedWorkers }
