'use strict'
// Outcome classes of one call: ok, coded (an error with a string `code` whose class is the one
// the README's Errors table gives), propagated (the caller's own hostile value threw, or the
// caller's revoked proxy was touched), uncoded, wrongclass; the driver adds crash and hang.
const fs = require('node:fs')
const path = require('node:path')

/** code → 'TypeError' | 'RangeError' | 'Error', from the README's Errors table. */
function errorTable () {
  const readme = fs.readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8')
  const table = new Map()
  for (const line of readme.split('\n')) {
    const m = /^\| (.+?) \| (TypeError|RangeError|Error) \|/.exec(line)
    if (!m) continue
    // A cell can name several codes, some with their own class in parentheses.
    for (const part of m[1].matchAll(/`(ERR_\w+)`(?: \((TypeError|RangeError)\))?/g)) {
      table.set(part[1], part[2] || m[2])
    }
  }
  return table
}
const TABLE = errorTable()

function classify (err, sentinel, note) {
  const extra = note ? { note } : {}
  if (err === sentinel) return { o: 'propagated', ...extra }
  const isErr = err instanceof Error
  const msg = isErr ? String(err.message).slice(0, 160) : `a thrown ${typeof err}`
  if (isErr && /proxy that has been revoked/.test(err.message)) return { o: 'propagated', msg, ...extra }
  if (isErr && typeof err.code === 'string') {
    const want = TABLE.get(err.code)
    const got = err.constructor && err.constructor.name
    if (want && want !== got) return { o: 'wrongclass', code: err.code, cls: got, want, msg, ...extra }
    return { o: 'coded', code: err.code, cls: got, listed: Boolean(want), msg, ...extra }
  }
  return { o: 'uncoded', cls: isErr ? err.constructor.name : typeof err, msg, ...extra }
}

module.exports = { classify, errorTable }
