import type { FlipSpec, FsxPosition } from './schedule.js';
import type { Strategy } from './strategy.js';
import type { Task, Waitable } from './task.js';

/** A scripted flipper's sleep: until fsx reaches the flip's anchor. */
export class AnchorWait implements Waitable {
  readonly isSleep = true;
  constructor(
    private readonly position: FsxPosition,
    private readonly spec: FlipSpec,
  ) {}
  ready(): boolean {
    return this.position.reached(this.spec.op, this.spec.tick);
  }
  describe(): string {
    return `fsx to reach op ${this.spec.op}, step ${this.spec.tick}`;
  }
}

/**
 * Follows a schedule: when the flipper wakes at a flip's anchor, the
 * flip's recorded choices decide who runs while both can; with none left,
 * the flipper runs (its flip is atomic but for locks). Sees every step:
 * wrap it in Positioned.
 */
export class ScriptStrategy implements Strategy {
  readonly name = 'script';
  readonly everyStep = true;
  /** Set when a recorded choice named a task that could not run. */
  diverged: string | null = null;
  private active: FlipSpec | null = null;
  private at = 0;
  private next = 0;
  private asleep = false;

  constructor(
    private readonly fsx: Task,
    private readonly flipper: Task,
    /** The flips in anchor order, as the flipper makes them. */
    private readonly flips: readonly FlipSpec[],
  ) {}

  pick(runnable: readonly Task[], n: number): Task {
    if (this.flipper.waiting?.isSleep) this.asleep = true;
    else if (this.asleep) {
      // woke at its anchor: the next flip's choices begin
      this.asleep = false;
      this.active = this.flips[this.next++] ?? null;
      this.at = 0;
    }
    if (n === 1) return runnable[0];
    const spec = this.active;
    if (spec && this.at < spec.choices.length) {
      const c = spec.choices[this.at++];
      const want = c === 'f' ? this.fsx : c === '0' ? this.flipper : undefined;
      for (let i = 0; i < n; i++) if (runnable[i] === want) return runnable[i];
      this.diverged ??= `flip at op ${spec.op} step ${spec.tick}: choice ${this.at} wants ${want ?? c}, which cannot run`;
    }
    for (let i = 0; i < n; i++) if (runnable[i] !== this.fsx) return runnable[i];
    return runnable[0];
  }
}
