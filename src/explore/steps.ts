import type { AccessSink } from '../kernel/access.js';
import type { Task, TaskBody } from '../sched/task.js';

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
  private r = 0;
  private w = 0;
  /** What the instrumented model finds written by comparison when a step ends (instrumentModel's result). */
  settle: (() => number) | null = null;

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
  }

  end(task: number): void {
    if (this.settle) this.w |= this.settle();
    this.task.push(task);
    this.reads.push(this.r);
    this.writes.push(this.w);
  }

  /**
   * Wrap a task's generator so that each resumption is one recorded step.
   * A task resuming from a wait first asks its Waitable again, inside the
   * step: what made it runnable (a lock let go, an inode no longer being
   * evicted) is then a read of that step, so the step that enabled it and
   * this one are dependent.
   */
  record(t: Task, index: number): void {
    const inner = t.gen;
    if (!inner) return;
    t.gen = new RecordedBody(inner, this, t, index);
  }
}

/** A task's body whose every `next()` is a step of the log. */
class RecordedBody implements TaskBody {
  constructor(
    private readonly inner: TaskBody,
    private readonly log: StepLog,
    private readonly t: Task,
    private readonly index: number,
  ) {}

  next(...v: [] | [unknown]): IteratorResult<unknown, void> {
    const log = this.log;
    log.begin();
    try {
      const w = this.t.waiting;
      if (w !== null) w.ready(this.t);
      return this.inner.next(...v);
    } finally {
      log.end(this.index);
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
