import seedrandom from 'seedrandom';
import type { Task } from './task.js';

/**
 * Chooses which runnable task runs the next step (Shuttle's `Scheduler`
 * trait, loom's path): one method, and each strategy keeps its own state.
 * Cross-cutting behaviour (recording a run's path, state hashing) wraps a
 * strategy in another; nothing is patched into the scheduler.
 */
export interface Strategy {
  readonly name: string;
  /**
   * Asked at every step, even when only one task can run (scripted runs and
   * their wrappers count fsx's steps); otherwise only when two or more can.
   */
  readonly everyStep: boolean;
  pick(runnable: readonly Task[], n: number, step: number): Task;
}

export type Prng = () => number;

/** The run's own generator for everything that is not fsx's stream. */
export function makePrng(seed: number, purpose: string): Prng {
  const r = seedrandom(`daxfsx:${seed}:${purpose}`);
  return () => r.quick();
}

/** The first runnable task that is one of `tasks`, or null. */
export function firstOf(runnable: readonly Task[], n: number, want: Task | undefined): Task | null {
  if (!want) return null;
  for (let i = 0; i < n; i++) if (runnable[i] === want) return want;
  return null;
}
