'use strict'
// The package's one seeded PRNG (mulberry32): schedule exploration draws its decisions from it,
// and the test suites use it for their seeded cases (__test__/helpers.js). Same seed, same
// sequence, in every process and on every machine (32-bit integer arithmetic only).

/** A mulberry32 generator: `next()` is a float in [0, 1), `range(n)` an integer in [0, n). */
function prng (seed) {
  let a = seed >>> 0
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  return { next, range: (n) => Math.floor(next() * n) }
}

module.exports = { prng }
