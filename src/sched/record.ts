import type { FlipSpec, FsxPosition } from './schedule.js';
import type { Strategy } from './strategy.js';
import type { Task } from './task.js';

/**
 * Wraps a strategy and writes down the schedule it makes: where each flip
 * began (fsx's position when a flipper became runnable) and each choice
 * while two tasks could run. Sees every step: wrap it in Positioned.
 */
export class Recording implements Strategy {
  readonly everyStep = true;
  readonly flips: FlipSpec[] = [];
  private open: FlipSpec | null = null;
  /** Flippers that were asleep (in user space between flips) at the last step. */
  private readonly asleep = new Set<Task>();
  private readonly letter = new Map<Task, string>();

  constructor(
    private readonly inner: Strategy,
    fsx: Task,
    private readonly flippers: readonly Task[],
    private readonly position: FsxPosition,
  ) {
    this.letter.set(fsx, 'f');
    flippers.forEach((t, i) => this.letter.set(t, String(i)));
  }

  get name(): string {
    return this.inner.name;
  }

  pick(runnable: readonly Task[], n: number, step: number): Task {
    for (const f of this.flippers) {
      if (f.waiting?.isSleep) this.asleep.add(f);
      else if (this.asleep.delete(f)) {
        // a flipper woke: its flip is anchored where fsx is
        this.open = { op: this.position.op, tick: this.position.tick, choices: '' };
        this.flips.push(this.open);
      }
    }
    const t = n > 1 || this.inner.everyStep ? this.inner.pick(runnable, n, step) : runnable[0];
    if (n > 1 && this.open) this.open.choices += this.letter.get(t) ?? 'f';
    return t;
  }
}
