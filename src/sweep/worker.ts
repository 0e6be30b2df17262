import { GenArena } from '../fsx/gendata.js';
import { runSeed, type SeedResult } from './seedrun.js';

/** This worker thread's memory for the good buffer, handed from seed to seed (they run one at a time). */
const arena = new GenArena();

/** A worker thread's job: one seed. */
export default function (task: { argv: string[]; seed: number }): SeedResult {
  return runSeed(task.argv, task.seed, arena);
}
