// `test.setupFiles: ['seqloop/vitest']`: importing this module makes every `vi` timer method run
// on a seqloop clock (see vitest.js). `currentClock()` returns that clock (null when not faking).
import { createRequire } from 'node:module'
import { vi } from 'vitest'

const require = createRequire(import.meta.url)
const seqloopVitest = require('./vitest.js')

const vitestVersion = require('vitest/package.json').version
seqloopVitest.checkVersion(vitestVersion)
seqloopVitest.useSeqloopTimers(vi, { vitestVersion })

export const { useSeqloopTimers, checkVersion } = seqloopVitest
export function currentClock (v = vi) { return seqloopVitest.currentClock(v) }
