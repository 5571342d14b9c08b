'use strict'
// `npm run test:chrome`: the files `seqloop export --format chrome` writes load and render in a
// real headless Chromium (Debian's `chromium` package). The page is speedscope's own web app (the
// `speedscope` devDependency, run from its local files): its importer reads the Chrome Trace Event
// format, makes one profile per track named by the metadata events, and draws it; its Sandwich
// view lists every slice with its duration. (Chromium 156 no longer ships chrome://tracing, and
// Perfetto's UI is not installable offline.)
// Needs Chromium: run without one, this file FAILS (it never skips). It is kept out of the default
// `__test__/*.test.js` run for that reason; .ci/run installs chromium and runs it.
const { test, before, after } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { spawnSync } = require('node:child_process')
const { pathToFileURL } = require('node:url')
const { findChromium, Browser } = require('./cdp.js')
const { checkChromeTrace, schedulerTrace, meshTraces, put } = require('./trace-format.js')

const CLI = path.join(__dirname, '..', '..', 'bin', 'seqloop.js')
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seqloop-chrome-'))
let browser

function speedscopePage () {
  let pkg
  try {
    pkg = require.resolve('speedscope/package.json')
  } catch {
    throw new Error('the speedscope devDependency is missing: run `npm ci` first')
  }
  const page = path.join(path.dirname(pkg), 'dist', 'release', 'index.html')
  assert.ok(fs.existsSync(page), `speedscope's page is at ${page}`)
  return page
}

before(() => {
  const binary = findChromium()
  if (binary === null) {
    throw new Error('no Chromium found: install Debian\'s chromium package (apt-get install chromium) or set CHROMIUM=/path/to/chrome')
  }
  browser = new Browser(binary)
})

after(async () => {
  if (browser) await browser.close()
  fs.rmSync(dir, { recursive: true, force: true })
})

/** Exports `files` with the CLI; returns the output path and its parsed, format-checked content. */
function exportFiles (files, name) {
  const out = path.join(dir, name)
  const r = spawnSync(process.execPath, [CLI, 'export', '--format', 'chrome', ...files, '-o', out], { encoding: 'utf8' })
  assert.equal(r.status, 0, r.stderr)
  return { out, summary: checkChromeTrace(JSON.parse(fs.readFileSync(out, 'utf8'))) }
}

/**
 * Opens `file` in speedscope (the way its CLI does: a script that hands the bytes to the app) and
 * returns the session once the app has shown the file, or refused it (speedscope says so in an
 * alert, which `Browser` answers and keeps in `browser.dialogs`).
 */
async function load (file) {
  const dialogs = browser.dialogs.length
  const name = path.basename(file)
  const script = path.join(dir, `${name}.js`)
  const bytes = fs.readFileSync(file)
  fs.writeFileSync(script, `speedscope.loadFileFromBase64(${JSON.stringify(name)}, ${JSON.stringify(bytes.toString('base64'))})`)
  const url = `${pathToFileURL(speedscopePage()).href}#localProfilePath=${encodeURIComponent(script)}`
  const session = await browser.open(url)
  const stop = Date.now() + 30000
  while (browser.dialogs.length === dialogs) {
    let title = ''
    try {
      title = await browser.evaluate(session, 'document.title')
    } catch {} // still loading
    if (title.startsWith(name)) break
    if (Date.now() > stop) throw new Error(`speedscope did not show ${name} within 30 s`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return session
}

const text = (session) => browser.evaluate(session, 'document.body.innerText')

/** A duration in µs as speedscope's Sandwich table prints it. */
const duration = (us) => (us >= 1000 ? `${(us / 1000).toFixed(2)}ms` : `${us.toFixed(2)}µs`)

/**
 * Walks every profile speedscope made from the file (key `n`), in the Sandwich view (key `3`):
 * `[{ title, body }]`, where `title` is the toolbar's profile line and `body` the page text.
 */
async function profiles (session) {
  await browser.press(session, '3')
  await browser.until(session, "document.body.innerText.includes('Symbol Name')", 'the Sandwich view')
  const first = await text(session)
  const m = /\((\d+)\/(\d+)\)/.exec(first)
  assert.ok(m, `the toolbar shows which profile of how many: ${first.slice(0, 300)}`)
  const count = Number(m[2])
  const out = []
  for (let k = 1; k <= count; k++) {
    if (k > 1) {
      await browser.press(session, 'n')
      await browser.until(session, `document.body.innerText.includes('(${k}/${count})')`, `profile ${k}/${count}`)
    }
    const body = await text(session)
    out.push({ title: body.split('\n').find((l) => l.includes(`(${k}/${count})`)), body })
  }
  return out
}

/** Asserts that speedscope made one profile per track and shows exactly that track's slices. */
async function assertRendered (session, summary) {
  const seen = await profiles(session)
  const keys = [...summary.tracks.keys()]
  assert.equal(seen.length, keys.length, 'one profile per track')
  seen.forEach(({ title, body }, i) => {
    const key = keys[i]
    const [pid, tid] = key.split(':')
    assert.ok(title.includes(`${summary.processes.get(Number(pid))} (pid ${pid}), ${summary.tracks.get(key)} (tid ${tid})`), title)
    const lines = body.split('\n').map((l) => l.trim())
    for (const [other, slices] of summary.slices) {
      for (const e of slices) {
        // speedscope names a frame by the slice's name followed by its args (seq first)
        const row = lines.findIndex((l) => l.startsWith(`${e.name} {"seq":${e.args.seq},`))
        assert.equal(row >= 0, other === key, `slice seq ${e.args.seq} (${e.name}) ${other === key ? 'shown' : 'not shown'} on ${summary.tracks.get(key)}`)
        // and the row's total time is the slice's duration
        if (row >= 0) assert.ok(lines[row - 2].startsWith(duration(e.dur)), `${e.name}: ${lines[row - 2]} for ${e.dur} µs`)
      }
    }
  })
  assert.deepEqual(browser.exceptions, [], 'no exception in the page')
  assert.deepEqual(browser.dialogs, [], 'no alert (speedscope alerts when it cannot import a file)')
}

test('a scheduler trace renders in Chromium: one profile per macrotask kind, every dispatch listed', { timeout: 120000 }, async () => {
  const { out, summary } = exportFiles([put(dir, 'run.jsonl', schedulerTrace())], 'run.json')
  assert.equal(summary.tracks.size, 3)
  const session = await load(out)
  assert.equal(await browser.evaluate(session, 'document.title'), 'run.json - speedscope')
  await assertRendered(session, summary)
  assert.ok(await browser.evaluate(session, "[...document.querySelectorAll('canvas')].some((c) => c.width > 0 && c.height > 0)"), 'drawn on a canvas')
})

test('a mesh export renders one profile per shard', { timeout: 120000 }, async () => {
  const files = meshTraces(3).map((t, i) => put(dir, `shard-${i}.jsonl`, t.replace('{"seqloop_trace":1,', `{"seqloop_trace":1,"shard_id":${i},`)))
  const { out, summary } = exportFiles(files, 'mesh.json')
  assert.deepEqual([...summary.tracks.values()], ['shard 0', 'shard 1', 'shard 2'])
  const session = await load(out)
  await assertRendered(session, summary)
})

test('control: the page refuses a file that is not a trace (so the checks above can fail)', { timeout: 120000 }, async () => {
  const bogus = put(dir, 'bogus.json', JSON.stringify({ notTraceEvents: [] }))
  const before = browser.dialogs.length
  const session = await load(bogus)
  assert.match(browser.dialogs.slice(before).join('\n'), /unrecognized format/i)
  const body = await text(session)
  assert.ok(!/\(\d+\/\d+\)/.test(body), `no profile was made: ${body.slice(0, 200)}`)
})
