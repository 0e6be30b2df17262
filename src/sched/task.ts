/**
 * Tasks are generators: a model path yields at every preemption point, and
 * yields a Waitable when it cannot go on (a lock held by another task, a
 * sleep). The scheduler owns time: it decides which task's generator runs
 * next.
 */
export interface Waitable {
  /** May task t go on now? */
  ready(t: Task): boolean;
  /** What t is waiting for, in words ("MMAPLOCK (write)"). */
  describe(t: Task): string;
  /** A sleep is not a block: the hung-task detector ignores it. */
  readonly isSleep?: boolean;
  /** For a sleep that ends at a known step: that step. */
  readonly wakeStep?: number;
}

/** A model path: a generator that yields at preemption points (a Waitable when it must wait) and returns T. */
export type Gen<T> = Generator<unknown, T, unknown>;

export type TaskBody = Gen<void>;

const FINISHED: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });

/**
 * A model path that has already finished: what a hot path (taking a free
 * lock, a release) returns when it neither waits nor reaches a preemption
 * point, so that the common case allocates no generator. `yield*` over it
 * runs nothing and yields nothing: the same steps as a generator that ran
 * to its end at once.
 */
export const DONE: Gen<void> = {
  next: () => FINISHED,
  return: () => FINISHED,
  throw: (e: unknown) => {
    throw e;
  },
  [Symbol.iterator]() {
    return this;
  },
};

/** The generator `g` unless it is DONE; then what `then()` returns (a second path started only once the first has finished). */
export function andThen(g: Gen<void>, then: () => Gen<void>): Gen<void> {
  return g === DONE ? then() : sequence(g, then);
}

function* sequence(g: Gen<void>, then: () => Gen<void>): Gen<void> {
  yield* g;
  yield* then();
}

/** One preemption point, for a hot path whose own work is done (the rest of a generator that would end with `yield`). */
export function* preempted(): Gen<void> {
  yield;
}

export class Task {
  /** Kernel frames, outermost first: the call trace an oops prints. */
  readonly stack: string[] = [];
  waiting: Waitable | null = null;
  /** Scheduler step at which the current wait began. */
  waitSince = 0;
  done = false;
  gen: TaskBody | null = null;

  constructor(
    readonly pid: number,
    readonly comm: string,
    readonly cpu: number,
  ) {}

  enter(frame: string): void {
    this.stack.push(frame);
  }

  leave(): void {
    this.stack.pop();
  }

  toString(): string {
    return `${this.comm}:${this.pid}`;
  }
}

/** A sleep until a scheduler step (a task in user space between system calls). */
export class Sleep implements Waitable {
  readonly isSleep = true;
  constructor(
    readonly clock: { step: number },
    public until: number,
  ) {}
  get wakeStep(): number {
    return this.until;
  }
  ready(): boolean {
    return this.clock.step >= this.until;
  }
  describe(): string {
    return `user space until step ${this.until}`;
  }
}
