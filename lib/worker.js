'use strict'
// `require('seqloop/worker')` inside a ShardedWorkers worker file: `shard` is that thread's
// shard (lib/worker-boot.js sets it before the file is loaded); null on any other thread.

module.exports = { shard: null }
