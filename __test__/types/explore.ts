// Type-checked by npm run lint (types/tsconfig.json): seqloop/explore's .d.ts.
import { explore, replay, ExploreResult, Decision } from '../../lib/explore'

async function usage (): Promise<void> {
  const result: ExploreResult = await explore(async (ctx) => {
    const search = ctx.io(async (q: string) => `results for ${q}`, { name: 'search', latencyMs: [0, 20] })
    const answer: string = await search('a')
    ctx.clock.countTimers()
    void answer; void ctx.seed
  }, { runs: 200, seed: 1, latencyMs: [0, 50], toFake: ['setTimeout', 'clearTimeout'] })
  if (!result.ok) {
    const first: Decision | undefined = result.shrunk.decisions[0]
    if (first && first.kind === 'io_latency') { const ms: number = first.choice; void ms }
    const again = await explore.replay(result, async () => {})
    const digest: string = again.digest
    const trace: string = result.trace
    await replay({ seed: result.seed, schedule: [{ key: 'io:1', choice: 38 }] }, async () => {})
    void digest; void trace
  }
  // @ts-expect-error runs is a number
  await explore(async () => {}, { runs: '10' })
  // @ts-expect-error latencyMs is a [min, max] pair
  await explore(async () => {}, { latencyMs: 5 })
  await explore(async (ctx) => {
    // @ts-expect-error ctx.io's function keeps its parameter types
    await ctx.io(async (n: number) => n)('one')
  })
}
void usage
