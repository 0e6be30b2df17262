import seedrandom from 'seedrandom';
import type { Task, TaskBody } from './task.js';

/** Chooses which of two or more runnable tasks runs the next step. */
export interface Strategy {
  readonly name: string;
  pick(runnable: Task[], n: number, step: number): Task;
}

export type Prng = () => number;

/** The run's own generator for everything that is not fsx's stream. */
export function makePrng(seed: number, purpose: string): Prng {
  const r = seedrandom(`daxfsx:${seed}:${purpose}`);
  return () => r.quick();
}

/** Seeded random choice, weighted by each task's weight. */
export class RandomStrategy implements Strategy {
  readonly name = 'random';
  constructor(private readonly rnd: Prng) {}
  pick(runnable: Task[], n: number): Task {
    let total = 0;
    for (let i = 0; i < n; i++) total += runnable[i].weight;
    let x = this.rnd() * total;
    for (let i = 0; i < n - 1; i++) {
      x -= runnable[i].weight;
      if (x < 0) return runnable[i];
    }
    return runnable[n - 1];
  }
}

/**
 * PCT (Burckhardt et al., ASPLOS 2010): distinct random priorities, the
 * highest-priority runnable task runs, and at d-1 random steps in [1, k]
 * the running task drops below every initial priority.
 */
export class PctStrategy implements Strategy {
  readonly name = 'pct';
  private readonly changeAt: number[];
  private next = 0;

  constructor(
    rnd: Prng,
    tasks: Task[],
    depth: number,
    estimatedSteps: number,
  ) {
    const prios = tasks.map((_, i) => depth + i);
    for (let i = prios.length - 1; i > 0; i--) {
      const j = Math.floor(rnd() * (i + 1));
      [prios[i], prios[j]] = [prios[j], prios[i]];
    }
    tasks.forEach((t, i) => (t.priority = prios[i]));
    const k = Math.max(1, estimatedSteps);
    this.changeAt = Array.from({ length: depth - 1 }, () => 1 + Math.floor(rnd() * k)).sort((a, b) => a - b);
  }

  pick(runnable: Task[], n: number, step: number): Task {
    let best = runnable[0];
    for (let i = 1; i < n; i++) if (runnable[i].priority > best.priority) best = runnable[i];
    while (this.next < this.changeAt.length && this.changeAt[this.next] <= step) {
      // the i-th change point lowers the running task to priority d-i
      best.priority = this.changeAt.length - this.next;
      this.next++;
      best = runnable[0];
      for (let i = 1; i < n; i++) if (runnable[i].priority > best.priority) best = runnable[i];
    }
    return best;
  }
}

/** Every task is blocked, or one has been blocked beyond the bound. */
export class HungTask extends Error {
  constructor(
    readonly task: Task,
    readonly deadlock: boolean,
    readonly waitedSteps: number,
  ) {
    super(`task ${task.comm}:${task.pid} ${deadlock ? 'deadlocked' : 'blocked too long'}`);
    this.name = 'HungTask';
  }
}

/**
 * Runs tasks step by step until the main task finishes. A step resumes one
 * task's generator up to its next preemption point. Whatever a task throws
 * (an oops, fsx's exit) ends the run and propagates.
 */
export class Scheduler {
  /** Model time: preemption points passed. */
  step = 0;
  /**
   * The running task may go on without yielding until this step: nothing
   * else can run before then (the others sleep or are done). Yielding at a
   * preemption point where the scheduler has no choice would change nothing
   * but the run's speed.
   */
  private soloUntil = 0;
  /** Yield at every preemption point (scripted runs need exact positions). */
  noSolo = false;
  /** The task whose position (op, ticks into it) anchors scripted events: fsx. */
  posTask: Task | null = null;
  posOp = 0;
  posTick = 0;
  /** Called when a sleeping task becomes runnable (for recording where flips begin). */
  onWake: ((t: Task) => void) | undefined;
  readonly tasks: Task[] = [];
  private readonly runnable: Task[] = [];
  /** Called with the task about to run whenever there was a choice (for schedule recording). */
  onChoice: ((t: Task, n: number) => void) | undefined;
  current: Task | null = null;

  constructor(
    public strategy: Strategy,
    readonly hungSteps: number,
  ) {}

  /** A preemption point: count it, and say whether the running task must yield. */
  tick(): boolean {
    if (this.current === this.posTask) this.posTick++;
    return ++this.step >= this.soloUntil;
  }

  /** The position task starts op number n. */
  startOp(n: number): void {
    this.posOp = n;
    this.posTick = 0;
  }

  add(task: Task, body: TaskBody): Task {
    task.gen = body;
    this.tasks.push(task);
    return task;
  }

  /** Run until main finishes (returns true) or `budget` steps have run (returns false). */
  run(main: Task, budget = Infinity): boolean {
    const tasks = this.tasks;
    const runnable = this.runnable;
    const stop = this.step + budget;
    while (!main.done) {
      if (this.step >= stop) return false;
      let n = 0;
      let wakeAt = Infinity;
      let blocked: Task | null = null;
      for (let i = 0; i < tasks.length; i++) {
        const t = tasks[i];
        if (t.done) continue;
        const w = t.waiting;
        if (w !== null && w.isSleep && w.ready(t)) {
          // out of its sleep: runnable from now on
          t.waiting = null;
          if (this.onWake) this.onWake(t);
        } else if (w !== null && !w.ready(t)) {
          if (w.isSleep) {
            const until = w.wakeStep ?? Infinity;
            if (until < wakeAt) wakeAt = until;
          } else {
            if (this.step - t.waitSince > this.hungSteps) throw new HungTask(t, false, this.step - t.waitSince);
            if (!blocked) blocked = t;
          }
          continue;
        }
        runnable[n++] = t;
      }
      if (n === 0) {
        if (wakeAt !== Infinity) {
          this.step = wakeAt;
          continue;
        }
        const t = blocked ?? main;
        throw new HungTask(t, true, this.step - t.waitSince);
      }
      let t: Task;
      if (n === 1) {
        t = runnable[0];
        // alone until the first sleeper wakes (or the budget ends), unless another task waits on a lock
        this.soloUntil = blocked || this.noSolo ? this.step : Math.min(wakeAt, stop);
      } else {
        t = this.strategy.pick(runnable, n, this.step);
        if (this.onChoice) this.onChoice(t, n);
        this.soloUntil = this.step;
      }
      this.current = t;
      const r = t.gen!.next();
      if (r.done) {
        t.done = true;
        t.waiting = null;
        continue;
      }
      const w = r.value as Task['waiting'];
      if (w) {
        if (t.waiting !== w) t.waitSince = this.step;
        t.waiting = w;
      } else t.waiting = null;
    }
    return true;
  }
}
