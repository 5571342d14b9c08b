// ESM entry point of seqloop/fake-timers: the same module as the CommonJS entry.
import { createRequire } from 'node:module'

const fakeTimers = createRequire(import.meta.url)('./fake-timers.js')

export const { timers, createClock, install, withGlobal } = fakeTimers
export default fakeTimers
