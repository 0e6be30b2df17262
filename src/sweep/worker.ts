import workerpool from 'workerpool';
import { explore } from '../explore/explore.js';
import { GenArena } from '../fsx/gendata.js';
import type { ExploreRecord, Job } from './jobs.js';
import { runSeed } from './seedrun.js';
import type { RunRecord } from '../core/outcome.js';

/** This worker's memory for the good buffer, handed from seed to seed (they run one at a time). */
const arena = new GenArena();

/** A worker's job: one seed of a config, or one bounded exploration. */
async function run(job: Job): Promise<RunRecord | ExploreRecord> {
  if (job.kind === 'seed') return runSeed(job.config, job.seed, arena);
  const r = await explore(job.config, job.program, job.options);
  return {
    interleavings: r.interleavings,
    states: r.states,
    exhausted: r.exhausted,
    failures: [...r.failures].map(([signature, f]) => ({ signature, verdict: f.verdict, exitCode: f.exitCode, count: f.count, script: f.script })),
  };
}

workerpool.worker({ run });
