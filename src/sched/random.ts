import type { Prng, Strategy } from './strategy.js';
import type { Task } from './task.js';

/** Seeded random choice, each task weighted (fsx 1, a flipper its --flip-weight). */
export class RandomStrategy implements Strategy {
  readonly name = 'random';
  readonly everyStep = false;
  constructor(
    private readonly rnd: Prng,
    private readonly weights: ReadonlyMap<Task, number> = new Map(),
  ) {}

  pick(runnable: readonly Task[], n: number): Task {
    if (n === 1) return runnable[0];
    const w = this.weights;
    let total = 0;
    for (let i = 0; i < n; i++) total += w.get(runnable[i]) ?? 1;
    let x = this.rnd() * total;
    for (let i = 0; i < n - 1; i++) {
      x -= w.get(runnable[i]) ?? 1;
      if (x < 0) return runnable[i];
    }
    return runnable[n - 1];
  }
}
