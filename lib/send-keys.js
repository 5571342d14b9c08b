'use strict'
// The key plan of a sendBatch: the distinct values of `keys` in first-seen order and each
// message's index among them, so the native side reads and routes each distinct key once
// instead of making an N-API element read per message. A key equal (===) to one of the last
// two distinct values reuses its index (runs and alternations of a few keys are the common
// case); any other key is a new distinct value, so unique keys cost what they did before.
// Reading `keys[i]` here is the same read the native side would make, in the same order; no JS
// runs between the plan and the native call.

/** Batches longer than this are read natively (no scratch of unbounded size). */
const MAX_PLANNED = 1 << 16

let which = new Uint32Array(256)
const distinct = []
const plan = [undefined, undefined]

/**
 * `[distinct, which]` for `keys`, or `[undefined, undefined]` when the native side should read
 * `keys` itself (not a plain array, longer than lengths, or very long). The arrays are reused:
 * valid until the next call.
 */
function planKeys(keys, lengths) {
  plan[0] = undefined
  plan[1] = undefined
  if (!Array.isArray(keys)) return plan
  const n = keys.length
  if (n > MAX_PLANNED || !(ArrayBuffer.isView(lengths) || Array.isArray(lengths)) || !(n <= lengths.length)) return plan
  if (which.length < n) which = new Uint32Array(Math.max(n, which.length * 2))
  distinct.length = 0
  let a
  let b
  let ia = -1
  let ib = -1
  for (let i = 0; i < n; i++) {
    const k = keys[i]
    if (ia >= 0 && k === a) which[i] = ia
    else if (ib >= 0 && k === b) which[i] = ib
    else {
      b = a
      ib = ia
      a = k
      ia = distinct.length
      distinct.push(k)
      which[i] = ia
    }
  }
  plan[0] = distinct
  plan[1] = which
  return plan
}

// True while a planned sendBatch runs: a getter on a key or a length may call sendBatch again
// (on any ShardedWorkers of this thread), and that nested call must not overwrite the shared
// plan the outer call is still using; it lets the native side read its keys instead.
let busy = false

/** `core.sendBatch` with its key plan. */
function sendBatch(core, keys, bytes, lengths) {
  // A key's getter may detach or resize `bytes`: the native side compares this length.
  const pre = ArrayBuffer.isView(bytes) || bytes instanceof ArrayBuffer ? bytes.byteLength : -1
  if (busy) return core.sendBatch(keys, bytes, lengths, undefined, undefined, pre)
  busy = true
  try {
    const [d, w] = planKeys(keys, lengths)
    return core.sendBatch(keys, bytes, lengths, d, w, pre)
  } finally {
    busy = false
  }
}

module.exports = { sendBatch }
