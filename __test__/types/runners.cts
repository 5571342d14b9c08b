// Type-checked by __test__/types.test.js and npm run lint (types/tsconfig.json): the runner adapters' .d.ts files.
import { useSeqloopTimers, currentClock, checkVersion, ViTimers } from 'seqloop/vitest'
import SeqloopEnvironment = require('seqloop/jest-environment')
import type { Clock } from 'seqloop/fake-timers'

const vi = { useFakeTimers () {} }
const timers = useSeqloopTimers(vi, { global: globalThis, config: () => ({ loopLimit: 10 }) })
const fromState: Clock | null = timers.clock
const fromFn: Clock | null = currentClock(vi) ?? currentClock()
checkVersion('5.1.2')
if (fromState !== null && fromFn !== null) fromState.tick(fromFn.now)

const own = new ViTimers({ global: globalThis, config: { loopLimit: 5 } })
own.useFakeTimers()
own.setTimerTickMode('interval', 20)
own.advanceTimersToNextTimer(3)
const mocked: Date | null = own.getMockedSystemTime()
void mocked
// @ts-expect-error 'interval' is the only mode that takes an interval
own.setTimerTickMode('manual', 20)

const Env: typeof SeqloopEnvironment = SeqloopEnvironment.TestEnvironment
void Env
SeqloopEnvironment.useSeqloopClock

// @ts-expect-error the options take a function, not a config object
useSeqloopTimers(vi, { config: { loopLimit: 10 } })
// @ts-expect-error a version is a string
checkVersion(5)
