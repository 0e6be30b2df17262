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

/**
 * A bounded record of what the tasks did, for the explanation and the
 * timeline. Events are kept in a ring of reused objects, so recording
 * allocates only the text.
 */
export class Trace {
  private readonly ring: TraceEvent[];
  private pos = 0;
  private count = 0;

  constructor(
    readonly clock: { step: number },
    readonly enabled: boolean,
    readonly size = 8192,
  ) {
    this.ring = enabled
      ? Array.from({ length: size }, () => ({ step: 0, pid: 0, comm: '', kind: 'note' as TraceKind, text: '', stack: '' }))
      : [];
  }

  add(t: Task, kind: TraceKind, text: string): void {
    if (!this.enabled) return;
    const e = this.ring[this.pos];
    e.step = this.clock.step;
    e.pid = t.pid;
    e.comm = t.comm;
    e.kind = kind;
    e.text = text;
    e.stack = t.stack.join(' > ');
    this.pos = this.pos + 1 === this.size ? 0 : this.pos + 1;
    this.count++;
  }

  /** Events with step >= since, oldest first (copies). */
  since(since: number): TraceEvent[] {
    const out: TraceEvent[] = [];
    const n = Math.min(this.count, this.size);
    let i = this.count < this.size ? 0 : this.pos;
    for (let k = 0; k < n; k++) {
      const e = this.ring[i];
      if (e.step >= since) out.push({ ...e });
      i = i + 1 === this.size ? 0 : i + 1;
    }
    return out;
  }
}
