// Side-by-side: schedule N timers (seeded delays 0–10 s), each mapped to a JS callback that
// increments a counter, and dispatch them all. Contenders, all in this process, through the
// package's public API:
//   seqloop    Scheduler + DeterministicClock: setTimeout N times keeping id → callback in an
//              array, move the clock past the last deadline, then drain(BATCH) in a loop (one
//              Macrotask object per task) and call each timer's callback;
//   seqloop drainTimers()  the same through drainTimers(out): the ids of fired timers, BATCH per
//              call, into one Float64Array, no objects (other macrotask kinds go to tick());
//   sinon      @sinonjs/fake-timers createClock(): clock.setTimeout N times, clock.runAll();
//   node:test  mock.timers with apis ['setTimeout']: setTimeout N times, tick(10_001), reset().
// Every run checks that the counter equals N (a benchmark that skipped the work is worthless).
// Each case is warmed up, then run REPS times, contenders interleaved; the median is reported.

const { performance } = require('node:perf_hooks');
const FakeTimers = require('@sinonjs/fake-timers');
const { Scheduler, DeterministicClock } = require('..');

const SIZES = [1_000, 10_000, 100_000];
const MAX_DELAY_MS = 10_000;
const SEED = 0x5eed1007;
/** Tasks per `drain` call (one JS↔native crossing each). */
const BATCH = 4096;

/** xorshift32 (Marsaglia 2003): the same delays for every contender and every run. */
function delays(n) {
  let x = SEED >>> 0;
  const out = new Array(n);
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x % (MAX_DELAY_MS + 1);
  }
  return out;
}

let counter = 0;
function onTimer() {
  counter++;
}

function runSeqloop(ds) {
  const clock = new DeterministicClock(0);
  const sched = new Scheduler({ clock });
  const callbacks = [];
  // Ids are small increasing integers, so a dense array is the natural id → callback map.
  for (let i = 0; i < ds.length; i++) callbacks[sched.setTimeout(ds[i])] = onTimer;
  clock.advance(MAX_DELAY_MS + 1);
  for (;;) {
    const tasks = sched.drain(BATCH);
    if (tasks.length === 0) break;
    for (let i = 0; i < tasks.length; i++) {
      const t = tasks[i];
      if (t.kind === 'timer_fired') {
        const cb = callbacks[t.timerId];
        callbacks[t.timerId] = undefined;
        cb();
      }
    }
  }
}

function runSeqloopDrainTimers(ds) {
  const clock = new DeterministicClock(0);
  const sched = new Scheduler({ clock });
  const callbacks = [];
  for (let i = 0; i < ds.length; i++) callbacks[sched.setTimeout(ds[i])] = onTimer;
  clock.advance(MAX_DELAY_MS + 1);
  const out = new Float64Array(BATCH);
  for (;;) {
    const n = sched.drainTimers(out);
    if (n === 0) {
      // A macrotask of another kind (none in this scenario) or nothing left.
      if (sched.tick() === null) break;
      continue;
    }
    for (let i = 0; i < n; i++) {
      const id = out[i];
      const cb = callbacks[id];
      callbacks[id] = undefined;
      cb();
    }
  }
}

function runSinon(ds) {
  const clock = FakeTimers.createClock(0, ds.length + 1000);
  for (let i = 0; i < ds.length; i++) clock.setTimeout(onTimer, ds[i]);
  clock.runAll();
}

let nodeMock = null;
function runNodeMock(ds) {
  // Loaded lazily: node:test prints an ExperimentalWarning for MockTimers on first use.
  nodeMock ??= require('node:test').mock;
  nodeMock.timers.enable({ apis: ['setTimeout'] });
  try {
    for (let i = 0; i < ds.length; i++) setTimeout(onTimer, ds[i]);
    nodeMock.timers.tick(MAX_DELAY_MS + 1);
  } finally {
    nodeMock.timers.reset();
  }
}

const CONTENDERS = [
  ['seqloop', runSeqloop],
  ['seqloop drainTimers()', runSeqloopDrainTimers],
  ['sinon', runSinon],
  ['node:test', runNodeMock],
];

/** One timed run; throws unless every callback ran exactly once. */
function timed(name, fn, ds) {
  counter = 0;
  const t0 = performance.now();
  fn(ds);
  const ms = performance.now() - t0;
  if (counter !== ds.length) {
    throw new Error(`${name}: ${counter} callbacks ran for ${ds.length} timers`);
  }
  return ms;
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function repsFor(n) {
  return n >= 100_000 ? 5 : n >= 10_000 ? 9 : 21;
}

/**
 * Where seqloop's time goes, measured phase by phase in separate runs (median of reps): the
 * `setTimeout` loop, the `drain` calls alone (native ticks and the Macrotask objects), and the JS
 * loop that looks up and calls each callback.
 */
function seqloopSplit(ds, reps) {
  const set = [];
  const drain = [];
  const dispatch = [];
  for (let r = 0; r < reps; r++) {
    counter = 0;
    const clock = new DeterministicClock(0);
    const sched = new Scheduler({ clock });
    const callbacks = [];
    let t0 = performance.now();
    for (let i = 0; i < ds.length; i++) callbacks[sched.setTimeout(ds[i])] = onTimer;
    set.push(performance.now() - t0);
    clock.advance(MAX_DELAY_MS + 1);
    const batches = [];
    t0 = performance.now();
    for (;;) {
      const tasks = sched.drain(BATCH);
      if (tasks.length === 0) break;
      batches.push(tasks);
    }
    drain.push(performance.now() - t0);
    t0 = performance.now();
    for (const tasks of batches) {
      for (let i = 0; i < tasks.length; i++) {
        const id = tasks[i].timerId;
        const cb = callbacks[id];
        callbacks[id] = undefined;
        cb();
      }
    }
    dispatch.push(performance.now() - t0);
    if (counter !== ds.length) throw new Error(`seqloop split: ${counter} of ${ds.length} callbacks ran`);
  }
  return { set: median(set), drain: median(drain), dispatch: median(dispatch) };
}

const fmt = (ms) => ms.toFixed(ms < 10 ? 3 : 1);
const ns = (ms, n) => ((ms * 1e6) / n).toFixed(0);

async function run() {
  const names = CONTENDERS.map(([name]) => name);
  console.log(`scheduler: N timers (seeded delays 0–${MAX_DELAY_MS} ms) → N JS callbacks, median ms`);
  console.log(`(seqloop drains ${BATCH} tasks per call; ratio = competitor ms / seqloop ms)\n`);
  const rows = [];
  const splits = [];
  for (const n of SIZES) {
    const ds = delays(n);
    const reps = repsFor(n);
    // Warm-up: let each contender's code reach the optimising tier at this size.
    for (let w = 0; w < (n >= 100_000 ? 1 : 3); w++) {
      for (const [name, fn] of CONTENDERS) timed(name, fn, ds);
    }
    const times = Object.fromEntries(names.map((name) => [name, []]));
    for (let r = 0; r < reps; r++) {
      for (const [name, fn] of CONTENDERS) times[name].push(timed(name, fn, ds));
    }
    const med = Object.fromEntries(names.map((name) => [name, median(times[name])]));
    rows.push({ n, med });
    splits.push({ n, ...seqloopSplit(ds, reps) });
  }

  const head = ['N', ...names.map((x) => `${x} ms`), ...names.slice(1).map((x) => `vs ${x}`)];
  const body = rows.map(({ n, med }) => [
    String(n),
    ...names.map((x) => fmt(med[x])),
    ...names.slice(1).map((x) => `${(med[x] / med.seqloop).toFixed(2)}x`),
  ]);
  printTable(head, body);

  console.log('\nseqloop split (separate runs, median ms; ns per timer in brackets):');
  printTable(
    ['N', 'setTimeout', 'drain', 'dispatch', 'sum'],
    splits.map(({ n, set, drain, dispatch }) => [
      String(n),
      `${fmt(set)} (${ns(set, n)})`,
      `${fmt(drain)} (${ns(drain, n)})`,
      `${fmt(dispatch)} (${ns(dispatch, n)})`,
      `${fmt(set + drain + dispatch)} (${ns(set + drain + dispatch, n)})`,
    ]),
  );
}

function printTable(head, body) {
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
  const line = (cells) => cells.map((c, i) => c.padStart(widths[i])).join('  ');
  console.log(line(head));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of body) console.log(line(r));
}

module.exports = { run };

if (require.main === module) {
  run().catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
