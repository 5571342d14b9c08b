#!/usr/bin/env node
'use strict'
// The `seqloop` command line: replay a recorded trace, or compare two.
// Exit codes: 0 equal, 1 diverged (first divergence printed), 2 unusable input or usage error
// (one line on stderr, never a stack trace).
const { TraceInputError, replayFile, diffFiles, formatDivergence } = require('../lib/replay.js')

const USAGE = `Usage:
  seqloop replay <trace.jsonl>        replay a recorded run and check every dispatch
  seqloop diff <a.jsonl> <b.jsonl>    compare the dispatched sequences of two runs
  seqloop --help                      show this help

Exit status: 0 when equal, 1 with the first divergence printed, 2 on unreadable input.
Traces come from Scheduler#traceJsonl() (new Scheduler({ record: true })).`

function run (argv) {
  const [cmd, ...rest] = argv
  if (cmd === '--help' || cmd === '-h' || cmd === 'help') {
    console.log(USAGE)
    return 0
  }
  if (cmd === 'replay' && rest.length === 1) {
    const r = replayFile(rest[0])
    if (r.ok) {
      console.log(`ok: ${r.dispatches} dispatches replayed exactly, digest ${r.digest}`)
      return 0
    }
    console.log(formatDivergence(r.divergence, ['recorded', 'replayed']).join('\n'))
    return 1
  }
  if (cmd === 'diff' && rest.length === 2) {
    const r = diffFiles(rest[0], rest[1])
    if (r.equal) {
      console.log(`equal: digest ${r.digestA}`)
      return 0
    }
    console.log(formatDivergence(r.divergence, [`expected (${rest[0]})`, `actual (${rest[1]})`]).join('\n'))
    console.log(`digests: ${r.digestA} ${r.digestB}`)
    return 1
  }
  const what = cmd === undefined ? 'missing command' : `bad arguments for '${argv.join(' ')}'`
  process.stderr.write(`seqloop: ${what} (see seqloop --help)\n`)
  return 2
}

try {
  process.exitCode = run(process.argv.slice(2))
} catch (err) {
  const msg = err instanceof TraceInputError ? err.message : `unexpected error: ${err && err.message}`
  process.stderr.write(`seqloop: ${String(msg).split('\n')[0]}\n`)
  process.exitCode = 2
}
