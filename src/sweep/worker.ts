import type { RunConfig } from '../core/config.js';
import type { RunRecord } from '../core/outcome.js';
import { GenArena } from '../fsx/gendata.js';
import { runSeed } from './seedrun.js';

/** This worker thread's memory for the good buffer, handed from seed to seed (they run one at a time). */
const arena = new GenArena();

/** A worker thread's job: one seed of a config. */
export default function (task: { config: RunConfig; seed: number }): RunRecord {
  return runSeed(task.config, task.seed, arena);
}
