'use strict'
// The per-message work of bench/workers.js: FNV-1a over the 128 32-bit words of a 512-byte
// message as four interleaved lanes (every byte is read; the four multiply chains run in
// parallel), folded to one 32-bit value.
const WORDS = 128

function checksum(w, at) {
  let a = 0x811c9dc5
  let b = 0x01000193
  let c = 0x050c5d1f
  let d = 0x2f5a0c03
  for (let k = at, end = at + WORDS; k < end; k += 4) {
    a = Math.imul(a ^ w[k], 0x01000193)
    b = Math.imul(b ^ w[k + 1], 0x01000193)
    c = Math.imul(c ^ w[k + 2], 0x01000193)
    d = Math.imul(d ^ w[k + 3], 0x01000193)
  }
  return (a ^ Math.imul(b, 3) ^ Math.imul(c, 5) ^ Math.imul(d, 7)) >>> 0
}

module.exports = { checksum, WORDS, SIZE: WORDS * 4 }
