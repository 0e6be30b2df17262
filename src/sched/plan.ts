import type { Strategy } from './strategy.js';
import type { Task } from './task.js';

/** Run `task` until `until()` holds, then go on to the next step of the script. */
export interface PlanStep {
  task: Task;
  until: () => boolean;
}

/**
 * A hand-built interleaving plan: a list of (task, condition) steps. When the
 * script is used up (or its task cannot run), the first runnable task of
 * `fallback` runs. For tests that reach a failure through the mechanics.
 */
export class PlanStrategy implements Strategy {
  readonly name = 'plan';
  readonly everyStep = false;
  private i = 0;

  constructor(
    private readonly steps: PlanStep[],
    private readonly fallback: Task[],
  ) {}

  pick(runnable: readonly Task[], n: number): Task {
    while (this.i < this.steps.length && this.steps[this.i].until()) this.i++;
    const has = (t: Task): boolean => {
      for (let j = 0; j < n; j++) if (runnable[j] === t) return true;
      return false;
    };
    if (this.i < this.steps.length && has(this.steps[this.i].task)) return this.steps[this.i].task;
    for (const t of this.fallback) if (has(t)) return t;
    return runnable[0];
  }
}
