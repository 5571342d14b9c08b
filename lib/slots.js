'use strict'
// Slots: the keyed store behind seqloop's JS timer tables (lib/index.js, lib/fake-timers.js).

/**
 * A map from integer keys to records, for keys handed out by a counter (native queue ids, public
 * timer serials): a window array indexed by `key - base` plus a `Map` for keys below the window.
 * Set, get and delete of recent keys are array accesses; a `Map` holding 1e5 entries costs far
 * more per operation (hashing, cache misses). The window drops its empty front; when it is mostly
 * empty it moves the live entries of its older half to the `Map`, so its length stays O(live
 * entries) whatever the key pattern. `base` never decreases, so every `Map` key is below it.
 */
class Slots {
  constructor () {
    this.a = []
    this.base = 0 // key of a[0]
    this.lo = 0 // a[0..lo) is empty
    this.n = 0 // live entries in the window
    this.old = null // Map for keys below `base`, created on first use
  }

  get size () { return this.old === null ? this.n : this.n + this.old.size }

  get (k) {
    const i = k - this.base
    if (i >= 0) return i < this.a.length ? this.a[i] : undefined
    return this.old === null ? undefined : this.old.get(k)
  }

  set (k, v) {
    const a = this.a
    if (this.n === 0 && k >= this.base) {
      // Empty window: restart it at k, keeping the array (all its slots are empty).
      if (a.length > 4096) a.length = 0
      this.base = k
      this.lo = 0
    }
    let i = k - this.base
    if (i < 0) {
      if (this.old === null) this.old = new Map()
      this.old.set(k, v)
      return
    }
    if (i < a.length) {
      if (a[i] === undefined) this.n++
      if (i < this.lo) this.lo = i
      a[i] = v
      return
    }
    if (i > a.length + 64) {
      // Far ahead of the window: restart it at k (its live entries go to the Map).
      if (this.n !== 0) this._toMap(0, a.length)
      a.length = 0
      this.base = k
      this.lo = 0
      i = 0
    }
    while (a.length < i) a.push(undefined)
    a.push(v)
    this.n++
  }

  /** Removes key `k`; true when it was there. */
  delete (k) {
    const a = this.a
    const i = k - this.base
    if (i < 0) return this.old !== null && this.old.delete(k)
    if (i >= a.length || a[i] === undefined) return false
    a[i] = undefined
    this.n--
    if (i === this.lo) {
      let lo = i + 1
      while (lo < a.length && a[lo] === undefined) lo++
      this.lo = lo
      if (lo >= 1024 && lo * 2 >= a.length) this._dropFront()
    } else if (a.length - this.lo > 8 * this.n + 8192) {
      // Mostly empty, held open by a few old entries: move the older half's to the Map.
      const mid = (this.lo + a.length) >>> 1
      this._toMap(this.lo, mid)
      let lo = mid
      while (lo < a.length && a[lo] === undefined) lo++
      this.lo = lo
      this._dropFront()
    }
    return true
  }

  _toMap (from, to) {
    const a = this.a
    if (this.old === null) this.old = new Map()
    for (let i = from; i < to; i++) {
      if (a[i] !== undefined) {
        this.old.set(this.base + i, a[i])
        a[i] = undefined
        this.n--
      }
    }
  }

  _dropFront () {
    this.a = this.a.slice(this.lo)
    this.base += this.lo
    this.lo = 0
  }

  /** Every record: the Map's, then the window's in key order. */
  values () {
    const out = this.old === null ? [] : Array.from(this.old.values())
    const a = this.a
    for (let i = this.lo; i < a.length; i++) if (a[i] !== undefined) out.push(a[i])
    return out
  }
}

module.exports = { Slots }
