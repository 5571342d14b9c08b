'use strict'
// Record/replay on files: read a JSONL trace, replay it, diff two, and render a divergence as a
// few readable lines. The `seqloop` command line (bin/seqloop.js) is a thin shell over these.
const fs = require('node:fs')
const { replay, diffTraces } = require('./native.js')

/** An input that could not be used as a trace (unreadable file or malformed trace). */
class TraceInputError extends Error {
  constructor (message, code) {
    super(message)
    this.name = 'TraceInputError'
    this.code = code
  }
}

/** Reads a trace file as text; an I/O failure becomes a one-line `TraceInputError`. */
function readTrace (file) {
  try {
    return fs.readFileSync(file, 'utf8')
  } catch (err) {
    throw new TraceInputError(`cannot read ${file}: ${err.message}`, 'ERR_TRACE_UNREADABLE')
  }
}

// Trace errors from the addon say what and where; prefix the file so the line number has context.
function parsed (file, fn) {
  try {
    return fn()
  } catch (err) {
    if (err && (err.code === 'ERR_TRACE_INVALID' || err.code === 'ERR_TRACE_VERSION')) {
      throw new TraceInputError(`${file}: ${err.message}`, err.code)
    }
    throw err
  }
}

/** Replays the JSONL trace in `file`: `{ ok, digest, dispatches, divergence }`. */
function replayFile (file) {
  const text = readTrace(file)
  return parsed(file, () => replay(text))
}

/** Compares the dispatched sequences of two JSONL trace files. */
function diffFiles (a, b) {
  const ta = readTrace(a)
  const tb = readTrace(b)
  // Parse each file on its own first so an error names the right one.
  parsed(a, () => diffTraces(ta, ta))
  parsed(b, () => diffTraces(tb, tb))
  return diffTraces(ta, tb)
}

/**
 * Lines describing a divergence. `labels` names the two sides (`expected`/`actual` by default).
 * JSONL line numbers are record + 2 (the header is line 1), counting no blank lines.
 */
function formatDivergence (d, labels = ['expected', 'actual']) {
  const where = d.record === null ? '' : ` (record ${d.record}, line ${d.record + 2})`
  const width = Math.max(labels[0].length, labels[1].length)
  return [
    `first divergence at dispatch index ${d.index}${where}`,
    `  ${labels[0].padEnd(width)}: ${JSON.stringify(d.expected)}`,
    `  ${labels[1].padEnd(width)}: ${JSON.stringify(d.actual)}`
  ]
}

module.exports = { TraceInputError, readTrace, parsed, replayFile, diffFiles, formatDivergence }
