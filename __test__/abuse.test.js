'use strict'
// The abuse matrix (issue 18): every public entry point of `seqloop` and `seqloop/fake-timers`,
// generated from the exports, × hostile values and wrong receivers, each case in a child
// process (see __test__/abuse/). Fails on any crash, hang, uncoded error or error of the wrong
// class that is not listed, with its owner, in __test__/abuse/known.js.
const test = require('node:test')
const assert = require('node:assert')

const { runMatrix, summarize, FAILING } = require('./abuse/run.js')
const { known, isKnown, used } = require('./abuse/known.js')
const { buildCases } = require('./abuse/cases.js')

test('every exported class has an instance recipe, so its methods are in the matrix', () => {
  const { missing, cases } = buildCases(false)
  assert.deepStrictEqual(missing, [])
  assert.ok(cases.length > 5000, `only ${cases.length} cases`)
})

test('abuse matrix: no crash, hang or uncoded error outside known.js', { timeout: 600_000 }, async () => {
  const { rows, ms } = await runMatrix({ full: process.env.SEQLOOP_ABUSE_FULL === '1', jobs: 2, hangMs: 15_000 })
  const counts = summarize(rows)
  console.log(`# abuse matrix: ${rows.length} calls in ${(ms / 1000).toFixed(1)} s: ${JSON.stringify(counts)}`)
  assert.ok(!('missing' in counts), 'every case got an outcome')
  assert.ok(!('harness' in counts), 'no harness error')
  const unknown = rows.filter((r) => FAILING.has(r.o) && !isKnown(r))
  assert.deepStrictEqual(unknown.map((r) => `${r.o}: ${r.name}: ${r.code ?? ''} ${r.msg ?? ''}`), [])
  // A known entry that matches nothing is stale: remove it so fixed cases stay fixed.
  assert.deepStrictEqual(known.filter((k) => !k.optional && !used.has(k.id)).map((k) => k.id), [])
})
