// ESM entry point of seqloop/explore: the same module as the CommonJS entry.
import { createRequire } from 'node:module'

const explore = createRequire(import.meta.url)('./explore.js')

export const replay = explore.replay
export { explore }
export default explore
