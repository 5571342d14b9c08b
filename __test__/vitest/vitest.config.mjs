// Vitest project for `test.setupFiles: ['seqloop/vitest']` (run by scripts/ci-runners.sh), once in
// each worker pool: child processes (the default; faking nextTick is refused there) and threads,
// and once with every file in one worker (`isolate: false`: the setup file runs again per file).
import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

const common = {
  root: fileURLToPath(new URL('.', import.meta.url)),
  include: ['*.spec.mjs'],
  setupFiles: ['seqloop/vitest'],
  // The project-wide config `vi.useFakeTimers()` starts from (Vitest's default loopLimit is 10000).
  fakeTimers: { loopLimit: 300 }
}

export default defineConfig({
  test: {
    projects: [
      { test: { ...common, name: 'forks', pool: 'forks' } },
      { test: { ...common, name: 'threads', pool: 'threads' } },
      { test: { ...common, name: 'shared-worker', pool: 'threads', isolate: false, maxWorkers: 1 } }
    ]
  }
})
