import type { FsxPosition } from './schedule.js';
import type { Strategy } from './strategy.js';
import type { Task } from './task.js';

/** Wraps a strategy to see every step and keep fsx's position (op, steps into it) up to date. */
export class Positioned implements Strategy {
  readonly everyStep = true;
  constructor(
    private readonly inner: Strategy,
    private readonly fsx: Task,
    readonly position: FsxPosition,
  ) {}

  get name(): string {
    return this.inner.name;
  }

  pick(runnable: readonly Task[], n: number, step: number): Task {
    const t = n > 1 || this.inner.everyStep ? this.inner.pick(runnable, n, step) : runnable[0];
    if (t === this.fsx) this.position.advance();
    return t;
  }
}
