import { OBJ, type AccessSink, type Instrumented } from '../kernel/access.js';
import { PageLockWait, RwSem } from '../kernel/locks.js';
import type { Task, TaskBody, Waitable } from '../sched/task.js';

/** How a step ended: its task can go on, is between flips (explore's idle flipper), waits for something, or is finished (done, or it threw). */
export const END_GO_ON = 0;
export const END_IDLE = 1;
export const END_WAITS = 2;
export const END_FINISHED = 3;

/** A wait for something other than an rw_semaphore or a page lock (an inode's state), as the target of a nesting (StepLog.nests). */
export const WAIT_OTHER = 1 << 29;

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
  /**
   * Per step, the locks (OBJ bits) it took, those of them taken for write,
   * those it let go, and those it holds when it ends of the ones it took or
   * let go (its last operation on the lock was a take).
   */
  readonly takes: number[] = [];
  readonly takesW: number[] = [];
  readonly releases: number[] = [];
  readonly keeps: number[] = [];
  /** Per step that took a lock: what it read and wrote before its first take (writes found at the step's end count here too: when they were made is not known). */
  readonly preReads: number[] = [];
  readonly preWrites: number[] = [];
  /**
   * How locks nested, for LockOrder (lazy locks' guard against deadlocks):
   * flat triples of a task's index, what it held (its rw_semaphores, and
   * OBJ.PAGELOCK when it held a page or DAX entry lock) and what it took or
   * waited for while holding it (an rw_semaphore; OBJ.PAGELOCK for a page
   * lock it waited for, took or let go; WAIT_OTHER for any other wait).
   */
  readonly nests: number[] = [];
  /** Per task index: the rw_semaphores it holds now. */
  private readonly held: number[] = [];
  /** The task whose step is running. */
  private cur = 0;
  private pr = 0;
  private pw = 0;
  private r = 0;
  private w = 0;
  private lt = 0;
  private ltw = 0;
  private lr = 0;
  private lk = 0;
  /** What was written (lock operations too) since written() was last asked. */
  private dirty = 0;
  /** The instrumented model (instrumentModel's result): told when steps begin and end. */
  model: Instrumented | null = null;
  /**
   * Steps still to run before recording starts: a run that replays the
   * prefix of the run before it starts with that run's records of those
   * steps (quietFor()), the same steps of a deterministic model, and only
   * keeps track of who holds which lock while they run again.
   */
  private quiet = 0;

  /**
   * The log of a run that replays the first n steps of the run `before`
   * recorded: that log itself, cut to those steps (it is not needed once
   * the next run starts), recording again after them.
   */
  static quietFor(before: StepLog, n: number): StepLog {
    for (const c of [before.task, before.reads, before.writes, before.ends, before.takes, before.takesW, before.releases, before.keeps, before.preReads, before.preWrites]) c.length = n;
    before.nests.length = 0;
    before.held.length = 0;
    before.model = null;
    before.quiet = n;
    return before;
  }

  /** Record the fields of `model` (instrumentModel's result) from the first step recorded: at once, or after the steps replayed. */
  attach(model: Instrumented): void {
    this.model = model;
    if (!this.quiet) model.start();
  }

  note(obj: number, write: boolean): void {
    if (write) this.w |= obj;
    else this.r |= obj;
  }

  /**
   * The objects the recorded steps wrote, and the locks they took or let
   * go, since the last call (for StateHashing: which parts of the state to
   * hash again). Exact once recording has started. Accesses between steps
   * do not count: the state hash's own reads of the media note it written
   * (its bytes are a `{ w }` field), and nothing changes the model there.
   */
  written(): number {
    const d = this.dirty;
    this.dirty = 0;
    return d;
  }

  lock(obj: number, take: boolean, write: boolean, t: Task): void {
    const i = this.cur;
    const held = this.held[i] ?? 0;
    if (take) {
      if (!this.lt) {
        this.pr = this.r;
        this.pw = this.w;
      }
      this.lt |= obj;
      if (write) this.ltw |= obj;
      this.lk |= obj;
      if (!this.quiet) {
        const across = held | this.pageHeld(t);
        if (across) this.nests.push(i, across, obj);
      }
      this.held[i] = held | obj;
    } else {
      this.lr |= obj;
      this.lk &= ~obj;
      this.held[i] = held & ~obj;
    }
  }

  /** OBJ.PAGELOCK when t holds a page or DAX entry lock in the file's cache (looked at without counting as a read). */
  private pageHeld(t: Task): number {
    const m = this.model;
    if (!m) return 0;
    const r = this.r;
    const w = this.w;
    const held = m.holdsPage(t);
    this.r = r;
    this.w = w;
    return held ? OBJ.PAGELOCK : 0;
  }

  /** The running step of task t ends waiting for `w`: what t holds, it holds across that wait. */
  waits(w: unknown, t: Task): void {
    if (this.quiet) return;
    const across = (this.held[this.cur] ?? 0) | this.pageHeld(t);
    if (!across) return;
    this.nests.push(this.cur, across, w instanceof RwSem ? w.bit : w instanceof PageLockWait ? OBJ.PAGELOCK : WAIT_OTHER);
  }

  /** What step j wrote, counting its lock operations as writes of their locks (the relation under which two steps commute). */
  writesWithLocks(j: number): number {
    return this.writes[j] | this.takes[j] | this.releases[j];
  }

  get length(): number {
    return this.task.length;
  }

  begin(task: number): void {
    this.cur = task;
    this.r = 0;
    this.w = 0;
    this.lt = 0;
    this.ltw = 0;
    this.lr = 0;
    this.lk = 0;
    if (this.model) this.model.inStep = this.quiet === 0;
  }

  end(task: number, how: number, threw = false): void {
    if (this.quiet) {
      // a step the run before recorded: kept as it was; once they are all run, the compared arrays start afresh
      if (--this.quiet === 0) this.model?.start();
      return;
    }
    // the run ends with fsx (task 0) or with a failure: its last step writes END (a step of another task runs only before it)
    if (threw || (how === END_FINISHED && task === 0)) this.w |= OBJ.END;
    const m = this.model;
    let settled = 0;
    if (m) {
      settled = m.settle(this.r | this.w);
      this.w |= settled;
      m.inStep = false;
    }
    this.dirty |= this.w | this.lt | this.lr;
    this.task.push(task);
    this.reads.push(this.r);
    this.writes.push(this.w);
    this.ends.push(how);
    this.preReads.push(this.lt ? this.pr : 0);
    this.preWrites.push(this.lt ? this.pw | settled : 0);
    this.takes.push(this.lt);
    this.takesW.push(this.ltw);
    this.releases.push(this.lr);
    this.keeps.push(this.lk);
    // a page lock taken, let go or waited for while holding rw_semaphores (or ones let go in this step)
    const across = (this.held[task] ?? 0) | this.lr;
    if (this.w & OBJ.PAGELOCK && across) this.nests.push(task, across, OBJ.PAGELOCK);
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
    log.begin(this.index);
    let how = END_FINISHED;
    let threw = true;
    try {
      const w = this.t.waiting;
      if (w !== null) w.ready(this.t);
      const r = this.inner.next(...v);
      how = r.done ? END_FINISHED : r.value === null || r.value === undefined ? END_GO_ON : r.value === this.idle ? END_IDLE : END_WAITS;
      if (how === END_WAITS) log.waits(r.value, this.t);
      threw = false;
      return r;
    } finally {
      log.end(this.index, how, threw);
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
