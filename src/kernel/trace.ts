import type { Task } from '../sched/task.js';

export type TraceKind =
  | 'syscall' // a system call or fsx operation begins
  | 'lock' // a lock taken, released or waited for
  | 'isdax' // IS_DAX() read, with the value
  | 'flip' // the flag change itself
  | 'fault' // a page fault and its handler
  | 'vma' // VMA set-up and linking
  | 'note'; // anything else worth saying

export interface TraceEvent {
  step: number;
  pid: number;
  comm: string;
  kind: TraceKind;
  text: string;
  /** The task's kernel frames at the event, innermost last. */
  stack: string;
}

/** Builds an event's text when it is read, from the values recorded with it. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Fmt = (a: any, b: any, c: any) => string;

interface Slot {
  step: number;
  task: Task | null;
  kind: TraceKind;
  fmt: Fmt;
  a: unknown;
  b: unknown;
  c: unknown;
  /** Frames, innermost last; only the first `depth` are this event's. */
  stack: string[];
  depth: number;
}

const NONE: Fmt = () => '';

/**
 * A bounded record of what the tasks did, for the explanation and the
 * timeline. Events are kept in a ring of reused objects, so recording
 * allocates only the text.
 */
export class Trace {
  private readonly ring: Slot[];
  private pos = 0;
  private count = 0;

  constructor(
    readonly clock: { step: number },
    readonly enabled: boolean,
    readonly size = 8192,
  ) {
    this.ring = enabled
      ? Array.from({ length: size }, () => ({ step: 0, task: null, kind: 'note' as TraceKind, fmt: NONE, a: null, b: null, c: null, stack: new Array<string>(16).fill(''), depth: 0 }))
      : [];
  }

  /**
   * Record an event. The text is built only if someone reads the event, by
   * fmt(a, b, c): callers pass a module-level formatter and the values, so
   * recording costs no string work.
   */
  add(t: Task, kind: TraceKind, fmt: Fmt, a?: unknown, b?: unknown, c?: unknown): void {
    if (!this.enabled) return;
    const e = this.ring[this.pos];
    e.step = this.clock.step;
    e.task = t;
    e.kind = kind;
    e.fmt = fmt;
    e.a = a;
    e.b = b;
    e.c = c;
    // copy the frames into the slot's own array (no allocation once it has grown)
    const st = t.stack;
    const n = st.length;
    let dst = e.stack;
    if (dst.length < n) dst = e.stack = new Array<string>(n * 2).fill('');
    for (let i = 0; i < n; i++) dst[i] = st[i];
    e.depth = n;
    this.pos = this.pos + 1 === this.size ? 0 : this.pos + 1;
    this.count++;
  }

  /** Events with step >= since, oldest first (copies); walks back from the newest only as far as it must. */
  since(since: number): TraceEvent[] {
    const out: TraceEvent[] = [];
    const n = Math.min(this.count, this.size);
    let i = this.pos;
    for (let k = 0; k < n; k++) {
      i = i === 0 ? this.size - 1 : i - 1;
      const e = this.ring[i];
      if (e.step < since) break;
      if (e.task) {
        out.push({ step: e.step, pid: e.task.pid, comm: e.task.comm, kind: e.kind, text: e.fmt(e.a, e.b, e.c), stack: e.stack.slice(0, e.depth).join(' > ') });
      }
    }
    return out.reverse();
  }
}
