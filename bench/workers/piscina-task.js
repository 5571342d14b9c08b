'use strict'
// Piscina's task for bench/workers.js: checksums every message of the transferred buffer.
const { checksum, SIZE } = require('./checksum.js')

module.exports = (ab) => {
  const w = new Int32Array(ab)
  let sum = 0
  for (let at = 0; at < w.length; at += SIZE >> 2) sum = (sum + checksum(w, at)) >>> 0
  return sum
}
