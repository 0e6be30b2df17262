import { runSeed, type SeedResult } from './seedrun.js';

/** A worker thread's job: one seed. */
export default function (task: { argv: string[]; seed: number }): SeedResult {
  return runSeed(task.argv, task.seed);
}
