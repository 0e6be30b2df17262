import type { Strategy } from './strategy.js';
import type { Task, TaskBody } from './task.js';

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
  readonly tasks: Task[] = [];
  private readonly runnable: Task[] = [];
  current: Task | null = null;

  constructor(
    public strategy: Strategy,
    readonly hungSteps: number,
  ) {}

  /** A preemption point: count it, and say whether the running task must yield. */
  tick(): boolean {
    return ++this.step >= this.soloUntil;
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
    const everyStep = this.strategy.everyStep;
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
      if (n === 1 && !everyStep) {
        t = runnable[0];
        // alone until the first sleeper wakes (or the budget ends), unless another task waits on a lock
        this.soloUntil = blocked ? this.step : Math.min(wakeAt, stop);
      } else {
        t = this.strategy.pick(runnable, n, this.step);
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
