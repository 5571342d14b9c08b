'use strict'
// The abuse matrix driver: runs every case of cases.js in child processes (child.js), many per
// child, `jobs` children at a time. A child that dies (signal, abort, non-zero exit) names the
// case it had started; one that stops making progress for `hangMs` is killed and its case is a
// hang. Either way the run goes on from the next case. Prints counts per outcome class.
//
//   node __test__/abuse/run.js [--full] [--jobs N] [--json out.json] [--hang-ms N]
const { spawn } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const { buildCases, describe } = require('./cases.js')

const FAILING = new Set(['uncoded', 'wrongclass', 'crash', 'hang', 'harness'])

function parseArgs (argv) {
  const o = { full: false, jobs: Math.max(1, Math.min(os.availableParallelism(), 4)), json: null, hangMs: 15000, chunk: 0 }
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--full') o.full = true
    else if (argv[i] === '--jobs') o.jobs = Number(argv[++i])
    else if (argv[i] === '--json') o.json = argv[++i]
    else if (argv[i] === '--hang-ms') o.hangMs = Number(argv[++i])
  }
  return o
}

/** Runs cases [from, to) in children until all have an outcome; resolves to Map id → outcome. */
function runRange (from, to, opts, dir, results) {
  return new Promise((resolve) => {
    const next = (start) => {
      if (start >= to) return resolve()
      const logPath = path.join(dir, `${from}-${start}.log`)
      fs.writeFileSync(logPath, '')
      const child = spawn(process.execPath, ['--expose-gc', path.join(__dirname, 'child.js'), String(start), String(to), logPath, opts.full ? 'full' : 'ci'], {
        stdio: ['ignore', 'ignore', 'pipe'],
        env: { ...process.env, RUST_BACKTRACE: '0' },
      })
      let stderr = ''
      child.stderr.on('data', (d) => { if (stderr.length < 4096) stderr += d })
      let lastSize = -1
      let lastChange = Date.now()
      let hung = false
      const watch = setInterval(() => {
        const size = fs.statSync(logPath).size
        if (size !== lastSize) { lastSize = size; lastChange = Date.now(); return }
        if (Date.now() - lastChange > opts.hangMs) { hung = true; child.kill('SIGKILL') }
      }, 250)
      child.on('exit', (code, signal) => {
        clearInterval(watch)
        let started = -1
        for (const line of fs.readFileSync(logPath, 'utf8').split('\n')) {
          if (line.startsWith('S ')) started = Number(line.slice(2))
          else if (line.startsWith('R ')) {
            const sp = line.indexOf(' ', 2)
            results.set(Number(line.slice(2, sp)), JSON.parse(line.slice(sp + 1)))
            started = -1
          }
        }
        fs.rmSync(logPath)
        if (started === -1) {
          if (code === 0) return resolve()
          // Died between cases: should not happen; name the next case.
          started = Math.max(start, ...[...results.keys()].filter((k) => k >= start && k < to).map((k) => k + 1))
        }
        const o = hung ? 'hang' : 'crash'
        results.set(started, { o, signal, code, msg: stderr.split('\n').filter(Boolean).slice(0, 2).join(' | ').slice(0, 200) })
        next(started + 1)
      })
    }
    next(from)
  })
}

async function runMatrix (opts) {
  const { cases, missing } = buildCases(opts.full)
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seqloop-abuse-'))
  const results = new Map()
  const chunks = []
  const size = Math.ceil(cases.length / (opts.jobs * 4))
  for (let i = 0; i < cases.length; i += size) chunks.push([i, Math.min(cases.length, i + size)])
  const started = Date.now()
  await Promise.all(Array.from({ length: opts.jobs }, async () => {
    while (chunks.length) {
      const [a, b] = chunks.shift()
      await runRange(a, b, opts, dir, results)
    }
  }))
  fs.rmSync(dir, { recursive: true, force: true })
  const rows = cases.map((c, id) => ({ id, entry: c.e.name, name: describe(c), ...(results.get(id) ?? { o: 'missing' }) }))
  return { rows, missing, ms: Date.now() - started }
}

function summarize (rows) {
  const counts = {}
  for (const r of rows) counts[r.o] = (counts[r.o] || 0) + 1
  return counts
}

if (require.main === module) {
  const opts = parseArgs(process.argv.slice(2))
  runMatrix(opts).then(({ rows, missing, ms }) => {
    const { known, isKnown, used } = require('./known.js')
    const failing = rows.filter((r) => FAILING.has(r.o) || r.o === 'missing')
    const unknown = failing.filter((r) => !isKnown(r))
    // The CI form tries fewer values, so only the full form can call a known entry stale.
    const stale = opts.full ? known.filter((k) => !k.optional && !used.has(k.id)).map((k) => k.id) : []
    console.log(`abuse matrix (${opts.full ? 'full' : 'ci'}): ${rows.length} calls in ${(ms / 1000).toFixed(1)} s`)
    console.log('outcomes:', JSON.stringify(summarize(rows)))
    console.log(`failing: ${failing.length} (${failing.length - unknown.length} known in known.js, ${unknown.length} not)`)
    const byOwner = {}
    for (const r of failing) {
      const k = known.find((k) => k.match(r))
      if (k) byOwner[`${k.id} (${k.owner})`] = (byOwner[`${k.id} (${k.owner})`] || 0) + 1
    }
    for (const [k, n] of Object.entries(byOwner)) console.log(`  known ${k}: ${n}`)
    if (stale.length) console.log('stale entries in known.js (they match nothing):', stale.join(', '))
    if (missing.length) console.log('classes without a fixture:', missing.join(', '))
    for (const r of unknown.slice(0, 60)) console.log(`  ${r.o}: ${r.name}: ${r.code ?? ''} ${r.msg ?? ''}`)
    if (opts.json) fs.writeFileSync(opts.json, JSON.stringify(rows, null, 1))
    process.exitCode = unknown.length || missing.length || stale.length ? 1 : 0
  })
}

module.exports = { runMatrix, summarize, FAILING }
