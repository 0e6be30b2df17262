import type { FlipSpec, FsxPosition } from '../sched/schedule.js';
import type { Strategy } from '../sched/strategy.js';
import type { Task, Waitable } from '../sched/task.js';
import { OBJ } from '../kernel/access.js';
import { END_WAITS, type StepLog } from './steps.js';

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
  /** Tasks asleep here (sleep sets, reduction only; bit i: task i). */
  sleep: number;
  /** What each sleeping task's next step reads and writes (by task; null when none sleeps). */
  sleepReads: number[] | null;
  sleepWrites: number[] | null;
}

/**
 * Sleep sets for one run (reduction): from the branch point on, these
 * tasks need not run their next step before something it depends on has
 * happened, since a run doing so was explored already (or is covered by
 * one that was). See reduction.ts.
 */
export interface SleepPlan {
  /** The branch point: its step runs first, then the sleepers sleep. */
  at: number;
  /** The sleeping tasks (bit i: task i) and what each one's next step reads and writes. */
  tasks: number;
  reads: number[];
  writes: number[];
  /** The preemption bound: a sleeping default gives way to another task only within it. */
  bound: number;
  /** The run's steps so far, with what each read and wrote. */
  log: StepLog;
}

/** The rest of the run need not be run: another run covers it. */
export class Covered extends Error {}

/** Every task that could run is asleep (or waking one would pass the bound): the rest of the run is covered by another. */
export class SleepBlocked extends Covered {
  constructor() {
    super('every runnable task is asleep');
    this.name = 'SleepBlocked';
  }
}

/** The run reached a state explored before, with what covers all that can follow: the rest of it is covered. */
export class StateCovered extends Covered {
  constructor() {
    super('a state explored before');
    this.name = 'StateCovered';
  }
}

// one of each, thrown again and again: an Error's stack is taken when it is made, and a search stops hundreds of runs
const SLEEP_BLOCKED = new SleepBlocked();
const STATE_COVERED = new StateCovered();

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
  /** Sleep sets: the tasks asleep now and their next steps' accesses; whether the branch's step has run. */
  asleep = 0;
  private sleepReads: number[] = [];
  private sleepWrites: number[] = [];
  private sleeping = false;

  constructor(
    private readonly prefix: readonly number[],
    private readonly tasks: readonly Task[],
    private readonly idle: Waitable,
    private readonly position: FsxPosition,
    private readonly stateKey: () => string,
    private readonly sleepPlan?: SleepPlan,
    /** Asked at each choice point past the prefix: true stops the run there (StateCovered). */
    private readonly covered?: (p: ChoicePoint) => boolean,
    /** The choice points of the run before, whose prefix this run follows: those before the prefix's last are the same and are taken as they are. */
    private readonly before?: readonly ChoicePoint[],
  ) {
    this.reuse = before ? Math.min(before.length, prefix.length - 1) : 0;
  }

  /** How many of `before`'s choice points this run takes. */
  private readonly reuse: number;

  /**
   * After each step from the branch point on: a sleeping task wakes when
   * the step conflicts with its next step (writes what that reads or
   * writes, or reads what it writes), and every task wakes when the step
   * left its task waiting (who may run next then depends on more than
   * the steps' accesses).
   */
  private stepped(): void {
    const plan = this.sleepPlan!;
    if (!this.sleeping) {
      this.sleeping = true;
      this.asleep = plan.tasks;
      this.sleepReads = plan.reads.slice();
      this.sleepWrites = plan.writes.slice();
    }
    if (!this.asleep) return;
    const log = plan.log;
    const j = log.length - 1;
    if (j < 0) return;
    if (log.ends[j] === END_WAITS) {
      this.asleep = 0;
      return;
    }
    const r = log.reads[j];
    const w = log.writesWithLocks(j);
    for (let m = this.asleep; m; m &= m - 1) {
      const t = 31 - Math.clz32(m & -m);
      // a step that ends the run (END) goes before no step at all: every step wakes it
      if (w & (this.sleepReads[t] | this.sleepWrites[t]) || r & this.sleepWrites[t] || this.sleepWrites[t] & OBJ.END) this.asleep &= ~(1 << t);
    }
  }

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
    const plan = this.sleepPlan;
    if (plan && this.points.length > plan.at) this.stepped();
    const flipper = this.tasks[1];
    if (this.open && (flipper.done || flipper.waiting === this.idle)) this.open = null;
    let t: Task;
    if (n > 1 && this.points.length < this.reuse) {
      // a choice of the prefix the run before made too: the same point (a deterministic model), checked by its step and task
      const i = this.points.length;
      const old = this.before![i];
      const chosen = this.prefix[i];
      t = this.tasks[chosen];
      let found = false;
      for (let x = 0; x < n; x++) if (runnable[x] === t) found = true;
      if (old.step !== step || old.chosen !== chosen || old.used !== this.used || !found) throw new Error(`explore: the run did not follow its prefix at choice ${i} (the program is not deterministic)`);
      this.points.push(old);
      if (old.busy >= 0 && chosen !== old.busy) this.used++;
    } else if (n === 1) {
      t = runnable[0];
      if (this.asleep & (1 << this.tasks.indexOf(t))) throw SLEEP_BLOCKED;
    } else {
      const idx: number[] = [];
      for (let i = 0; i < n; i++) idx.push(this.tasks.indexOf(runnable[i]));
      const i = this.points.length;
      const busy = this.busy(idx);
      let chosen = i < this.prefix.length ? this.prefix[i] : this.defaultChoice(idx);
      if (!idx.includes(chosen)) chosen = this.defaultChoice(idx);
      const asleep = this.asleep;
      if (asleep & (1 << chosen)) {
        // the default is asleep: another task that is awake, within the bound, or none
        let alt = -1;
        for (const x of idx) {
          if (asleep & (1 << x)) continue;
          if (this.used + (busy >= 0 && x !== busy ? 1 : 0) > plan!.bound) continue;
          alt = x;
          break;
        }
        if (alt < 0) throw SLEEP_BLOCKED;
        chosen = alt;
      }
      this.points.push({
        runnable: idx,
        chosen,
        used: this.used,
        busy,
        hash: i >= this.prefix.length ? `${this.stateKey()}|${busy}` : '',
        step,
        sleep: asleep,
        sleepReads: asleep ? this.sleepReads.slice() : null,
        sleepWrites: asleep ? this.sleepWrites.slice() : null,
      });
      if (this.covered && i >= this.prefix.length && this.covered(this.points[i])) throw STATE_COVERED;
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
