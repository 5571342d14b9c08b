// Type-checked by __test__/types.test.js and npm run lint (types/tsconfig.json, strict): the public types must accept
// real usage and reject misuse (the @ts-expect-error lines fail the build if they compile).
import { EventLoop, Scheduler, DeterministicClock, WallClock, Macrotask, HostcallOutcome } from '../../lib/index'

const clock = new DeterministicClock(0)
const s = new Scheduler({ clock })
new Scheduler({ clock: new WallClock() })
new Scheduler({ clock: { nowMs: () => 5 } })
const id: number = s.setTimeout(100)
const cleared: boolean = s.clearTimeout(id)
const outcome: HostcallOutcome = { type: 'success', value: { ok: true } }
s.enqueueHostcallComplete('c', outcome)
const task: Macrotask | null = s.tick()
if (task && task.kind === 'timer_fired') {
  const t: number = task.timerId
}
const batch: Macrotask[] = s.drain(10)

const loop = new EventLoop({ clock: 'virtual', startMs: 0 })
const tid: number = loop.setTimeout((a: string, b: number) => {}, 5, 'x', 1)
loop.clearTimeout(tid)
const p: Promise<number> = loop.runAll({ maxTicks: 10 })
// @ts-expect-error extra arguments must match the callback's parameters
loop.setTimeout((a: string) => {}, 5, 42)
// @ts-expect-error clock must be 'virtual' or 'wall'
new EventLoop({ clock: 'sundial' })
void cleared; void batch; void p
import { install, withGlobal } from '../../lib/index'
const fake = install({ now: 0, toFake: ['setTimeout', 'Date'] })
fake.tick(10)
fake.uninstall()
const ft = withGlobal(globalThis)
void ft
const nodeClock = install({ semantics: 'node', toFake: ['setTimeout'] })
const semantics: 'sinon' | 'node' = nodeClock.semantics
nodeClock.tick()
nodeClock.tick({ total: () => 250 }) // a Temporal.Duration
// @ts-expect-error a tick value is a number, a time string or a Temporal.Duration
nodeClock.tick({ milliseconds: 250 })
nodeClock.uninstall()
install({ toFake: ['Temporal', 'Date'], ignoreMissingTimers: true }).uninstall()
// @ts-expect-error semantics is 'sinon' or 'node'
install({ semantics: 'browser' })
const nodeTimers = withGlobal(globalThis, { semantics: 'node' })
const c2 = nodeTimers.createClock(0, 100, { semantics: 'sinon' })
void semantics; void c2
// seqloop's extensions: AbortSignal on the fake clock, pending(), failOnPending, the loop-limit timer
const strict = install({ failOnPending: true, toNotFake: ['AbortSignal'] })
const leftover = strict.pending().map((p) => `${p.kind} #${p.id} +${p.delay} @${p.callAt} ${p.createdAt ?? '?'}`)
try {
  strict.uninstall()
} catch (err) {
  const e = err as import('../../lib/fake-timers').PendingTimersError
  const ids: number[] = e.pending.map((p) => p.id)
  void ids
}
const sites = nodeTimers.createClock(0, 10, { captureSites: true })
try {
  sites.runAll()
} catch (err) {
  const t = (err as import('../../lib/fake-timers').LoopLimitError).timer
  if (t) void `${t.name} ${t.delay} ${t.createdAt}`
}
install({ toFake: ['AbortSignal'] }).uninstall()
// @ts-expect-error failOnPending is a boolean
install({ failOnPending: 'yes' })
void leftover
