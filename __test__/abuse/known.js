'use strict'
// Known failing cases of the abuse matrix: each entry names the issue item it belongs to and
// who owns the fix. The matrix test (__test__/abuse.test.js) is green only because of this
// list; shrink it as fixes land (an entry that matches nothing makes the test fail, so a fixed
// case cannot hide here, unless it is marked `optional` because it depends on the Node version).
//
// `match(row)` sees a result row: { entry, name, o (outcome), code, cls, want, msg }.

const RECEIVER = / with receiver /

const KNOWN = [
  {
    id: 'payload-size-limits',
    item: 'issue 18 "Aborts on allocation failure": payload/trace size limits (src/binding/convert.rs, args.rs)',
    owner: 'crashloop',
    match: (r) => r.o === 'crash' && /sparse/.test(r.name) &&
      /^(seqloop:replay|seqloop:diffTraces|ReactorMesh#enqueueEvent|ReactorMesh#enqueueHostcallComplete|Scheduler(\[[^\]]+\])?#enqueue\w+|EventLoop(\[[^\]]+\])?#(completeHostcall|dispatchEvent))\b/.test(r.name),
  },
  {
    id: 'reentrant-payload-getters',
    item: 'issue 18 "Aborts on re-entrancy": getters on a completeHostcall outcome or dispatchEvent payload that call back into the same EventLoop → ERR_REENTRANT_CALL',
    owner: 'crashloop',
    match: (r) => r.o === 'crash' && /^EventLoop(\[[^\]]+\])?#(completeHostcall|dispatchEvent) /.test(r.name) && /re-ent/.test(r.name),
  },
  {
    id: 'maxticks-unbounded',
    item: 'issue 18 "Hangs": a virtual-clock runAll({ maxTicks: 2**31 - 1 }) with an interval never yields to Node; maxTicks needs a documented bound or periodic yields',
    owner: 'crashloop',
    // Node 24 has no `process._tickCallback`, so the runner takes one callback per entry and
    // Node's loop turns between them: no hang there, so this entry may match nothing.
    optional: true,
    match: (r) => r.o === 'hang' && /^EventLoop\[pending interval\]#(runAll|runUntilIdle|advance) /.test(r.name),
  },
  {
    id: 'clock-throws-non-error',
    item: 'issue 18 "Wrong error classes": a custom clock throwing a Symbol or a null-prototype object gives an uncoded TypeError instead of ERR_CLOCK_FAILED',
    owner: 'crashloop',
    match: (r) => r.o === 'uncoded' && /^(Scheduler|EventLoop)\b/.test(r.name) && /clock: nowMs throws/.test(r.name),
  },
  {
    id: 'invalid-this-native',
    item: 'issue 18 "Uncoded errors": wrong receivers → TypeError ERR_INVALID_THIS (every class)',
    owner: 'crashloop',
    match: (r) => r.o === 'uncoded' && RECEIVER.test(r.name),
  },
  {
    id: 'new-on-factory-class',
    item: 'issue 18 "What to build": `new` on a class that cannot be constructed from JS gets a coded error',
    owner: 'crashloop (lib/index.js requireNew, next to ERR_INVALID_THIS)',
    match: (r) => r.o === 'uncoded' && /^\w+\(\) /.test(r.name) && /Class contains no `constructor`/.test(r.msg ?? ''),
  },
  {
    id: 'fake-timers-uncoded',
    item: 'issue 18 "Uncoded errors" / "Wrong error classes": fake clock methods throwing V8 errors for bad delays and callbacks',
    owner: 'fake-timers helper',
    match: (r) => r.o === 'uncoded' && /^seqloop\/fake-timers:/.test(r.name),
  },
]

const used = new Set()

function isKnown (row) {
  const k = KNOWN.find((k) => k.match(row))
  if (k) used.add(k.id)
  return Boolean(k)
}

module.exports = { known: KNOWN, isKnown, used }
