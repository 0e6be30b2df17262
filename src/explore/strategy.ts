import type { FlipSpec, FsxPosition } from '../sched/schedule.js';
import type { Strategy } from '../sched/strategy.js';
import type { Task, Waitable } from '../sched/task.js';

/** A point where two or more tasks could run. */
export interface ChoicePoint {
  /** Runnable task indices (0 fsx, 1 the flipper). */
  runnable: number[];
  chosen: number;
  /** Preemptions used before this choice. */
  used: number;
  /** The task that was running and could go on (-1: none); choosing another preempts it. */
  busy: number;
  /** The state here, with where each task is (past the prefix only). */
  hash: string;
  /** The run's step this choice starts (every step counts, choice or not). */
  step: number;
}

/**
 * Depth-first exploration's strategy (CHESS, Shuttle's DFS scheduler):
 * follow a prefix of choices, then the default (keep running the current
 * task; after a flip, back to fsx), writing down every choice point. It
 * also writes down the schedule it made, as flips (where each began, the
 * choices while it ran), so a failure replays as a script.
 */
export class ExploreStrategy implements Strategy {
  readonly name = 'explore';
  readonly everyStep = true;
  readonly points: ChoicePoint[] = [];
  readonly flips: FlipSpec[] = [];
  private last: Task | null = null;
  private used = 0;
  private open: FlipSpec | null = null;
  /** Steps picked so far. */
  private steps = 0;

  constructor(
    private readonly prefix: readonly number[],
    private readonly tasks: readonly Task[],
    private readonly idle: Waitable,
    private readonly position: FsxPosition,
    private readonly stateKey: () => string,
  ) {}

  /** Index of the last task if it could go on (a flipper done with a flip does not count). */
  private busy(idx: number[]): number {
    const last = this.last;
    if (!last) return 0;
    const li = this.tasks.indexOf(last);
    if (!idx.includes(li)) return -1;
    return li !== 0 && last.waiting === this.idle ? -1 : li;
  }

  /** Keep running the current task; otherwise fsx. */
  private defaultChoice(idx: number[]): number {
    const b = this.busy(idx);
    if (b >= 0) return b;
    return idx.includes(0) ? 0 : idx[0];
  }

  pick(runnable: readonly Task[], n: number): Task {
    const step = this.steps++;
    const flipper = this.tasks[1];
    if (this.open && (flipper.done || flipper.waiting === this.idle)) this.open = null;
    let t: Task;
    if (n === 1) t = runnable[0];
    else {
      const idx: number[] = [];
      for (let i = 0; i < n; i++) idx.push(this.tasks.indexOf(runnable[i]));
      const i = this.points.length;
      const busy = this.busy(idx);
      let chosen = i < this.prefix.length ? this.prefix[i] : this.defaultChoice(idx);
      if (!idx.includes(chosen)) chosen = this.defaultChoice(idx);
      this.points.push({ runnable: idx, chosen, used: this.used, busy, hash: i >= this.prefix.length ? `${this.stateKey()}|${busy}` : '', step });
      if (busy >= 0 && chosen !== busy) this.used++;
      t = this.tasks[chosen];
    }
    if (t === flipper && flipper.waiting === this.idle && !this.open) {
      // a flip begins: anchored where fsx is
      this.open = { op: this.position.op, tick: this.position.tick, choices: '' };
      this.flips.push(this.open);
    }
    if (this.open && n > 1) this.open.choices += t === flipper ? '0' : 'f';
    this.last = t;
    return t;
  }
}
