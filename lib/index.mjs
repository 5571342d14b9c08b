// ESM entry point: the same bindings as the CommonJS entry, as named exports.
import { createRequire } from 'node:module'

const seqloop = createRequire(import.meta.url)('./index.js')

export const {
  Scheduler,
  DeterministicClock,
  WallClock,
  TimerQueue,
  EventLoop,
  HugepageStatus,
  NumaSlab,
  NumaSlabPool,
  NumaSlabTelemetry,
  ReactorTopologySnapshot,
  ReactorPlacementManifest,
  ThreadAffinityAdvice,
  bindCurrentThread,
  ReactorMesh,
  ReactorMeshTelemetry,
  ShardedWorkers,
  install,
  withGlobal,
  replay,
  diffTraces,
} = seqloop
export default seqloop
