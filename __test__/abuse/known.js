'use strict'
// Known failing cases of the abuse matrix: each entry names the issue item it belongs to and
// who owns the fix. The matrix test (__test__/abuse.test.js) is green only because of this
// list; shrink it as fixes land (an entry that matches nothing makes the test fail, so a fixed
// case cannot hide here).
//
// `match(row)` sees a result row: { entry, name, o (outcome), code, cls, want, msg }.

const RECEIVER = / with receiver /

const KNOWN = [
  {
    id: 'payload-size-limits',
    item: 'issue 18 "Aborts on allocation failure": payload/trace size limits (src/binding/convert.rs, args.rs)',
    owner: 'crashloop',
    match: (r) => r.o === 'crash' && /sparse/.test(r.name) &&
      /^(seqloop:replay|seqloop:diffTraces|ReactorMesh#enqueueEvent|ReactorMesh#enqueueHostcallComplete|Scheduler#enqueue\w+|EventLoop#(completeHostcall|dispatchEvent))\b/.test(r.name),
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
    id: 'fake-timers-error-classes',
    item: 'issue 18 "Wrong error classes": fake timers\' coded errors whose class contradicts the README table',
    owner: 'fake-timers helper',
    match: (r) => r.o === 'wrongclass' && /^seqloop\/fake-timers:/.test(r.name),
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
