'use strict'
// Helpers shared by the node:test suites. Each is defined here once; suites import what they use.
const assert = require('node:assert/strict')
const { prng } = require('../lib/prng.js')

/**
 * Asserts that `fn()` throws an error with `code`, and, when `Class` is given, that the error is
 * an instance of it. Returns the error for further checks.
 */
function throwsCode (fn, code, Class) {
  let caught
  assert.throws(fn, (err) => {
    caught = err
    assert.equal(err && err.code, code, `code of ${err && err.name}: ${err && err.message}`)
    if (Class) assert.ok(err instanceof Class, `${err && err.name} is not a ${Class.name}: ${err && err.message}`)
    return true
  })
  return caught
}

/**
 * Like `throwsCode`, but the class must be exactly `Class` (a RangeError is not accepted where
 * an Error is expected) and the message must be a string.
 */
function throwsExactly (fn, Class, code) {
  const err = throwsCode(fn, code)
  assert.equal(err.constructor, Class, `expected ${Class.name}, got ${err && err.constructor && err.constructor.name}: ${err && err.message}`)
  assert.equal(typeof err.message, 'string')
  return err
}

/**
 * The error `fn()` throws or, when it returns a promise, rejects with; `null` when it does
 * neither. For checks that accept either form of failure.
 */
async function failureOf (fn) {
  try {
    await fn()
  } catch (err) {
    return err
  }
  return null
}

/** Fails loudly when the suite was started without `--expose-gc` (npm test passes it). */
function requireGc () {
  if (typeof global.gc !== 'function') {
    throw new Error('this test needs global.gc: run it with `node --expose-gc --test …` (npm test does)')
  }
  return global.gc
}

/**
 * Collects garbage and yields a turn (so finalizers run) until `predicate()` holds, at most
 * `rounds` times; returns its last value. Fails loudly without `--expose-gc`.
 */
async function settleUnderGc (predicate, rounds = 100) {
  const gc = requireGc()
  for (let i = 0; i < rounds && !predicate(); i++) {
    gc()
    await new Promise((resolve) => setImmediate(resolve))
  }
  return predicate()
}

/**
 * The one seeded PRNG of the test suites (mulberry32: the package's own, lib/prng.js, which
 * schedule exploration uses too). `rand(n)` is an
 * integer in [0, n); `next()` a float in [0, 1).
 */
function seeded (seed) {
  const r = prng(seed)
  const rand = (n) => r.range(n)
  rand.next = r.next
  return rand
}

module.exports = { throwsCode, throwsExactly, failureOf, requireGc, settleUnderGc, seeded, prng }
