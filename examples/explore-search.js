'use strict'
// The README's "Exploring schedules" walkthrough: a "latest search wins" search box whose slow
// earlier response can overwrite a faster later one. `node examples/explore-search.js` finds the
// race, prints the shrunk schedule, replays it, and writes the failing run's trace to the file
// named on the command line (for `npx seqloop replay`); __test__/explore.test.js runs this file.
const fs = require('node:fs')
const { explore } = require('seqloop/explore')

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/** The UI model: every keystroke searches, and whatever answer arrives is shown. */
class SearchBox {
  constructor (search) {
    this.search = search
    this.shown = null
  }

  async type (query) {
    this.shown = await this.search(query) // the bug: an older answer may arrive last
  }
}

/** The test body: type "a", "ab", "abc" 30 ms apart; the box must end up showing "abc". */
async function typeAndCheck (ctx) {
  const search = ctx.io(async (q) => `results for ${q}`, { name: 'search' })
  const box = new SearchBox(search)
  const typing = [box.type('a')]
  await sleep(30)
  typing.push(box.type('ab'))
  await sleep(30)
  typing.push(box.type('abc'))
  await Promise.all(typing)
  if (box.shown !== 'results for abc') throw new Error(`the box shows "${box.shown}" after typing "abc"`)
}

async function main (traceFile = process.argv[2]) {
  const result = await explore(typeAndCheck, { runs: 200, seed: 1, latencyMs: [0, 50] })
  if (result.ok) return console.log(`no failure in ${result.runs} runs`)
  console.log(`run ${result.runs} (seed ${result.seed}) failed: ${result.error.message}`)
  for (const d of result.shrunk.decisions) {
    console.log(`  ${d.key} ${d.label}: ${d.choice} ms (default ${d.default} ms)`)
  }
  const again = await explore.replay(result, typeAndCheck)
  console.log(`replay: ok=${again.ok}, digest ${again.digest}`)
  if (traceFile) fs.writeFileSync(traceFile, result.trace)
  return result
}

module.exports = { SearchBox, typeAndCheck, main }
if (require.main === module) main()
