'use strict'
// `seqloop export --format chrome`: recorded traces (JSONL, as `traceJsonl()` and `explore` write
// them) as a Chrome Trace Event file, the JSON that Perfetto, `chrome://tracing` (where a Chrome
// still has it) and speedscope open.
//
// The file is the object form `{ traceEvents, displayTimeUnit, otherData }`:
// - every dispatch is a complete event (`ph: 'X'`) at its virtual time, named after what ran
//   (`timer 3`, `immediate 1`, `hostcall call-7`, `event user`), with the record's fields (seq,
//   kind, ids, deadline, payload or outcome) and its place in the file in `args`;
// - one trace gives one track (`tid`) per macrotask kind; several traces (the per-shard traces of
//   a mesh, one file each) give one track per trace, named `shard N` when the header says
//   `shard_id: N`, else after the file;
// - metadata events (`ph: 'M'`) name the process and each track and fix the tracks' order.
// Time: `ts` is in microseconds from the earliest dispatch of all the traces. A dispatch at `at` ms
// is a slice inside the millisecond [at, at + 1): the k-th of n dispatches recorded at the same
// `at` starts k/n' of the way in and lasts 1/n' of it (n' is n rounded up to a power of two, so
// every boundary is an exact binary fraction and consecutive slices touch without overlapping).
// Each track's `ts` never decreases: a dispatch recorded at an earlier `at` than the one before it
// (a custom clock that went back) is placed right after it, with `args.clamped: true`.
const fs = require('node:fs')
const path = require('node:path')
const { diffTraces } = require('./native.js')
const { TraceInputError, readTrace, parsed } = require('./replay.js')

const PID = 1
/** The tracks of one trace, in this order. */
const KINDS = ['timer_fired', 'immediate', 'hostcall_complete', 'inbound_event']
const LABEL = { timer_fired: 'timer', immediate: 'immediate', hostcall_complete: 'hostcall', inbound_event: 'event' }
const ID_FIELD = { timer_fired: 'timer_id', immediate: 'immediate_id', hostcall_complete: 'call_id', inbound_event: 'event_id' }

// A valid trace with no dispatch: `diffTraces(text, EMPTY)` parses `text` once (the comparison
// stops at its first dispatch), which is how a file is checked here.
const EMPTY = '{"seqloop_trace":1}\n{"type":"end"}\n'

/**
 * The header and the dispatch records of a valid JSONL trace, each without its `type` and with
 * `record` (its 0-based position among the records) and `line` (its 1-based line), so that it can
 * be the slice's `args` as it is. Only lines that can be a dispatch are parsed as JSON.
 */
function parseJsonl (text) {
  const dispatches = []
  let header = null
  let index = -1
  let from = 0
  for (let no = 1; from <= text.length; no++) {
    let to = text.indexOf('\n', from)
    if (to === -1) to = text.length
    const line = text.slice(from, to)
    from = to + 1
    if (line.trim() === '') continue
    if (header === null) {
      header = JSON.parse(line)
      continue
    }
    index++
    // a dispatch line names its type; `\u` escapes could spell it otherwise
    if (!line.includes('dispatch') && !line.includes('\\u')) continue
    const { type, ...record } = JSON.parse(line)
    if (type !== 'dispatch') continue
    record.record = index
    record.line = no
    dispatches.push(record)
  }
  return { header, dispatches }
}

/** Reads and checks one trace file (the addon's own parser decides what is valid). */
function loadTrace (file) {
  const text = readTrace(file)
  parsed(file, () => diffTraces(text, EMPTY))
  return { file, ...parseJsonl(text) }
}

/** The least power of two >= n (n >= 1). */
function pow2 (n) {
  let p = 1
  while (p < n) p *= 2
  return p
}

/** The name of a track holding all of `trace`'s dispatches (mesh form). */
function shardName (trace) {
  const id = trace.header.shard_id
  return Number.isSafeInteger(id) && id >= 0 ? `shard ${id}` : path.basename(trace.file)
}

/**
 * The Chrome Trace Event object for `traces` (as `loadTrace` returns them). With one trace,
 * one track per macrotask kind; with several, one track per trace.
 */
function toChromeTrace (traces) {
  const mesh = traces.length > 1
  let origin = Infinity
  for (const t of traces) {
    for (const d of t.dispatches) if (d.at < origin) origin = d.at
  }
  if (origin === Infinity) origin = 0
  const events = []
  // the tracks, each { tid, name }: the traces in the order given, or the kinds in KINDS order
  // (a kind this version does not know goes last)
  const tracks = []
  const tidOf = new Map()
  if (mesh) {
    traces.forEach((t, i) => {
      tracks.push({ tid: i + 1, name: shardName(t) })
      tidOf.set(i, i + 1)
    })
  } else {
    const kinds = new Set()
    for (const d of traces[0].dispatches) kinds.add(d.kind)
    const rank = (k) => (KINDS.includes(k) ? KINDS.indexOf(k) : KINDS.length)
    for (const kind of [...kinds].sort((a, b) => rank(a) - rank(b))) {
      tracks.push({ tid: tracks.length + 1, name: kind })
      tidOf.set(kind, tracks.length)
    }
  }
  let slices = 0
  traces.forEach((t, i) => {
    const dispatches = t.dispatches
    let end = -Infinity // where the trace's previous slice ended (µs)
    for (let j = 0; j < dispatches.length;) {
      const at = dispatches[j].at
      let k = j
      while (k < dispatches.length && dispatches[k].at === at) k++
      const width = 1000 / pow2(k - j)
      for (let m = j; m < k; m++) {
        const record = dispatches[m] // also the slice's args (see parseJsonl)
        let ts = (at - origin) * 1000 + (m - j) * width
        if (ts < end) {
          ts = end
          record.clamped = true
        }
        end = ts + width
        const kind = record.kind
        events.push({
          ph: 'X',
          name: `${LABEL[kind] || kind} ${record[ID_FIELD[kind]]}`,
          cat: kind,
          pid: PID,
          tid: tidOf.get(mesh ? i : kind),
          ts,
          dur: width,
          args: record
        })
        slices++
      }
      j = k
    }
  })
  const meta = [{
    ph: 'M',
    name: 'process_name',
    pid: PID,
    tid: 0,
    ts: 0,
    args: { name: mesh ? `seqloop mesh (${traces.length} traces)` : `seqloop ${path.basename(traces[0].file)}` }
  }]
  tracks.forEach(({ tid, name }, order) => {
    meta.push({ ph: 'M', name: 'thread_name', pid: PID, tid, ts: 0, args: { name } })
    meta.push({ ph: 'M', name: 'thread_sort_index', pid: PID, tid, ts: 0, args: { sort_index: order } })
  })
  const first = traces[0].header
  return {
    traceEvents: meta.concat(events),
    displayTimeUnit: 'ms',
    otherData: {
      generator: 'seqloop export --format chrome',
      created_by: String(first.created_by || ''),
      clock: String(first.clock || ''),
      origin_ms: origin,
      sources: traces.map((t) => path.basename(t.file)).join(', '),
      slices,
      tracks: tracks.length
    }
  }
}

/** Writes `trace` as JSON through `write`, one event at a time (never one huge string). */
function writeJson (write, trace) {
  const { traceEvents, ...rest } = trace
  let chunk = '{"traceEvents":['
  for (let i = 0; i < traceEvents.length; i++) {
    chunk += (i === 0 ? '\n' : ',\n') + JSON.stringify(traceEvents[i])
    if (chunk.length > 65536) {
      write(chunk)
      chunk = ''
    }
  }
  chunk += '\n]'
  for (const [key, value] of Object.entries(rest)) chunk += `,${JSON.stringify(key)}:${JSON.stringify(value)}`
  write(chunk + '}\n')
}

/**
 * `seqloop export`: reads `files`, writes the Chrome trace to `out` (a path) or to stdout (null).
 * Returns `{ slices, tracks }`. An unreadable or invalid input, or an output that cannot be
 * written, throws a `TraceInputError` (nothing is written for invalid input).
 */
function exportChrome (files, out) {
  const trace = toChromeTrace(files.map(loadTrace))
  if (out === null) {
    writeJson((chunk) => process.stdout.write(chunk), trace)
  } else {
    let fd
    try {
      fd = fs.openSync(out, 'w')
      writeJson((chunk) => fs.writeSync(fd, chunk), trace)
    } catch (err) {
      throw new TraceInputError(`cannot write ${out}: ${err.message}`)
    } finally {
      if (fd !== undefined) fs.closeSync(fd)
    }
  }
  return { slices: trace.otherData.slices, tracks: trace.otherData.tracks }
}

module.exports = { toChromeTrace, loadTrace, exportChrome }
