import type { AccessSink, Instrumented } from '../kernel/access.js';
import type { Task, TaskBody, Waitable } from '../sched/task.js';

/** How a step ended: its task can go on, is between flips (explore's idle flipper), waits for something, or is finished (done, or it threw). */
export const END_GO_ON = 0;
export const END_IDLE = 1;
export const END_WAITS = 2;
export const END_FINISHED = 3;

/**
 * The steps of one explored run, each with what it read and wrote: a step is
 * one resumption of one task's generator, up to its next preemption point
 * (or its end, or the failure it throws). The model's instrumented objects
 * (kernel/access.ts) report to `note`; accesses made between steps (the
 * scheduler asking whether a task may run, the state hashing) are dropped
 * when the next step begins.
 */
export class StepLog implements AccessSink {
  /** Per step: the task's index, the objects read, the objects written (OBJ bits). */
  readonly task: number[] = [];
  readonly reads: number[] = [];
  readonly writes: number[] = [];
  /** Per step: how it ended (END_GO_ON ... END_FINISHED). */
  readonly ends: number[] = [];
  private r = 0;
  private w = 0;
  /** The instrumented model (instrumentModel's result): told when steps begin and end. */
  model: Instrumented | null = null;

  note(obj: number, write: boolean): void {
    if (write) this.w |= obj;
    else this.r |= obj;
  }

  get length(): number {
    return this.task.length;
  }

  begin(): void {
    this.r = 0;
    this.w = 0;
    if (this.model) this.model.inStep = true;
  }

  end(task: number, how: number): void {
    const m = this.model;
    if (m) {
      this.w |= m.settle(this.r | this.w);
      m.inStep = false;
    }
    this.task.push(task);
    this.reads.push(this.r);
    this.writes.push(this.w);
    this.ends.push(how);
  }

  /**
   * Wrap a task's generator so that each resumption is one recorded step.
   * A task resuming from a wait first asks its Waitable again, inside the
   * step: what made it runnable (a lock let go, an inode no longer being
   * evicted) is then a read of that step, so the step that enabled it and
   * this one are dependent.
   */
  record(t: Task, index: number, idle: Waitable): void {
    const inner = t.gen;
    if (!inner) return;
    t.gen = new RecordedBody(inner, this, t, index, idle);
  }
}

/** A task's body whose every `next()` is a step of the log. */
class RecordedBody implements TaskBody {
  constructor(
    private readonly inner: TaskBody,
    private readonly log: StepLog,
    private readonly t: Task,
    private readonly index: number,
    private readonly idle: Waitable,
  ) {}

  next(...v: [] | [unknown]): IteratorResult<unknown, void> {
    const log = this.log;
    log.begin();
    let how = END_FINISHED;
    try {
      const w = this.t.waiting;
      if (w !== null) w.ready(this.t);
      const r = this.inner.next(...v);
      how = r.done ? END_FINISHED : r.value === null || r.value === undefined ? END_GO_ON : r.value === this.idle ? END_IDLE : END_WAITS;
      return r;
    } finally {
      log.end(this.index, how);
    }
  }

  return(v: void): IteratorResult<unknown, void> {
    return this.inner.return(v);
  }

  throw(e: unknown): IteratorResult<unknown, void> {
    return this.inner.throw(e);
  }

  [Symbol.iterator](): TaskBody {
    return this;
  }
}
