// Types of `seqloop/explore`: seeded schedule exploration, shrinking and replay (docs/explore.md).
import type { Clock, FakeMethod } from './fake-timers'

/** A latency range in whole milliseconds: `[min, max]`, 0 <= min <= max <= 2^31 - 1. */
export type LatencyRange = [min: number, max: number]

/** Options of `explore` (and of `explore.replay`, which uses `latencyMs`, `toFake` and `loopLimit`). */
export interface ExploreOptions {
  /** How many runs (default 100): run i uses seed `seed + i`. */
  runs?: number
  /** The first run's seed, an integer from 0 to 2^32 - 1 (default 1). */
  seed?: number
  /** Default latency range of `ctx.io` calls (default `[0, 50]`). */
  latencyMs?: LatencyRange
  /** What each run's fake clock fakes (`install`'s `toFake`; default: everything Node has but the microtask queues). */
  toFake?: FakeMethod[]
  /** Most timers one run may dispatch before it fails with `ERR_LOOP_LIMIT` (default 100000). */
  loopLimit?: number
}

/** Options of one `ctx.io` function. */
export interface IoOptions {
  /** This function's latency range (default: the explore option). */
  latencyMs?: LatencyRange
  /** Its label in schedules (default: the function's name). */
  name?: string
}

/** What a test body receives on each run. */
export interface ExploreContext {
  /** The run's fake clock (installed with `semantics: 'node'`; explore moves its time). */
  readonly clock: Clock
  /** The run's seed (use it for any randomness the body needs, so runs replay). */
  readonly seed: number
  /**
   * Wraps a promise-returning function: each call's settlement is delivered after a decided
   * virtual latency (one `io_latency` decision per call).
   */
  io<A extends unknown[], R> (fn: (...args: A) => R | PromiseLike<R>, options?: IoOptions): (...args: A) => Promise<R>
}

/** One decision of a run. `key` is its kind's prefix and ordinal in the run (`io:0`, `top:0`, `tie:2`). */
export type Decision =
  | { key: string; kind: 'io_latency'; choice: number; default: number; label: string; range: LatencyRange }
  | { key: string; kind: 'timeout_vs_immediate'; choice: 'immediate' | 'timeout'; default: 'immediate'; at: number; timeouts: number }
  | { key: string; kind: 'same_ms'; choice: number[]; default: number[]; at: number; turns: number[]; timers: number }

/** A decision given to `explore.replay`: its key and choice (the kind is read from the key). */
export interface DecisionInput {
  key: string
  kind?: Decision['kind']
  choice: number | 'immediate' | 'timeout' | number[]
}

/** Every run passed. */
export interface ExplorePassed {
  ok: true
  runs: number
}

/** The first failing run, shrunk and recorded. */
export interface ExploreFailed {
  ok: false
  /** Runs made, the failing one included. */
  runs: number
  /** The failing run's seed. */
  seed: number
  /** What the failing run threw or rejected with. */
  error: unknown
  /** Every decision of the failing run. */
  schedule: Decision[]
  /** `decisions`: the fewest perturbed decisions that still fail; `schedule`: every decision of that run. */
  shrunk: { schedule: Decision[]; decisions: Decision[] }
  /** The failing run's dispatches as a JSONL trace (`replay`, `npx seqloop replay`). */
  trace: string
  /** The options the run used (what `explore.replay` needs to rerun it). */
  options: { latencyMs: LatencyRange; toFake: FakeMethod[] | undefined; loopLimit: number }
}

export type ExploreResult = ExplorePassed | ExploreFailed

/** What `explore.replay` resolves with. */
export interface ReplayOutcome {
  ok: boolean
  error: unknown
  /** 16 hex digits over the dispatched sequence (as `Scheduler#digest()`). */
  digest: string
  schedule: Decision[]
  trace: string
}

export type TestBody = (ctx: ExploreContext) => unknown

/** What `explore.replay` reruns: a failing result, or a seed and (some of) its decisions. */
export interface ReplayTarget {
  seed?: number
  schedule?: ReadonlyArray<DecisionInput>
  options?: ExploreOptions
}

export interface Explore {
  /** Runs `testFn` under `runs` seeded schedules; resolves at the first failure, shrunk. */
  (testFn: TestBody, options?: ExploreOptions): Promise<ExploreResult>
  /** Reruns one schedule exactly. */
  replay (target: ExploreFailed | ReplayTarget, testFn: TestBody, options?: ExploreOptions): Promise<ReplayOutcome>
  readonly explore: Explore
}

export declare const explore: Explore
export declare const replay: Explore['replay']
export default explore
