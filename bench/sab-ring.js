'use strict'
// A plain-JS single-producer single-consumer ring of fixed-size messages in a SharedArrayBuffer
// (the bench's hand-written competitor to seqloop's lanes): head and tail indices on their own
// cache lines, Atomics for publication, and Atomics.wait/notify for a consumer (or a producer
// facing a full ring) that has nothing to do, flagged so a busy peer never pays for a notify.

const HEAD = 0 // Int32 index of the consumer's position (its own 64-byte line)
const TAIL = 16 // the producer's position
const CWAIT = 32 // 1 while the consumer sleeps on TAIL
const PWAIT = 48 // 1 while the producer sleeps on HEAD
const DATA = 256 // byte offset of the slots

class SabRing {
  /** A ring over `sab` (from `SabRing.create(capacity, size)`). */
  constructor(sab, capacity, size) {
    this.sab = sab
    this.capacity = capacity
    this.size = size
    this.ctrl = new Int32Array(sab, 0, 64)
    this.bytes = new Uint8Array(sab, DATA, capacity * size)
    this.words = new Int32Array(sab, DATA, (capacity * size) >> 2)
  }

  static create(capacity, size) {
    return new SabRing(new SharedArrayBuffer(DATA + capacity * size), capacity, size)
  }

  /**
   * Producer: copies up to `count` messages (`size` bytes each, from `src` at `srcOffset`) into
   * free slots, publishes them with one store, and wakes a sleeping consumer. Returns how many.
   */
  push(src, srcOffset, count) {
    const head = Atomics.load(this.ctrl, HEAD)
    const tail = this.ctrl[TAIL]
    const n = Math.min(count, this.capacity - (tail - head))
    for (let i = 0; i < n; i++) {
      const slot = (tail + i) % this.capacity
      this.bytes.set(src.subarray(srcOffset + i * this.size, srcOffset + (i + 1) * this.size), slot * this.size)
    }
    if (n > 0) {
      Atomics.store(this.ctrl, TAIL, tail + n)
      if (Atomics.load(this.ctrl, CWAIT) === 1) Atomics.notify(this.ctrl, TAIL)
    }
    return n
  }

  /** Producer: sleeps (up to `ms`) until the consumer frees a slot. */
  waitForRoom(ms) {
    const head = Atomics.load(this.ctrl, HEAD)
    Atomics.store(this.ctrl, PWAIT, 1)
    if (this.ctrl[TAIL] - head >= this.capacity) Atomics.wait(this.ctrl, HEAD, head, ms)
    Atomics.store(this.ctrl, PWAIT, 0)
  }

  /**
   * Consumer: calls `fn(words, wordIndex)` for every published message, then releases them
   * with one store (waking a sleeping producer). Returns how many.
   */
  drain(fn) {
    const tail = Atomics.load(this.ctrl, TAIL)
    const head = this.ctrl[HEAD]
    const wordsPerMsg = this.size >> 2
    for (let i = head; i < tail; i++) fn(this.words, (i % this.capacity) * wordsPerMsg)
    if (tail !== head) {
      Atomics.store(this.ctrl, HEAD, tail)
      if (Atomics.load(this.ctrl, PWAIT) === 1) Atomics.notify(this.ctrl, HEAD)
    }
    return tail - head
  }

  /** Consumer: sleeps (up to `ms`) until something is published. */
  waitForData(ms) {
    const tail = Atomics.load(this.ctrl, TAIL)
    Atomics.store(this.ctrl, CWAIT, 1)
    if (this.ctrl[HEAD] === tail) Atomics.wait(this.ctrl, TAIL, tail, ms)
    Atomics.store(this.ctrl, CWAIT, 0)
  }
}

module.exports = { SabRing }
