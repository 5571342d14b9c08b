// `currentClock()` of seqloop/vitest: the seqloop clock behind `vi`, for what Vitest has no
// method for (e.g. `countTimers()` per kind, `jump`, `setTickMode` options).
import { createRequire } from 'node:module'
import { afterEach, expect, test, vi } from 'vitest'
import { currentClock } from 'seqloop/vitest'

const seqloop = createRequire(import.meta.url)('seqloop/fake-timers')

afterEach(() => { vi.useRealTimers() })

test('currentClock is the seqloop clock vi drives, and null when not faking', () => {
  expect(currentClock()).toBe(null)
  vi.useFakeTimers({ now: 0 })
  const clock = currentClock()
  expect(Object.getPrototypeOf(clock)).toBe(Object.getPrototypeOf(seqloop.createClock()))
  expect(setTimeout.clock).toBe(clock)
  setTimeout(() => {}, 50)
  expect(clock.countTimers()).toBe(vi.getTimerCount())
  clock.tick(50)
  expect(vi.getTimerCount()).toBe(0)
  expect(Date.now()).toBe(50)
  vi.useRealTimers()
  expect(currentClock()).toBe(null)
})
