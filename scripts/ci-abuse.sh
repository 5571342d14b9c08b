#!/usr/bin/env bash
# CI form of the hostile-input checks (issue 18): the abuse matrix over every exported entry
# point (each case in a child process; fails on a crash, hang, uncoded error or wrong error class
# not listed in __test__/abuse/known.js) and a light soak (1e6 operations, RSS flat within 10 %
# after warm-up). The full forms: `npm run abuse`, `npm run soak`.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs="${SEQLOOP_ABUSE_JOBS:-2}"
node __test__/abuse/run.js --jobs "$jobs"
node --test __test__/abuse_slab_topo.test.js __test__/abuse_teardown.test.js
node --expose-gc bench/soak.js --ops 1e6 --samples 10
