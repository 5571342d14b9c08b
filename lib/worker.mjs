// ESM entry of seqloop/worker (same module instance as the CommonJS one).
import workerModule from './worker.js'

export const shard = workerModule.shard
export default workerModule
