'use strict'
// The receive loop of one thread's end of a ShardedWorkers hub (main thread or a shard): it
// sleeps until the native side wakes it (a threadsafe function, called only when the lane was
// parked), then drains its lanes in runs of consecutive slots. A run is handed to `onBatch`
// as one window, or message by message to `onMessage`; the native `release` detaches the
// views and frees the slots when the handler returns (docs/workers.md "Ownership").

/** Runs handled per wake-up before yielding to the event loop (fairness; the lane stays unparked). */
const RUNS_PER_TURN = 256

function codedError(Ctor, code, message) {
  const err = new Ctor(message)
  err.code = code
  return err
}

function checkHandler(fn) {
  if (typeof fn !== 'function') {
    const got = fn === null ? 'null' : typeof fn === 'object' ? 'an instance of Object' : `type ${typeof fn}`
    throw codedError(TypeError, 'ERR_INVALID_ARG_TYPE', `The "fn" argument must be of type function. Received ${got}`)
  }
}

class Receiver {
  #core
  #lanes
  #fn = null
  #batch = false
  #io = [null, null]
  #offsets
  #lengths
  #globalSeqs
  #shardSeqs
  #slot = new Float64Array(3)
  #keyIndex
  #report
  #scheduled = false
  #shardId

  /**
   * @param core the native side's methods
   * @param capacity the largest run (the lane capacity)
   * @param lanes how many lanes this side receives from (main: one per shard; a shard: 1)
   * @param report called with a handler's error (decorated with the message's seqs)
   * @param shardId the shard id to put in `meta` (a shard side), or null (main: the lane's)
   */
  constructor(core, capacity, lanes, report, shardId = null) {
    this.#core = core
    this.#lanes = lanes
    this.#report = report
    this.#shardId = shardId
    this.#offsets = new Uint32Array(capacity)
    this.#lengths = new Uint32Array(capacity)
    this.#globalSeqs = new Float64Array(capacity)
    this.#shardSeqs = new Float64Array(capacity)
    this.#keyIndex = new Uint32Array(capacity)
    core.setup(this.#io, this.#offsets, this.#lengths, this.#globalSeqs, this.#shardSeqs, this.#slot, this.#keyIndex)
  }

  onMessage(fn) {
    checkHandler(fn)
    this.#set(fn, false)
  }

  onBatch(fn) {
    checkHandler(fn)
    this.#set(fn, true)
  }

  #set(fn, batch) {
    const first = this.#fn === null
    this.#fn = fn
    this.#batch = batch
    if (first) this.#core.listen(() => this.#pump())
    this.#later()
  }

  #later() {
    if (this.#scheduled) return
    this.#scheduled = true
    setImmediate(() => {
      this.#scheduled = false
      this.#pump()
    })
  }

  /** Handles everything waiting now, without yielding (used by close). */
  drain() {
    if (this.#fn !== null) this.#pump(Infinity)
  }

  #pump(budget = RUNS_PER_TURN) {
    if (this.#fn === null) return
    let runs = 0
    for (let lane = 0; lane < this.#lanes; lane++) {
      for (;;) {
        if (runs++ >= budget) {
          this.#later()
          return
        }
        const n = this.#core.take(lane, !this.#batch)
        if (n === 0) break
        if (this.#batch) this.#deliverBatch(lane, n)
        else this.#deliverOne(lane)
      }
    }
  }

  #deliverBatch(lane, count) {
    const shardId = this.#shardId === null ? lane : this.#shardId
    // The native side hands the run's distinct keys and each message's index among them.
    const distinct = this.#io[0]
    const index = this.#keyIndex
    const keys = new Array(count)
    for (let i = 0; i < count; i++) keys[i] = distinct[index[i]]
    const batch = {
      count,
      keys,
      bytes: this.#io[1],
      offsets: this.#offsets.slice(0, count),
      lengths: this.#lengths.slice(0, count),
      globalSeqs: this.#globalSeqs.slice(0, count),
      shardSeqs: this.#shardSeqs.slice(0, count),
      shardId,
    }
    try {
      this.#fn(batch)
    } catch (err) {
      this.#report(err, { shardId, globalSeq: batch.globalSeqs[0], shardSeq: batch.shardSeqs[0], key: batch.keys[0], count })
    } finally {
      this.#core.release(false)
    }
  }

  #deliverOne(lane) {
    const shardId = this.#shardId === null ? lane : this.#shardId
    const key = this.#io[0][0]
    const view = this.#io[1]
    let retained = false
    const handle = { nodeId: this.#slot[0], slotIndex: this.#slot[1], generation: this.#slot[2] }
    const meta = {
      shardId,
      globalSeq: this.#globalSeqs[0],
      shardSeq: this.#shardSeqs[0],
      handle,
    }
    // A shard may keep a slot past its handler (then shard.free(meta)); the main thread has no
    // free, so its messages are always freed when the handler returns (API.md §8).
    if (this.#shardId !== null) {
      meta.retain = () => {
        retained = true
      }
    }
    try {
      this.#fn(key, view, meta)
    } catch (err) {
      this.#report(err, { shardId, globalSeq: meta.globalSeq, shardSeq: meta.shardSeq, key, count: 1 })
    } finally {
      this.#core.release(retained)
    }
  }
}

module.exports = { Receiver, codedError, checkHandler }
