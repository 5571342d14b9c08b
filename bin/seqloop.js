#!/usr/bin/env node
'use strict'
// The `seqloop` command line: replay a recorded trace, compare two, or export traces for a viewer.
// Exit codes: 0 equal (or exported), 1 diverged (first divergence printed), 2 unusable input or
// usage error (one line on stderr, never a stack trace).
const { TraceInputError, replayFile, diffFiles, formatDivergence } = require('../lib/replay.js')
const { exportChrome } = require('../lib/export-chrome.js')

const USAGE = `Usage:
  seqloop replay <trace.jsonl>        replay a recorded run and check every dispatch
  seqloop diff <a.jsonl> <b.jsonl>    compare the dispatched sequences of two runs
  seqloop export --format chrome <trace.jsonl>... [-o out.json]
                                      write a Chrome Trace Event file (Perfetto, chrome://tracing):
                                      one track per macrotask kind, or per trace when given several
                                      (the per-shard traces of a mesh); stdout without -o
  seqloop --help                      show this help

Exit status: 0 when equal (or exported), 1 with the first divergence printed, 2 on unreadable input.
Traces come from Scheduler#traceJsonl() (new Scheduler({ record: true })).`

const FORMATS = ['chrome']

/** `export`'s arguments: `{ format, out, files }`, or a usage error message (a string). */
function exportArgs (args) {
  let format = null
  let out = null
  const files = []
  for (let i = 0; i < args.length; i++) {
    const a = args[i]
    const eq = a.indexOf('=')
    const flag = a.startsWith('--') && eq > 0 ? a.slice(0, eq) : a
    const inline = flag === a ? undefined : a.slice(eq + 1)
    if (flag === '--format' || flag === '-o' || flag === '--output') {
      const value = inline !== undefined ? inline : args[++i]
      if (value === undefined || value === '') return `${flag} needs a value`
      if (flag === '--format') format = value
      else out = value
    } else if (a === '--') {
      files.push(...args.slice(i + 1))
      break
    } else if (a.startsWith('-') && a !== '-') {
      return `unknown option '${a}'`
    } else {
      files.push(a)
    }
  }
  if (format === null) return 'export needs --format chrome'
  if (!FORMATS.includes(format)) return `unknown export format '${format}' (supported: ${FORMATS.join(', ')})`
  if (files.length === 0) return 'export needs at least one trace file'
  return { format, out, files }
}

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
  if (cmd === 'export') {
    const parsedArgs = exportArgs(rest)
    if (typeof parsedArgs === 'string') {
      process.stderr.write(`seqloop: ${parsedArgs} (see seqloop --help)\n`)
      return 2
    }
    const { out, files } = parsedArgs
    const r = exportChrome(files, out)
    if (out !== null) console.log(`wrote ${out}: ${r.slices} dispatches on ${r.tracks} track${r.tracks === 1 ? '' : 's'}`)
    return 0
  }
  const what = cmd === undefined ? 'missing command' : `bad arguments for '${argv.join(' ')}'`
  process.stderr.write(`seqloop: ${what} (see seqloop --help)\n`)
  return 2
}

// `seqloop export … | head`: a reader that stops early is not an error
process.stdout.on('error', (err) => {
  if (err.code !== 'EPIPE') process.stderr.write(`seqloop: cannot write to stdout: ${err.message}\n`)
  process.exit(err.code === 'EPIPE' ? process.exitCode || 0 : 2)
})

try {
  process.exitCode = run(process.argv.slice(2))
} catch (err) {
  const msg = err instanceof TraceInputError ? err.message : `unexpected error: ${err && err.message}`
  process.stderr.write(`seqloop: ${String(msg).split('\n')[0]}\n`)
  process.exitCode = 2
}
