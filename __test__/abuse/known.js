'use strict'
// Known failing cases of the abuse matrix: each entry names the issue item it belongs to and
// who owns the fix. The matrix test (__test__/abuse.test.js) is green only because of this
// list; shrink it as fixes land (an entry that matches nothing makes the test fail, so a fixed
// case cannot hide here, unless it is marked `optional` because it depends on the Node version).
//
// `match(row)` sees a result row: { entry, name, o (outcome), code, cls, want, msg }.

const KNOWN = []

const used = new Set()

function isKnown (row) {
  const k = KNOWN.find((k) => k.match(row))
  if (k) used.add(k.id)
  return Boolean(k)
}

module.exports = { known: KNOWN, isKnown, used }
