import { withSeed, type RunConfig } from '../core/config.js';
import { runRecord, type RunRecord } from '../core/outcome.js';
import { Run } from '../core/run.js';
import type { GenArena } from '../fsx/gendata.js';

/** Run one seed of a sweep in memory: the sweep's config with this seed. */
export function runSeed(config: RunConfig, seed: number, arena?: GenArena): RunRecord {
  const c = withSeed(config, seed);
  const run = new Run({ config: c, arena });
  return runRecord(c, run.finish(), run.counts);
}
