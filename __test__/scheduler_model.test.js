'use strict'
// The Scheduler against its model (model/scheduler_model.js), with and without recording:
// >= 1e6 random operations over CI-sized seeds. SEQLOOP_SEED=S runs one seed (the seed of a
// failure is in its message); SEQLOOP_MODEL_OPS scales the work per seed. `npm run fuzz` runs more.
const test = require('node:test')
const { runSeed, seeds } = require('./model/scheduler_model.js')

const OPS = Number(process.env.SEQLOOP_MODEL_OPS) || 50_000
const SEEDS = seeds(20, 0x5eed)

test(`Scheduler = model, recording or not: ${SEEDS.length} seeds × ${OPS} random ops`, () => {
  let total = 0
  for (const seed of SEEDS) total += runSeed(seed, OPS)
  if (SEEDS.length > 1 && OPS >= 50_000 && total < 1e6) throw new Error(`only ${total} ops`)
})
