import type { Task } from '../sched/task.js';

export type TraceKind =
  | 'syscall' // a system call or fsx operation begins
  | 'lock' // a lock taken, released or waited for
  | 'isdax' // IS_DAX() read, with the value
  | 'flip' // the flag change itself
  | 'fault' // a page fault and its handler
  | 'vma' // VMA set-up and linking
  | 'data' // where a task's bytes went or came from (page cache, media), with file offset and length
  | 'op' // an fsx operation begins (its number and its index in fsx's op log)
  | 'note'; // anything else worth saying

export interface TraceEvent {
  step: number;
  pid: number;
  comm: string;
  kind: TraceKind;
  text: string;
  /** The task's kernel frames at the event, innermost last. */
  stack: string;
  /** The values recorded with the event (what its text is built from), for readers that reason about them. */
  values?: readonly [unknown, unknown, unknown];
  /** The event's number in the whole run (events kept apart can be merged without doubles). */
  seq?: number;
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
  seq: number;
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
      ? Array.from({ length: size }, () => ({ step: 0, task: null, kind: 'note' as TraceKind, fmt: NONE, a: null, b: null, c: null, stack: new Array<string>(16).fill(''), depth: 0, seq: 0 }))
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
    e.seq = this.count;
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
      if (e.task) out.push(new CopiedEvent(e.step, e.task.pid, e.task.comm, e.kind, e.fmt, [e.a, e.b, e.c], e.stack.slice(0, e.depth), e.seq));
    }
    return out.reverse();
  }
}

/**
 * An event copied out of the ring, whose text and frames are built when
 * first read (a run keeps the events of each op the flag changed in, for a
 * report most runs never write: building every text was 6% of a run with
 * flips, and most of what it allocated).
 */
class CopiedEvent implements TraceEvent {
  private t: string | null = null;
  private s: string | null = null;
  constructor(
    readonly step: number,
    readonly pid: number,
    readonly comm: string,
    readonly kind: TraceKind,
    private readonly fmt: Fmt,
    readonly values: readonly [unknown, unknown, unknown],
    private readonly frames: string[],
    readonly seq: number,
  ) {}

  get text(): string {
    return (this.t ??= this.fmt(this.values[0], this.values[1], this.values[2]));
  }

  get stack(): string {
    return (this.s ??= this.frames.join(' > '));
  }
}

/**
 * What a 'data' event says happened to bytes of the file: the event's
 * values are [how, file offset, length]. Writes, zeroing and stores through
 * a mapping say where the bytes went; reads and loads where they came from;
 * 'wb-skip' and 'drop-dirty' name a dirty page-cache page whose bytes never
 * reach media.
 */
export type DataHow =
  | 'write-cache'
  | 'write-dax'
  | 'write-direct'
  | 'zero-cache'
  | 'zero-dax'
  | 'store-cache'
  | 'store-dax'
  | 'read-cache'
  | 'read-dax'
  | 'read-direct'
  | 'load-cache'
  | 'load-dax'
  | 'load-zero'
  | 'wb-skip'
  | 'drop-dirty';

const hx = (v: number): string => '0x' + v.toString(16);
const range = (off: number, len: number): string => `${hx(off)} thru ${hx(off + len - 1)}`;

/** The text of a 'data' event. */
export const F_DATA = (how: DataHow, off: number, len: number): string => {
  switch (how) {
    case 'write-cache':
      return `copied ${range(off, len)} into the page cache`;
    case 'write-dax':
      return `wrote ${range(off, len)} straight to media (DAX)`;
    case 'write-direct':
      return `wrote ${range(off, len)} to media (direct I/O)`;
    case 'zero-cache':
      return `zeroed ${range(off, len)} in the page cache`;
    case 'zero-dax':
      return `zeroed ${range(off, len)} on media (DAX)`;
    case 'store-cache':
      return `stores to ${range(off, len)} went into page-cache pages`;
    case 'store-dax':
      return `stores to ${range(off, len)} went straight to media (DAX pfns)`;
    case 'read-cache':
      return `read ${range(off, len)} from the page cache`;
    case 'read-dax':
      return `read ${range(off, len)} straight from media (DAX: the page cache is not looked at)`;
    case 'read-direct':
      return `read ${range(off, len)} from media (direct I/O)`;
    case 'load-cache':
      return `loads from ${range(off, len)} came from page-cache pages`;
    case 'load-dax':
      return `loads from ${range(off, len)} came straight from media (DAX pfns)`;
    case 'load-zero':
      return `loads from ${range(off, len)} came from the shared zero page`;
    case 'wb-skip':
      return `DAX writeback skipped dirty page-cache page ${off / 4096}: media does not get its bytes`;
    case 'drop-dirty':
      return `dropped dirty page-cache page ${off / 4096} without writing it back`;
  }
};
