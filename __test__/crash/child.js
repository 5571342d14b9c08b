'use strict'
// Runs a scenario in a child process so a crash (a signal), an abort or a hang is caught and
// named instead of killing the test runner. Shared by the crash and teardown suites.
const { spawnSync } = require('node:child_process')
const path = require('node:path')

/** The package root, for scenarios to `require(ROOT)`. */
const ROOT = path.resolve(__dirname, '..', '..')

/**
 * Runs `source` (CommonJS; `ROOT` and `seqloop` are in scope) with `node`. Returns
 * `{ outcome, status, signal, stdout, stderr }` where `outcome` is `'ok'` (exit 0), `'exit N'`,
 * `'signal SIGSEGV'` (or another signal) or `'hang'` (still running after `hangAfterMs`, a guard
 * against a hang, not a timing assertion; the child is killed).
 */
function runChild (source, { hangAfterMs = 120_000, execArgv = [], env = {} } = {}) {
  const prelude = `const ROOT = ${JSON.stringify(ROOT)}; const seqloop = require(ROOT);\n`
  const r = spawnSync(process.execPath, [...execArgv, '-e', prelude + source], {
    encoding: 'utf8',
    timeout: hangAfterMs,
    killSignal: 'SIGKILL',
    env: { ...process.env, ...env },
  })
  let outcome
  if (r.error && r.error.code === 'ETIMEDOUT') outcome = 'hang'
  else if (r.signal) outcome = `signal ${r.signal}`
  else if (r.status === 0) outcome = 'ok'
  else outcome = `exit ${r.status}`
  return { outcome, status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr }
}

/** A one-line summary of a child's result for assertion messages. */
function summary (r) {
  const tail = (s) => (s || '').trim().split('\n').slice(-8).join('\n')
  return `${r.outcome}\n--- stdout\n${tail(r.stdout)}\n--- stderr\n${tail(r.stderr)}`
}

module.exports = { ROOT, runChild, summary }
