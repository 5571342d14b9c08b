'use strict'
// docs/architecture.md's "## Repository layout" block names every folder of the repository (top level, and the
// folders under src/ and lib/), one line each, so it cannot go stale silently.
const { test } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')

const ROOT = path.join(__dirname, '..')
// Not part of the tree: VCS, dependencies and build output (see .gitignore).
const IGNORED = new Set(['.git', 'node_modules', 'target', 'dist'])

function dirs (rel) {
  return fs.readdirSync(path.join(ROOT, rel), { withFileTypes: true })
    .filter((e) => e.isDirectory() && !IGNORED.has(e.name))
    .map((e) => path.posix.join(rel, e.name) + '/')
}

test('docs/architecture.md "## Repository layout" lists every folder, one line each', () => {
  const readme = fs.readFileSync(path.join(ROOT, 'docs', 'architecture.md'), 'utf8')
  const start = readme.indexOf('\n## Repository layout\n')
  assert.ok(start >= 0, 'docs/architecture.md has a "## Repository layout" section')
  const block = /```\n([\s\S]*?)\n```/.exec(readme.slice(start))
  assert.ok(block, 'the Layout section has a code block')
  const listed = new Set(block[1].split('\n').map((line) => line.split(/\s+/)[0]))
  const tree = [...dirs('.').map((d) => d.replace(/^\.\//, '')), ...dirs('src'), ...dirs('lib')]
  for (const sub of dirs('src')) tree.push(...dirs(sub.slice(0, -1)))
  // (a folder whose subfolders have lines of their own, like src/, needs no line itself)
  const missing = tree.filter((d) => ![...listed].some((l) => l === d || l.startsWith(d)))
  assert.deepEqual(missing, [], 'folders missing from docs/architecture.md "## Repository layout"')
  const stale = [...listed].filter((d) => d.endsWith('/') && !fs.existsSync(path.join(ROOT, d)))
  assert.deepEqual(stale, [], 'docs/architecture.md "## Repository layout" names folders that do not exist')
})
